"""Shared by the serve-screen tests: sample tasks in tmp_path, free ports, people who collect
what they are sent, bounded waits."""

from __future__ import annotations

import asyncio
import shutil
import socket
import textwrap
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_tasks"


def copy_sample(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(SAMPLES / name, target, ignore=shutil.ignore_patterns("data", "__pycache__", "exports"))
    return target


def write_task(root: Path, task_yml: str, worlds_py: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "task.yml").write_text(textwrap.dedent(task_yml), encoding="utf-8")
    if worlds_py is not None:
        (root / "worlds.py").write_text(textwrap.dedent(worlds_py), encoding="utf-8")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Person:
    """Stands for a channel: collects every message delivered to one person."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.session: Any = None

    async def deliver(self, msg: Any) -> None:
        self.received.append(msg)

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.received]


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


BOOM_TASK = """
name: boom
bots:
  fragile: {engine: python, name: Fragile}
worlds:
  talk: {type: bot_chat, bot: fragile}
"""

BOOM_WORLDS = '''
from workbench import bot

@bot("Fragile")
class Fragile:
    def observe(self, msg):
        self.text = msg["text"]

    def act(self):
        if self.text == "boom":
            raise RuntimeError("the fragile bot broke")
        return {"text": "fine"}
'''
