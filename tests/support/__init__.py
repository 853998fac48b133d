"""What every kind of test shares: sample tasks copied into tmp_path, task directories written
from text (a fragile bot, every safety rule, a generated 10,000-state table), free ports on
127.0.0.1, people who collect what they are sent, and bounded waits (pyproject's pytest
`pythonpath` puts tests/ on sys.path, so this package is ``support``).

The other modules: ``support.cli`` (`workbench` as a subprocess), ``support.servers`` (servers
on 127.0.0.1 and websocket clients), ``support.tui`` (Pilot helpers; the only one that imports
Textual), ``support.engines`` (engines driven turn by turn), ``support.task_files`` (good and
broken task.yml texts), ``support.messenger`` and ``support.graph_double`` (webhook events and
the Graph API double). The fixtures built on them are in tests/conftest.py."""

from __future__ import annotations

import asyncio
import csv
import shutil
import socket
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_tasks"
FIXTURES = REPO / "tests" / "fixtures"
#: starchat's decision tables and API description (tests/fixtures/README.md says where from)
STARCHAT = FIXTURES / "starchat"


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


#: a Python bot that raises on "boom" (runtime errors shown by the serve screen and the live server)
FRAGILE_TASK = """
name: boom
bots:
  fragile: {engine: python, name: Fragile}
worlds:
  talk: {type: bot_chat, bot: fragile}
"""

FRAGILE_WORLDS = """
from workbench import bot

@bot("Fragile")
class Fragile:
    def observe(self, msg):
        self.text = msg["text"]

    def act(self):
        if self.text == "boom":
            raise RuntimeError("the fragile bot broke")
        return {"text": "fine"}
"""


#: an echo bot behind every safety rule (blocklist_file: blocklist.txt must be written beside it)
SAFE_TASK = """
name: safe
bots:
  echo: {engine: echo, greeting: "Hello."}
worlds:
  echo: {type: bot_chat, bot: echo}
safety:
  incoming: {card_number: block, phone: mask, email: warn, national_id: block, blocklist: mask}
  outgoing: {email: mask}
  blocklist: [darn]
  blocklist_file: blocklist.txt
"""


def big_table_task(root: Path, n: int = 10_000) -> Path:
    """A task whose decision table has ``n`` generated states (a fifth with keyword analyzers)."""
    root.mkdir(parents=True, exist_ok=True)
    words = (
        "account password card transfer refund balance loan payment login email phone address "
        "limit fee exchange rate pin cash atm branch statement"
    ).split()
    header = "state execution_order max_state_count analyzer queries bubble action action_input state_data"
    with open(root / "table.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*header.split(), "success_value", "failure_value"])
        for i in range(n):
            a, b = words[i % len(words)], words[(i * 7 + 3) % len(words)]
            analyzer = f'band(keyword("{a}"), keyword("code{i}"))' if i % 5 == 0 else ""
            queries = "" if analyzer else f'["{a} {b} question {i}", "how do I {a} my {b} number {i}"]'
            w.writerow(
                [f"state_{i:05d}", 1, 0, analyzer, queries, f"Answer {i} about {a} and {b}.", "", "", "", "", ""]
            )
    (root / "task.yml").write_text(
        "name: big\nbots:\n  desk:\n    engine: decision_table\n    table: table.csv\n    start_state: null\n"
        "worlds:\n  help:\n    type: bot_chat\n    bot: desk\n",
        encoding="utf-8",
    )
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


async def say(runner: Any, person: Person, text: str | dict, timeout: float = 5.0) -> list[str]:
    """Send ``text`` as ``person`` through ``runner`` and return the texts they received in answer."""
    before = len(person.received)
    person.put(text)
    assert await runner.wait_idle(timeout=timeout), f"no answer to {text!r} within {timeout} s"
    return [m.text for m in person.received[before:]]


def eventually(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Block until ``predicate`` holds (a test without an event loop: subprocesses, a browser);
    fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.02)


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
