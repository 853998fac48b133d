"""The decision-table screen, driven by Pilot from the chat: 10,000 states loaded and
filtered in batches while the screen keeps answering, add/edit/delete through a
validated form (edits reach the running conversation), import with problems, export,
and the try-an-utterance box with scores and reasons."""

from __future__ import annotations

from typing import Any

from support import big_table_task, copy_sample, until
from support.tui import ready, send, shown
from textual.widgets import Button, DataTable, Input, TextArea
from textual.worker import Worker, WorkerState

from workbench.engines.decision_table.table import DecisionTable
from workbench.engines.decision_table.table_io import read_file
from workbench.screens.chat import ChatScreen
from workbench.screens.confirm import ConfirmScreen
from workbench.screens.decision_table import DecisionTableScreen
from workbench.screens.path_prompt import PathPrompt
from workbench.screens.state_form import StateFormScreen
from workbench.screens.table_import import ImportTableScreen
from workbench.tui.app import make_app

SIZE = (150, 48)


async def open_table(pilot, app) -> DecisionTableScreen:
    await pilot.press("ctrl+d")
    await until(pilot, lambda: isinstance(app.screen, DecisionTableScreen), what="the decision-table screen")
    screen = app.screen
    await until(
        pilot,
        lambda: screen.table is not None and screen.rows_shown == screen.states_total > 0,
        60,
        what="every state in the table",
    )
    return screen


def rows(screen: DecisionTableScreen) -> list[str]:
    table = screen.query_one("#dt-states", DataTable)
    return [table.coordinate_to_cell_key((r, 0)).row_key.value for r in range(table.row_count)]


def highlight(screen: DecisionTableScreen, name: str) -> None:
    table = screen.query_one("#dt-states", DataTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(name))


async def type_into(pilot, selector: str, text: str, keys: bool = True) -> None:
    """Replace the text of an Input, typed key by key (or, with ``keys=False``, pasted)."""
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = "" if keys else text
    if keys:
        await pilot.press(*text)


async def test_ten_thousand_states_load_and_filter_in_batches(tmp_path, store) -> None:
    """(How long the loop waits between batches: benchmarks/decision_table_screen.py.)"""
    app = make_app(big_table_task(tmp_path / "big"), store)
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await ready(pilot, app, "help")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, DecisionTableScreen), what="the decision-table screen")
        screen = app.screen
        table = screen.query_one("#dt-states", DataTable)
        count = screen.query_one("#dt-count")
        await until(pilot, lambda: table.row_count > 0, 60, what="the first batch")
        await until(pilot, lambda: table.row_count == 10_000, 120, what="10,000 rows")
        await until(pilot, lambda: shown(count) == "10,000 states", what="the final count")

        # a filter typed while a full refill runs cancels it: only the matches remain
        box = screen.query_one("#dt-filter", Input)
        box.value = "exchange"
        await until(pilot, lambda: screen.rows_shown == table.row_count < 10_000, 60, what="a filtered table")
        matches = table.row_count
        before = len(messages)
        box.value = ""  # a refill of all 10,000 rows starts...
        await until(pilot, lambda: table.row_count > matches, 30, what="the refill to add rows")
        box.value = "state_0999"  # ...and the next filter cancels it
        await until(pilot, lambda: table.row_count == 10 and screen.rows_shown == 10, 30, what="the filtered rows")
        # the workers that filled the table since: the refill of every row, then the filtered one
        started = [
            m.worker
            for m in messages[before:]
            if isinstance(m, Worker.StateChanged) and m.worker.name == "fill-states" and m.state == WorkerState.PENDING
        ]
        assert len(started) == 2
        await until(pilot, lambda: started[0].state == WorkerState.CANCELLED, what="the refill of every row cancelled")

        # the try box ranks 10,000 states and says why
        await type_into(pilot, "#dt-try", "balance code5")
        await until(pilot, lambda: "state_00005" in shown(screen.query_one("#dt-ranking")), 30, what="a ranking")
        ranking = shown(screen.query_one("#dt-ranking"))
        assert ranking.index("state_00005") < ranking.index("threshold")
        assert "keyword(\"code5\"): found 'code5'" in ranking
        # meanwhile a refill that was not cancelled would have added its rows
        assert sorted(rows(screen)) == [f"state_0999{i}" for i in range(10)]
        assert shown(count) == "10 of 10,000 states"

        # words match anywhere in a state, all of them
        await type_into(pilot, "#dt-filter", "balance state_00005", keys=False)
        await until(pilot, lambda: rows(screen) == ["state_00005"], 30, what="the analyzer match")

        box.value = ""
        await until(
            pilot, lambda: table.row_count == 10_000 and screen.rows_shown == 10_000, 120, what="all rows again"
        )


async def test_add_edit_and_delete_a_state_with_validation(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        screen = await open_table(pilot, app)
        assert len(rows(screen)) == 12

        # add: an analyzer with a syntax error is reported with its line and character
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, StateFormScreen), what="the state form")
        form = app.screen
        form.query_one("#sf-state", Input).value = "opening_hours"
        form.query_one("#sf-analyzer", TextArea).load_text('bor(keyword("open"),\n    keyword("hours"')
        form.query_one("#sf-bubble", TextArea).load_text("We are open from 9 to 5.")
        form.query_one("#sf-max_state_count", Input).value = "lots"
        await pilot.click("#sf-save")
        errors = shown(form.query_one("#state-form-errors"))
        assert "analyzer, line 2, character 20: expected ',' or ')'" in errors
        assert "max_state_count: expected a whole number, got 'lots'" in errors
        assert form.query_one("#sf-analyzer").has_class("-invalid")
        assert app.screen is form  # nothing saved, the form stays open
        assert app.wb_task.engine("desk").table.get("opening_hours") is None

        # a name already in the table is refused
        form.query_one("#sf-state", Input).value = "start"
        form.query_one("#sf-analyzer", TextArea).load_text('bor(keyword("open"), keyword("hours"))')
        form.query_one("#sf-max_state_count", Input).value = "0"
        await pilot.press("ctrl+s")  # the keyboard saves too (the errors moved the button)
        assert "exists already" in shown(form.query_one("#state-form-errors"))

        form.query_one("#sf-state", Input).value = "opening_hours"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen and "opening_hours" in rows(screen), what="the new row")
        # persisted: a table opened afresh on the store has it
        assert DecisionTable(store, None, "desk").get("opening_hours").bubble == "We are open from 9 to 5."

        # edit it (Enter on the row); the name cannot change
        highlight(screen, "opening_hours")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, StateFormScreen), what="the edit form")
        form = app.screen
        assert form.query_one("#sf-state", Input).disabled
        form.query_one("#sf-bubble", TextArea).load_text("We are open from 8 to 8.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen, what="back on the table")
        await until(
            pilot,
            lambda: (
                screen.query_one("#dt-states", DataTable).get_cell("opening_hours", "bubble")
                == "We are open from 8 to 8."
            ),
            what="the edited cell",
        )
        assert "8 to 8" in shown(screen.query_one("#dt-detail"))

        # the running conversation uses the edit at its next turn
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChatScreen), what="back in the chat")
        await send(pilot, app, "what are your opening hours", "We are open from 8 to 8.")

        # delete, after a confirmation
        screen = await open_table(pilot, app)
        highlight(screen, "opening_hours")
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.click("#confirm-yes")
        await until(pilot, lambda: "opening_hours" not in rows(screen), what="the row gone")
        assert len(rows(screen)) == 12
        assert DecisionTable(store, None, "desk").get("opening_hours") is None


BAD_CSV = """state,execution_order,max_state_count,analyzer,queries,bubble,action,action_input,state_data,success_value,failure_value
opening_hours,1,0,"bor(keyword(""open""), keyword(""hours""))",,We are open from 9 to 5.,,,,,
broken_rule,1,0,"band(keyword(""a""), keyword(""b"")",,Never loaded.,,,,,
bad_count,1,many,,"[""count""]",Never loaded either.,,,,,
"""


async def test_import_reports_problems_by_row_and_loads_the_rest_on_confirmation(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    path = tmp_path / "more.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        screen = await open_table(pilot, app)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ImportTableScreen), what="the import dialog")
        dialog = app.screen

        # a path that does not exist is said so
        await type_into(pilot, "#import-path", str(tmp_path / "nope.csv"), keys=False)
        await pilot.press("enter")
        await until(pilot, lambda: "no such file" in shown(dialog.query_one("#import-report")), what="the error")
        assert dialog.query_one("#import-load", Button).disabled

        await type_into(pilot, "#import-path", str(path), keys=False)
        await pilot.press("enter")
        await until(pilot, lambda: "valid state" in shown(dialog.query_one("#import-report")), what="the report")
        report = shown(dialog.query_one("#import-report"))
        assert "1 valid state(s), 2 row(s) rejected" in report
        assert "row 3" in report and "column 4 (analyzer)" in report
        assert "row 4" in report and "column 3 (max_state_count)" in report
        load = dialog.query_one("#import-load", Button)
        assert not load.disabled and str(load.label) == "Load the 1 valid state(s), skip 2 row(s)"
        # nothing is loaded before the confirmation
        assert app.wb_task.engine("desk").table.get("opening_hours") is None

        await pilot.click("#import-load")
        await until(pilot, lambda: app.screen is screen, what="back on the table")
        await until(pilot, lambda: "opening_hours" in rows(screen), what="the imported state")
        names = rows(screen)
        assert len(names) == 13 and "broken_rule" not in names and "bad_count" not in names


async def test_export_writes_a_file_that_reads_back(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    out = tmp_path / "out" / "desk.json"
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        await open_table(pilot, app)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, PathPrompt), what="the export dialog")
        await type_into(pilot, "#path-input", str(out), keys=False)
        await pilot.press("enter")
        await until(pilot, lambda: out.exists(), what="the exported file")
    read = read_file(out)
    assert read.ok and len(read.states) == 12 and read.layout == "json"


async def test_try_an_utterance_ranks_states_with_scores_and_reasons(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        screen = await open_table(pilot, app)
        await pilot.press("t")
        assert app.focused is screen.query_one("#dt-try", Input)
        await pilot.press(*"I forgot my password")
        view = screen.query_one("#dt-ranking")
        await until(pilot, lambda: "forgot_password" in shown(view), what="the ranking")
        text = shown(view)
        first = text.index("forgot_password")
        assert first < text.index("further_details_access_question")
        line = text[text.rindex("\n", 0, first) + 1 : text.index("\n", first)]
        assert "██████████ 1.00  forgot_password" in line  # the score, with its bar, then the state
        assert "vOneKeyword(\"password\"): found 'password'" in text
        assert "threshold 0.30" in text and "evaluated" in text
        # an utterance nothing matches says so
        await type_into(pilot, "#dt-try", "zzzz")
        await until(pilot, lambda: "no state scored above 0" in shown(view), what="no match")
        # Esc leaves the box first, then the screen
        await pilot.press("escape")
        assert isinstance(app.screen, DecisionTableScreen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChatScreen), what="back in the chat")


async def test_every_binding_of_the_engine_screens_is_a_palette_command(tmp_path, store) -> None:
    from workbench.screens.knowledge_base import KnowledgeBaseScreen

    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        chat = app.chat
        for screen in (chat, DecisionTableScreen(app.wb_task, "desk"), KnowledgeBaseScreen(app.wb_task, "desk")):
            titles = {c.title for c in app.get_system_commands(screen)}
            # every binding that applies (the helpdesk has no form bot to set a slot of)
            applies = [b for b in screen.BINDINGS if screen.check_action(b.action, ()) is not False]
            missing = [b.description for b in applies if b.description not in titles and not b.action.endswith("quit")]
            assert missing == [], f"{type(screen).__name__}: {missing}"
            assert all(b.id and b.tooltip for b in screen.BINDINGS)
        assert "Add to KB" in {c.title for c in app.get_system_commands(chat)}
