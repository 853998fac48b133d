"""A whole rating session in the TUI (Pilot): consent, chat, a rating of one reply, the
final ratings, the completion code; then the admin screen shows them."""

from __future__ import annotations

from pathlib import Path

from support import copy_sample, until
from textual.widgets import Button, Checkbox, ContentSwitcher, DataTable, Input, RadioSet, Select, Static

from workbench.screens.eval_admin import EvalAdminScreen
from workbench.screens.eval_session import RatingSessionScreen
from workbench.store import open_store
from workbench.task import load_task
from workbench.tui.app import WorkbenchApp
from workbench.widgets.rating_chart import RatingChart

SIZE = (140, 50)


def _step(screen: RatingSessionScreen) -> str:
    return screen.query_one("#steps", ContentSwitcher).current or ""


def _messages(screen: RatingSessionScreen) -> list[str]:
    return [str(s.render()) for s in screen.query("#eval-transcript Static")]


async def test_eval_a_whole_rating_session_in_the_tui_then_the_admin_screen(tmp_path: Path) -> None:
    task = load_task(copy_sample("bot_eval", tmp_path))
    store = open_store(tmp_path / "tui.db")
    app = WorkbenchApp(task, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.runner is not None, what="the runner")
        await pilot.press("f8")
        await until(pilot, lambda: isinstance(app.screen, RatingSessionScreen), what="the rating screen")
        screen = app.screen
        screen.query_one("#who-name", Input).value = "ann"
        await pilot.click("#who-begin")
        await until(pilot, lambda: _step(screen) == "step-consent", what="the consent step")
        # not every box ticked: no chat
        screen.query_one("#consent-0", Checkbox).value = True
        await pilot.click("#consent-agree")
        await until(pilot, lambda: "tick every box" in str(screen.query_one("#eval-status", Static).render()))
        assert _step(screen) == "step-consent"
        screen.query_one("#consent-1", Checkbox).value = True
        screen.query_one("#consent-agree", Button).press()  # a second click on the spot would be a double click
        await until(pilot, lambda: _step(screen) == "step-home", what="the home step")
        await pilot.click("#home-start")
        await until(pilot, lambda: _step(screen) == "step-chat", what="the chat")
        await until(pilot, lambda: any("I am the moderator" in m for m in _messages(screen)), what="the greeting")
        assert any("car park" in m for m in _messages(screen))  # the topic's seed
        for n, text in enumerate(["I LIKE IT", "who pays?", "fine"]):
            screen.query_one("#eval-say", Input).focus()
            screen.query_one("#eval-say", Input).value = text
            await pilot.press("enter")
            if n == 0:
                await until(pilot, lambda: any("You: i like it" in m for m in _messages(screen)), what="turn 1")
                screen.query_one("#turn-answer", Select).value = "0"
                await pilot.click("#turn-rate")
                await until(pilot, lambda: "rated" in str(screen.query_one("#eval-status", Static).render()))
        await until(pilot, lambda: _step(screen) == "step-rate", what="the rating form")
        # a required question left out is named
        await pilot.click("#rate-submit")
        await until(pilot, lambda: "another look" in str(screen.query_one("#eval-status", Static).render()))
        screen.query_one("#answer-0", RadioSet).query("RadioButton")[4].value = True
        screen.query_one("#answer-1", RadioSet).query("RadioButton")[0].value = True
        screen.query_one("#answer-2", Input).value = "nice bot"
        screen.query_one("#rate-submit", Button).press()
        await until(pilot, lambda: _step(screen) == "step-done", what="the completion code")
        code = str(screen.query_one("#completion-code", Static).render())
        assert code.startswith("Completion code: ") and len(code) > len("Completion code: ")

        thread = store.study.threads("bot_eval")[0]
        assert thread.status == "done" and thread.person.startswith("terminal-")
        values = {(r.question, r.seq): r.value for r in store.study.ratings("bot_eval")}
        assert values[("coherent", 0)] == "Very" and values[("role", 0)] == "A moderator"
        assert (
            values[("feedback", 0)] == "nice bot" and values[("helpful", 6)] == "Yes"
        )  # the reply after the first turn
        human = [m for m in store.messages(thread.id) if m["role"] == "human"]
        assert human[0]["text"] == "i like it" and human[0]["act"]["meta"]["text_orig"] == "I LIKE IT"

        await pilot.press("escape")
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, EvalAdminScreen), what="the admin screen")
        admin = app.screen
        await until(pilot, lambda: admin.stats is not None, what="the statistics")
        ratings = admin.query_one("#ratings-table", DataTable)
        rows = [[str(c) for c in ratings.get_row_at(i)] for i in range(ratings.row_count)]
        coherent = next(r for r in rows if r[0] == "How coherent was the conversation?")
        assert coherent[2] == "1" and coherent[3] == "5.00"
        await until(pilot, lambda: len(admin.query(RatingChart)) >= 2, what="the charts")
        threads = admin.query_one("#threads-table", DataTable)
        assert threads.row_count == 1 and str(threads.get_row_at(0)[4]) == "done"
        admin.query_one("#admin-tabs").active = "tab-threads"
        threads.focus()
        admin.read_thread(thread.id)
        await until(pilot, lambda: "coherent (thread" in str(admin.query_one("#thread-text", Static).render()))
        await pilot.press("x")
        folder = task.path("exports") / "evaluation"
        await until(pilot, lambda: (folder / "report.html").exists(), what="the export")
        assert (folder / "ratings.csv").read_text().count("\n") == 5  # header + 3 thread answers + 1 turn rating
    store.close()
