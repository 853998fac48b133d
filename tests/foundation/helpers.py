"""Helpers shared by the foundation tests: task directories in tmp_path, people who
collect what they are sent, bounded waits, and the `workbench` command in a subprocess."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_tasks"
#: the same interpreter as the tests, so the subprocess sees the same workbench
WORKBENCH = [sys.executable, "-m", "workbench"]


def write_task(root: Path, task_yml: str, worlds_py: str | None = None, tests: dict[str, str] | None = None) -> Path:
    """A task directory in ``root`` with the given task.yml (dedented) and optional worlds.py."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "task.yml").write_text(textwrap.dedent(task_yml), encoding="utf-8")
    if worlds_py is not None:
        (root / "worlds.py").write_text(textwrap.dedent(worlds_py), encoding="utf-8")
    for name, text in (tests or {}).items():
        (root / "tests").mkdir(exist_ok=True)
        (root / "tests" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def copy_sample(name: str, dest: Path) -> Path:
    """A copy of a sample task without its data/ folder, so nothing is written into the repo."""
    target = dest / name
    shutil.copytree(SAMPLES / name, target, ignore=shutil.ignore_patterns("data", "__pycache__", "exports"))
    return target


class Person:
    """Stands for a service: collects every message delivered to one person."""

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


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` on the event loop until true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


async def say(runner: Any, person: Person, text: str | dict, timeout: float = 5.0) -> list[str]:
    """Send ``text`` as ``person`` and return the texts they received in answer."""
    before = len(person.received)
    person.put(text)
    assert await runner.wait_idle(timeout=timeout), f"no answer to {text!r} within {timeout} s"
    return [m.text for m in person.received[before:]]


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run ``workbench ARGS`` to completion in a subprocess (bounded by ``timeout``)."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [*WORKBENCH, *args], cwd=cwd, input=input, capture_output=True, text=True, timeout=timeout, env=env,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


def popen_cli(*args: str, cwd: Path | None = None, **kwargs: Any) -> subprocess.Popen:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", PYTHONUNBUFFERED="1")
    return subprocess.Popen([*WORKBENCH, *args], cwd=cwd, env=env, text=True, **kwargs)


class LineReader:
    """Reads a subprocess's output line by line with a deadline (a thread per pipe)."""

    def __init__(self, stream: Any) -> None:
        import queue
        import threading

        self.lines: list[str] = []
        self._queue: "queue.Queue[str | None]" = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in iter(stream.readline, ""):
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        import queue

        for line in self.lines:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line containing {text!r} within {timeout} s; got {self.lines}")
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"output ended without {text!r}; got {self.lines}")
            self.lines.append(line)
            if text in line:
                return line
