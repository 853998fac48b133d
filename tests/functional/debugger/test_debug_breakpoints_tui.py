"""Breakpoints in the TUI: set on a state from the table editor and on a slot from the slot
panel, a held turn told in the chat, the held bot's state edited by hand as JSON from the
breakpoints screen, then continued; every debugger key is a palette command."""

from __future__ import annotations

import json
from pathlib import Path

from support import copy_sample, until
from support.tui import notifications, ready, send, session, shown, texts
from textual.widgets import Input, Select, TextArea

from workbench.runtime.debugger import Breakpoint
from workbench.screens.breakpoint_form import BreakpointForm
from workbench.screens.breakpoints import BreakpointsScreen
from workbench.screens.decision_table import DecisionTableScreen
from workbench.screens.state_edit import StateEditScreen
from workbench.tui.app import make_app

SIZE = (160, 50)


async def test_a_state_breakpoint_from_the_table_editor_then_a_hand_edit_and_continue(tmp_path: Path, store) -> None:
    seen: list = []
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await ready(pilot, app, "help")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, DecisionTableScreen), what="the table editor")
        table = app.screen
        await until(pilot, lambda: "account_locked" in table._states, what="the states")
        table.query_one("#dt-states").move_cursor(row=table.query_one("#dt-states").get_row_index("account_locked"))
        await pilot.press("b")
        assert app.runner.breakpoints.points == [Breakpoint("state", "account_locked", "desk")]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.chat, what="the chat")

        cid = session(app).conversation_id
        app.chat.send("my account is locked")
        await until(pilot, lambda: cid in app.runner.breakpoints.paused, what="the held turn")
        await until(pilot, lambda: any("holds its reply" in n for n in notifications(seen)), what="the notice")
        assert "desk held: entered account_locked" in shown(app.chat.query_one("#status"))
        assert not any("If your account is locked" in t for t in texts(app))

        await pilot.press("f12")
        await until(pilot, lambda: isinstance(app.screen, BreakpointsScreen), what="the breakpoints screen")
        points = app.screen
        assert points.query_one("#bp-paused").row_count == 1
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, StateEditScreen), what="the state editor")
        area = app.screen.query_one("#state-edit-area", TextArea)
        state = json.loads(area.text)
        area.text = "{ not json"
        await pilot.press("ctrl+s")
        await until(
            pilot, lambda: "not valid JSON" in shown(app.screen.query_one("#state-edit-error")), what="the error"
        )
        area.text = json.dumps({**state, "counts": {"account_locked": 2}})
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is points, what="back on the breakpoints screen")
        await until(
            pilot, lambda: app.runner.bot_state(cid, "desk")["counts"] == {"account_locked": 2}, what="the edit"
        )
        await pilot.press("c")
        await until(pilot, lambda: cid not in app.runner.breakpoints.paused, what="the turn let go")
        await pilot.press("escape")
        await until(
            pilot, lambda: any("What seems to be the problem exactly?" in t for t in texts(app)), what="the reply"
        )
        assert not any("If your account is locked" in t for t in texts(app))

        # F10 holds the next turn, F5 lets it go
        await pilot.press("f10")
        app.chat.send("bye")
        await until(pilot, lambda: cid in app.runner.breakpoints.paused, what="the next turn held")
        await pilot.press("f5")
        await until(pilot, lambda: any("Would you mind rating" in t for t in texts(app)), what="the answer")


async def test_a_slot_breakpoint_from_the_slot_panel(tmp_path: Path, store) -> None:
    app = make_app(copy_sample("restaurant", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "booking")
        await send(pilot, app, "I'm looking for a restaurant", "What price range?")
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, BreakpointForm), what="the breakpoint form")
        form = app.screen
        assert form.query_one("#bp-name", Input).value == "price"
        assert form.query_one("#bp-kind", Select).value == "slot_set"
        form.query_one("#bp-here").value = True
        await pilot.click("#bp-add")
        await until(pilot, lambda: app.screen is app.chat, what="the chat")
        cid = session(app).conversation_id
        assert app.runner.breakpoints.points == [Breakpoint("slot_set", "price", "booking", cid)]
        app.chat.send("medium")
        await until(pilot, lambda: cid in app.runner.breakpoints.paused, what="the held turn")
        assert app.runner.breakpoints.paused[cid].reasons == ["set slot price"]
        await pilot.press("f5")
        await until(pilot, lambda: any("What kind of cuisine" in t for t in texts(app)), what="the answer")


async def test_every_debugger_key_is_a_palette_command(tmp_path: Path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        titles = {c.title for c in app.get_system_commands(app.chat)}
        assert {"Step through", "Continue", "Next turn", "Breakpoints", "Break on a slot"} <= titles
        await pilot.press("f12")
        await until(pilot, lambda: isinstance(app.screen, BreakpointsScreen), what="the breakpoints screen")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Add", "Remove", "Continue", "Next turn", "Edit state"} <= titles
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, BreakpointForm), what="the form")
        app.screen.query_one("#bp-kind", Select).value = "fallback"
        await pilot.pause()
        assert app.screen.query_one("#bp-name", Input).disabled
        await pilot.click("#bp-add")
        await until(pilot, lambda: app.runner.breakpoints.points == [Breakpoint("fallback")], what="the breakpoint")
        await until(pilot, lambda: app.screen.query_one("#bp-points").row_count == 1, what="the list")
        await pilot.press("delete")
        assert app.runner.breakpoints.points == []
