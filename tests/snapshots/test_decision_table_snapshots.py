"""An SVG snapshot of the decision-table screen on the helpdesk task, with an utterance
tried (pytest-textual-snapshot). Fixed terminal size, no cursor blink (tests/snapshots/
conftest.py); nothing on the screen depends on ids or clocks. Update after a deliberate
change with `pytest tests/snapshots --snapshot-update`."""

from __future__ import annotations

from support import copy_sample, until
from support.tui import ready, shown
from textual.widgets import DataTable, Input

from workbench.screens.decision_table import DecisionTableScreen
from workbench.tui.app import make_app

SIZE = (120, 36)


def test_decision_table_screen(snap_compare, tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)

    async def run_before(pilot) -> None:
        await ready(pilot, app)
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, DecisionTableScreen))
        screen = app.screen
        await until(pilot, lambda: screen.table is not None and screen.rows_shown == 12)
        table = screen.query_one("#dt-states", DataTable)
        table.move_cursor(row=table.get_row_index("forgot_password"))
        box = screen.query_one("#dt-try", Input)
        box.focus()
        box.value = "I forgot my password"
        await pilot.press("end")  # focusing selected the text; a person would see the cursor at the end
        await until(pilot, lambda: "forgot_password" in shown(screen.query_one("#dt-ranking")))
        await until(pilot, lambda: "forgot_password" in shown(screen.query_one("#dt-detail")))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
