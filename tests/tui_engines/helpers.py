"""Helpers of the engine-tool TUI tests: sample tasks in tmp_path, a generated 10,000-state
task, bounded waits, and a chat driven through the composer."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from rich.console import Console
from support import copy_sample, until  # noqa: F401  (shared by this folder's tests)
from textual.widgets import Input, Static

from workbench.store import Store, open_store
from workbench.task import load_task
from workbench.tui.app import WorkbenchApp
from workbench.widgets.transcript import MessageItem, Transcript

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_tasks"
SIZE = (150, 48)


def big_task(root: Path, n: int = 10_000) -> Path:
    """A task whose decision table has ``n`` generated states (a fifth with keyword analyzers)."""
    root.mkdir(parents=True, exist_ok=True)
    words = (
        "account password card transfer refund balance loan payment login email phone address "
        "limit fee exchange rate pin cash atm branch statement"
    ).split()
    with open(root / "table.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "state",
                "execution_order",
                "max_state_count",
                "analyzer",
                "queries",
                "bubble",
                "action",
                "action_input",
                "state_data",
                "success_value",
                "failure_value",
            ]
        )
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


def make_app(task_root: Path, tmp_path: Path) -> tuple[WorkbenchApp, Store]:
    task = load_task(task_root)
    store = open_store(tmp_path / "tui.db")
    return WorkbenchApp(task, store=store), store


def session(app: WorkbenchApp) -> Any:
    p = app.chat.person
    return p.session if p is not None else None


async def ready(pilot: Any, app: WorkbenchApp, world: str) -> None:
    await until(pilot, lambda: session(app) is not None and session(app).world == world, what=f"world {world}")


def texts(app: WorkbenchApp) -> list[str]:
    return [str(i.entry["act"].get("text") or "") for i in app.chat.query_one(Transcript).query(MessageItem)]


async def send(pilot: Any, app: WorkbenchApp, text: str, expect: str, timeout: float = 10.0) -> None:
    """Type ``text`` in the composer, press Enter, wait until ``expect`` is in the transcript."""
    composer = app.chat.query_one("#composer", Input)
    composer.focus()
    composer.value = text
    await pilot.press("enter")
    await until(pilot, lambda: any(expect in t for t in texts(app)), timeout, what=f"{expect!r} in the transcript")


def shown(widget: Static, width: int = 200) -> str:
    """The plain text a Static shows, whatever it renders (text, Rich tables, groups)."""
    content = widget.content
    if isinstance(content, str):
        return content
    if hasattr(content, "plain"):
        return content.plain
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(content)
    return console.export_text()
