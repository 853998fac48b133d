"""Decision tables in the TUI (issue 14, point 4): edits live in the store and the editor says so;
it writes the table back to its file in the file's layout after a diff, so a conversation test
recorded after an edit passes from a clean checkout; the Try box re-runs after an edit; ties say
which state wins and why."""

from __future__ import annotations

import shutil

from support import copy_sample, until, write_task
from support.tui import ready, send, shown
from textual.widgets import Input

from workbench.screens.decision_table import DecisionTableScreen
from workbench.screens.diff_confirm import DiffConfirmScreen
from workbench.task import load_task
from workbench.testing.conversation import discover, run_tests
from workbench.tui.app import make_app
from workbench.widgets.state_panel import StatePanel

SIZE = (160, 48)


async def _open_table(pilot, app) -> DecisionTableScreen:
    await pilot.press("ctrl+d")
    await until(pilot, lambda: isinstance(app.screen, DecisionTableScreen), what="the table screen")
    screen = app.screen
    await until(pilot, lambda: screen.table is not None and screen.rows_shown == screen.states_total > 0)
    return screen


async def test_an_edit_is_written_back_to_the_file_and_passes_from_a_clean_checkout(tmp_path, store) -> None:
    task_dir = copy_sample("helpdesk", tmp_path)
    table_file = task_dir / "decision_table.csv"
    before = table_file.read_text(encoding="utf-8")
    app = make_app(task_dir, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        screen = await _open_table(pilot, app)
        source = screen.query_one("#dt-source")
        await until(pilot, lambda: "same as decision_table.csv" in shown(source), what="in step with the file")

        # the Try box holds an utterance nothing answers yet
        screen.query_one("#dt-try", Input).value = "can a human help me"
        ranking = screen.query_one("#dt-ranking")
        await until(pilot, lambda: "no state scored above 0" in shown(ranking), what="no match yet")

        # an edit: the ranking is redone at once, and the editor says where the edit lives
        call = screen._states["call_operator"]
        edited = call.model_copy(
            update={
                "analyzer": 'bor(vOneKeyword("human"), vOneKeyword("operator"))',
                "bubble": "A human will call you.",
            }
        )
        screen.save(edited)
        await until(pilot, lambda: "call_operator" in shown(ranking), what="the Try box re-ranked")
        await until(pilot, lambda: "Edits live in the store" in shown(source), what="the editor says so")
        assert source.has_class("-differs")

        # w: the diff first, then the file
        screen.query_one("#dt-states").focus()
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, DiffConfirmScreen), what="the diff")
        diff = app.screen.diff
        assert "-call_operator," in diff and "+call_operator," in diff and "A human will call you." in diff
        await pilot.press("w")
        await until(pilot, lambda: "A human will call you." in table_file.read_text(encoding="utf-8"))
        await until(pilot, lambda: "same as decision_table.csv" in shown(source), what="in step again")

    # the file kept its layout: its header and every other row as they were, byte for byte
    after = table_file.read_text(encoding="utf-8")
    old_rows = [r for r in before.splitlines(keepends=True) if not r.startswith("call_operator,")]
    new_rows = [r for r in after.splitlines(keepends=True) if not r.startswith("call_operator,")]
    assert old_rows == new_rows
    assert after.splitlines()[0] == before.splitlines()[0]

    # a clean checkout (no store) of the task, with a test recorded after the edit, passes
    clean = tmp_path / "checkout"
    shutil.copytree(task_dir, clean, ignore=shutil.ignore_patterns("data"))
    (clean / "tests" / "edit.yml").write_text(
        "- name: the edited operator state\n  steps:\n    - user: can a human help me\n"
        "    - bot: A human will call you.\n",
        encoding="utf-8",
    )
    task = load_task(clean)
    results = await run_tests(task, [t for t in discover(task) if t.name == "the edited operator state"])
    assert [r.ok for r in results] == [True], [r.failure for r in results]


TIED = """
state,execution_order,max_state_count,analyzer,queries,bubble,action,action_input,state_data,success_value,failure_value
start,1,0,,,Hello,,,,,
refund_late,2,0,"band(vOneKeyword(""refund""))",,Late refund,,,,,
refund_early,1,0,"band(vOneKeyword(""refund""))",,Early refund,,,,,
"""

TIED_TASK = """
name: tied
bots:
  desk: {engine: decision_table, table: table.csv}
worlds:
  help: {type: bot_chat, bot: desk}
"""


async def test_ties_say_which_state_wins_and_why(tmp_path, store) -> None:
    app = make_app(write_task(tmp_path / "tied", TIED_TASK, files={"table.csv": TIED.lstrip()}), store)
    why = "tie at 1.00: refund_early wins over refund_late: its execution_order is the lowest"
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        # in the chat's table tab, after the turn
        await send(pilot, app, "refund", "Early refund")
        panel = app.chat.query_one(StatePanel)
        await until(pilot, lambda: panel.view is not None and panel.view.turn == 1)
        assert panel.view.tie is not None and panel.view.tie.startswith(why)
        await until(pilot, lambda: why in shown(panel.query_one("#sp-candidates")), what="the tie in the panel")
        # in the Try box
        screen = await _open_table(pilot, app)
        screen.query_one("#dt-try", Input).value = "refund"
        await until(pilot, lambda: why in shown(screen.query_one("#dt-ranking")), what="the tie in the Try box")
