"""What every test folder shares: sample tasks copied into tmp_path, task directories
written from text, free ports on 127.0.0.1, people who collect what they are sent, and
bounded waits (pyproject's pytest `pythonpath` puts this folder on sys.path)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_tasks"


def copy_sample(name: str, dest: Path) -> Path:
    """A copy of a sample task without its data/ folder, so nothing is written into the repo."""
    target = dest / name
    shutil.copytree(SAMPLES / name, target, ignore=shutil.ignore_patterns("data", "__pycache__", "exports"))
    return target


def write_task(
    root: Path,
    task_yml: str,
    worlds_py: str | None = None,
    tests: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """A task directory: task.yml (dedented), optional worlds.py, tests/NAME files and other files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "task.yml").write_text(textwrap.dedent(task_yml), encoding="utf-8")
    if worlds_py is not None:
        (root / "worlds.py").write_text(textwrap.dedent(worlds_py), encoding="utf-8")
    written = {f"tests/{name}": text for name, text in (tests or {}).items()} | dict(files or {})
    for name, text in written.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Person:
    """Stands for a channel: collects every message delivered to one person."""

    def __init__(self, name: str = "you") -> None:
        self.name = name
        self.received: list[Any] = []
        self.session: Any = None

    async def deliver(self, msg: Any) -> None:
        self.received.append(msg)

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.received]

    def put(self, text: str | dict) -> None:
        self.session.put(text)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Let the loop run until ``predicate`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    """Let a Textual app run (under Pilot) until ``predicate`` holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)


FIXTURES = REPO / "tests" / "fixtures"
