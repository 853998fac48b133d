"""ReplayScreen: what-if replay in the TUI, then and now side by side.

The conversations replayed (workbench/testing/replay.py: a scratch store, the bot as it is
now), each ``same``, ``diverged at turn K`` or skipped; for the highlighted one, every turn
with what the person said, what the bot said then and what it says now, the first turn
that diverges highlighted and the cursor on it. The replay runs in a worker thread with
an event loop of its own; the task's store is only read. Either side can be saved as a
conversation test, up to the highlighted turn.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

#: what a turn's replies look like in one cell
CELL = 60


class ReplayScreen(Screen[None]):
    CSS_PATH = "debugger.tcss"

    BINDINGS = [
        Binding("escape", "close", "Back", id="replay.close", tooltip="Back"),
        Binding(
            "t",
            "save_now",
            "Save now as test",
            id="replay.save_now",
            tooltip="Save what the bot says now, up to the highlighted turn, as a conversation test",
        ),
        Binding(
            "T",
            "save_then",
            "Save then as test",
            id="replay.save_then",
            tooltip="Save what the bot said then, up to the highlighted turn, as a conversation test",
        ),
    ]

    class Done(Message):
        def __init__(self, report: Any) -> None:
            super().__init__()
            self.report = report

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, task: Any, store: Any, conversation_ids: list[str], regenerate: bool = False) -> None:
        super().__init__()
        self.wb_task = task
        self.store = store
        self.conversation_ids = conversation_ids
        self.regenerate = regenerate
        self.report: Any = None
        self.shown: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            f"replaying {len(self.conversation_ids)} conversation(s) against the bot as it is now…", id="replay-status"
        )
        yield Label("Conversations", classes="replay-heading")
        yield DataTable(id="replay-conversations", cursor_type="row", zebra_stripes=True)
        yield Label("Then and now", classes="replay-heading")
        yield DataTable(id="replay-turns", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "workbench · what-if replay"
        self.query_one("#replay-conversations", DataTable).add_columns("conversation", "result", "turns")
        self.query_one("#replay-turns", DataTable).add_columns("turn", "you said", "then", "now")
        self.replay()

    @work(thread=True, exclusive=True, exit_on_error=False, group="replay", name="what-if-replay")
    def replay(self) -> None:
        from workbench.testing.replay import Replayer

        try:
            replayer = Replayer(self.wb_task.root, self.store, regenerate=self.regenerate)
            report = asyncio.run(replayer.run(self.conversation_ids))
        except Exception as exc:  # shown to the person, never a traceback
            self.post_message(self.Failed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Done(report))

    @on(Done)
    def _done(self, message: Done) -> None:
        self.report = message.report
        summary = self.report.to_json()
        self.query_one("#replay-status", Static).update(
            f"{summary['conversations']} conversation(s): {summary['same']} same, {summary['diverged']} diverged, "
            f"{summary['skipped']} skipped · {self.report.turns} turns in {self.report.seconds:.1f} s"
            "   t save now as test · T save then as test"
        )
        table = self.query_one("#replay-conversations", DataTable)
        table.clear()
        for r in self.report.results:
            table.add_row(r.conversation_id, _status(r), str(r.turns), key=r.conversation_id)
        first = next((i for i, r in enumerate(self.report.results) if r.status == "diverged"), 0)
        if self.report.results:
            table.move_cursor(row=first)
            self.show(self.report.results[first])
        table.focus()

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.query_one("#replay-status", Static).update(f"the replay failed: {message.error}")
        self.notify(f"The replay failed: {message.error}", severity="error", timeout=10)

    @on(DataTable.RowHighlighted, "#replay-conversations")
    def _conversation(self, event: DataTable.RowHighlighted) -> None:
        if self.report is None or event.row_key is None:
            return
        found = next((r for r in self.report.results if r.conversation_id == event.row_key.value), None)
        if found is not None and found is not self.shown:
            self.show(found)

    def show(self, result: Any) -> None:
        """One conversation's turns, then beside now; the diverging turn highlighted."""
        self.shown = result
        table = self.query_one("#replay-turns", DataTable)
        table.clear()
        if result.skipped:
            table.add_row("", Text(f"not replayed: {result.skipped}", style="italic"), "", "", key="skipped")
            return
        for p in result.pairs:
            style = "bold reverse" if p.number == result.diverged_at else ("" if p.same else "bold")
            mark = "≠ " if not p.same else ""
            table.add_row(
                Text(f"{mark}{p.number}", style=style),
                Text(_cell([p.said] if p.said else []), style=style),
                Text(_cell(p.then), style=style),
                Text(_cell(p.now), style=style),
                key=str(p.number),
                height=None,
            )
        if result.diverged_at is not None:
            row = [p.number for p in result.pairs].index(result.diverged_at)
            table.move_cursor(row=row)

    def _turn(self) -> int | None:
        table = self.query_one("#replay-turns", DataTable)
        if self.shown is None or not self.shown.pairs or table.row_count == 0:
            return None
        return self.shown.pairs[min(table.cursor_row, len(self.shown.pairs) - 1)].number

    def action_save_now(self) -> None:
        self._save("now")

    def action_save_then(self) -> None:
        self._save("then")

    def _save(self, side: str) -> None:
        result, number = self.shown, self._turn()
        timeline = getattr(result, side, None) if result is not None else None
        if timeline is None or number is None:
            self.notify("Nothing replayed to save yet.", severity="warning")
            return
        from workbench.screens.path_prompt import PathPrompt

        folder = self.wb_task.path(self.wb_task.spec.tests)
        default = folder / f"{result.conversation_id}-{side}-turn{number}.yml"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.save(path, timeline, number)

        title = f"Save what the bot says {side}, up to turn {number}, as a test:"
        self.app.push_screen(PathPrompt(title, str(default), action="Save"), chosen)

    @work(thread=True, exit_on_error=False, group="replay-save", name="save-replayed-test")
    def save(self, path: Path, timeline: Any, number: int) -> None:
        from workbench.testing.from_conversation import conversation_test, save_test

        try:
            save_test(path, conversation_test(timeline, number))
        except Exception as exc:
            self.notify(f"Could not save {path}: {type(exc).__name__}: {exc}", severity="error", timeout=10)
            return
        self.notify(f"Saved as a test: {path}")

    def action_close(self) -> None:
        self.dismiss(None)


def _status(result: Any) -> Text:
    if result.status == "same":
        return Text("same", style="green")
    if result.status == "diverged":
        return Text(f"diverged at turn {result.diverged_at}", style="bold red")
    return Text(f"skipped: {result.skipped}", style="yellow")


def _cell(texts: list[str]) -> str:
    if not texts:
        return "—"
    joined = "\n".join(texts)
    return joined if len(joined) <= CELL * 4 else joined[: CELL * 4 - 1] + "…"
