"""`workbench` as a subprocess: run to completion, or started and read line by line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: the same interpreter as the tests, so the subprocess sees the same workbench
WORKBENCH = [sys.executable, "-m", "workbench"]


def run_cli(
    *args: str, cwd: Path | None = None, input: str | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess:
    """Run ``workbench ARGS`` to completion in a subprocess (bounded by ``timeout``)."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [*WORKBENCH, *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
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
        self._queue: queue.Queue[str | None] = queue.Queue()
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
