"""Start-up stays fast with model bots around, proved in fresh interpreters: `workbench --help`,
and `open` or `serve` of a task without a model bot, never import torch or transformers; the
first paint of a task whose first bot is a model bot happens even when loading the model never
ends; replaying a model task's conversation tests imports neither."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
from support import copy_sample, free_port

MODEL_LIBRARIES = {"torch", "transformers"}

#: runs `workbench ARGS`; writes the top-level modules loaded at exit (and, for `open`, at the
#: first paint) to the files named first
TRACKER = textwrap.dedent(
    """
    import atexit, json, sys

    at_exit, at_paint = sys.argv[1], sys.argv[2]
    sys.argv = ["workbench", *sys.argv[3:]]

    def dump(path):
        with open(path, "w") as f:
            json.dump(sorted({m.split(".")[0] for m in sys.modules}), f)

    atexit.register(dump, at_exit)
    from workbench.tui.app import WorkbenchApp

    painted = WorkbenchApp._painted

    def _painted(self):
        dump(at_paint)
        painted(self)

    WorkbenchApp._painted = _painted
    from workbench.cli.main import main

    main()
    """
)


def tracked(tmp_path: Path, *args: str) -> tuple[list[str], Path, Path]:
    at_exit, at_paint = tmp_path / "exit.json", tmp_path / "paint.json"
    return [sys.executable, "-c", TRACKER, str(at_exit), str(at_paint), *args], at_exit, at_paint


def modules(path: Path) -> set[str]:
    return set(json.loads(path.read_text()))


def test_help_imports_no_model_library(tmp_path) -> None:
    cmd, at_exit, _ = tracked(tmp_path, "--help")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert res.returncode == 0 and "Usage" in res.stdout
    assert not modules(at_exit) & (MODEL_LIBRARIES | {"httpx_sse"})


def open_until_painted(tmp_path: Path, task: Path, **environ: str) -> tuple[set[str], set[str]]:
    """`workbench open TASK` in a pseudo-terminal until its first paint; (modules at paint, at exit)."""
    marker = tmp_path / "painted"
    cmd, at_exit, at_paint = tracked(tmp_path, "open", str(task))
    # the app notes its first paint and first usable moment there, and leaves once usable
    env = dict(os.environ, WORKBENCH_STARTUP_MARKS=str(marker), TERM="xterm-256color", COLUMNS="100", LINES="30")
    env.update(environ)
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                os.read(master, 65536)  # keep the terminal drained
            except OSError:
                time.sleep(0.01)
        assert proc.poll() is not None, "the TUI did not paint and leave within 60 s"
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert marker.exists() and at_paint.exists(), "no first paint"
    return modules(at_paint), modules(at_exit)


def test_open_of_a_task_without_a_model_bot_imports_no_model_library(tmp_path) -> None:
    painted, leaving = open_until_painted(tmp_path, copy_sample("echo", tmp_path / "work"))
    assert "textual" in painted
    assert not (painted | leaving) & MODEL_LIBRARIES


def test_the_first_paint_of_a_model_task_does_not_wait_for_the_model(tmp_path) -> None:
    root = copy_sample("model_chat", tmp_path / "work")
    task_yml = root / "task.yml"
    task_yml.write_text("start: babbler\n" + task_yml.read_text(), encoding="utf-8")  # the model bot first
    # a torch whose import never ends: were the first paint to wait for the model, it would never come
    fake = tmp_path / "never" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("import time\ntime.sleep(3600)\n", encoding="utf-8")
    painted, _ = open_until_painted(tmp_path, root, PYTHONPATH=str(fake.parent))
    assert "textual" in painted


def test_serve_of_a_task_without_a_model_bot_imports_no_model_library(tmp_path) -> None:
    root = copy_sample("echo", tmp_path / "work")
    port = free_port()
    cmd, at_exit, _ = tracked(tmp_path, "serve", str(root), "--port", str(port), "--log-level", "warning")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "workbench serve exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "workbench serve did not answer within 30 s"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    loaded = modules(at_exit)
    assert "uvicorn" in loaded and not loaded & MODEL_LIBRARIES


def test_replaying_a_model_tasks_tests_imports_no_model_library(tmp_path) -> None:
    root = copy_sample("model_chat", tmp_path / "work")
    cmd, at_exit, _ = tracked(tmp_path, "test", str(root))
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_MODEL")}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 passed, 0 failed" in res.stdout
    assert not modules(at_exit) & MODEL_LIBRARIES
    assert not (root / "data").exists()  # no model was built either
