"""An SVG snapshot of the decision-table screen on the helpdesk task, with an utterance
tried (pytest-textual-snapshot). Fixed terminal size, no cursor blink; nothing on the
screen depends on ids or clocks. Update after a deliberate change with
`pytest --snapshot-update`."""

from __future__ import annotations

import time

from textual.widgets import DataTable, Input

from workbench.screens.decision_table import DecisionTableScreen
from workbench.store import open_store
from workbench.task import load_task
from workbench.tui.app import WorkbenchApp

from .helpers import copy_sample, shown

SIZE = (120, 36)


async def _settle(pilot, predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the app did not settle"
        await pilot.pause(0.02)


def test_decision_table_screen(snap_compare, tmp_path) -> None:
    task = load_task(copy_sample("helpdesk", tmp_path))
    store = open_store(tmp_path / "snapshot.db")
    app = WorkbenchApp(task, store=store)

    async def run_before(pilot) -> None:
        await _settle(pilot, lambda: app.chat.person and app.chat.person.session and app.chat.person.session.world)
        await pilot.press("ctrl+d")
        await _settle(pilot, lambda: isinstance(app.screen, DecisionTableScreen))
        screen = app.screen
        await _settle(pilot, lambda: screen.table is not None and screen._shown == 12)
        table = screen.query_one("#dt-states", DataTable)
        table.move_cursor(row=table.get_row_index("forgot_password"))
        box = screen.query_one("#dt-try", Input)
        box.cursor_blink = False
        box.focus()
        box.value = "I forgot my password"
        await pilot.press("end")  # focusing selected the text; a person would see the cursor at the end
        await _settle(pilot, lambda: "forgot_password" in shown(screen.query_one("#dt-ranking")))
        await pilot.pause(0.1)

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        store.close()
