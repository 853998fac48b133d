"""The live state panel during a helpdesk chat: current state, candidates and scores,
data and template variables (unfilled ones), traversed states, visits against
max_state_count; a burst of state events renders once."""

from __future__ import annotations

import re
from typing import Any

from support import copy_sample, until
from support.tui import ready, send, shown

from workbench.screens.messages import RuntimeEvent
from workbench.tui.app import make_app
from workbench.widgets.bot_panel import BotPanel
from workbench.widgets.inspector import Inspector
from workbench.widgets.state_panel import StatePanel

SIZE = (150, 48)


async def test_the_state_panel_follows_a_helpdesk_chat(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        inspector = app.chat.query_one(Inspector)
        # a decision-table bot gets its tab, shown at once; the other tabs stay
        await until(pilot, lambda: inspector.active == "tab-bot-desk", what="the desk tab")
        panel = inspector.query_one(StatePanel)
        assert {p.id for p in inspector.query("TabPane")} >= {"tab-world", "tab-state", "tab-message", "tab-bot-desk"}
        await until(pilot, lambda: panel.view is not None and panel.view.current == "start", what="the greeting")
        assert "no turn yet" in shown(panel.query_one("#sp-candidates")) or panel.view.turn == 0

        await send(pilot, app, "my account is locked", "If your account is locked")
        await until(pilot, lambda: panel.view.turn == 1, what="the first turn")
        v = panel.view
        assert v.current == "any_further" and v.route == "match"
        assert v.entered == ["account_locked", "any_further"]
        assert v.candidates[0].state == "account_locked" and v.candidates[0].chosen and v.candidates[0].score == 1.0
        summary = shown(panel.query_one("#sp-summary"))
        assert "state any_further" in summary and "route match" in summary
        assert "entered account_locked → any_further" in summary
        candidates = shown(panel.query_one("#sp-candidates"))
        assert "account_locked  ← chosen" in candidates and "found 'locked'" in candidates
        assert "threshold 0.30" in candidates
        assert shown(panel.query_one("#sp-traversed")).strip() == "start → account_locked → any_further"
        assert "account_locked" in shown(panel.query_one("#sp-visits")) and "1 / 2" in shown(
            panel.query_one("#sp-visits")
        )

        # max_state_count: the second visit exhausts account_locked
        await send(pilot, app, "my account is locked again", "Let me know if you have any other request")
        await until(pilot, lambda: panel.view.turn == 2, what="the second turn")
        visits = shown(panel.query_one("#sp-visits"))
        assert "2 / 2  exhausted" in visits
        assert visits.index("account_locked") < visits.index("start")  # exhausted first

        # a form, then the data it collected and the template variables that used it
        await send(pilot, app, "I forgot my password", "Please type your email address")
        await until(pilot, lambda: panel.view.turn == 3, what="the form")
        assert "waiting for a form: email (email)" in shown(panel.query_one("#sp-summary"))
        await send(pilot, app, "ada@example.com", "An e-mail will be sent to this address: ada@example.com")
        await until(pilot, lambda: panel.view.turn == 4, what="the form's answer")
        data = shown(panel.query_one("#sp-data"))
        assert "email" in data and "ada@example.com" in data
        assert re.search(r"%email% \(send_password_generation_link bubble\) +ada@example.com", data)
        assert re.search(r"%link% \(send_password_generation_link action_input\) +https://support.example.com", data)
        assert "action send_password_generation_link in send_password_generation_link: ok" in shown(
            panel.query_one("#sp-summary")
        )

        # an edit made through the table's API shows at the next turn, with its unfilled variable
        app.wb_task.engine("desk").table.update("call_operator", {"bubble": "Call %operator_phone%, please."})
        await send(pilot, app, "I want to talk to an operator", "Call, please.")
        await until(pilot, lambda: panel.view.turn == 5, what="the operator turn")
        data = shown(panel.query_one("#sp-data"))
        assert re.search(r"%operator_phone% \(call_operator bubble\) +unfilled", data)
        assert "unfilled in the last turn (removed from the reply): operator_phone" in data


async def _followed_panel(pilot, app, dispatched: list[Any]) -> StatePanel:
    """The panel once the greeting's own state event has gone through the chat (a late one
    would land after the states a test feeds, and be shown instead)."""
    await ready(pilot, app, "help")
    await until(
        pilot,
        lambda: any(isinstance(m, RuntimeEvent) and m.event.kind == "state" for m in dispatched),
        what="the greeting's state event",
    )
    await pilot.pause()  # the chat handles it, the panel's update (if it had a panel yet) is queued
    inspector = app.chat.query_one(Inspector)
    await until(
        pilot,
        lambda: inspector.query(StatePanel) and inspector.query_one(StatePanel).view is not None,
        what="the panel",
    )
    return inspector.query_one(StatePanel)


async def test_a_burst_of_state_events_renders_once(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        panel = await _followed_panel(pilot, app, messages)
        renders = []
        original = panel.show
        panel.show = lambda: (renders.append(panel.state["turns"]), original())
        cid = panel.conversation_id
        for turn in range(1, 51):  # as a websocket storm would post them
            panel.feed(cid, {"current": "start", "turns": turn, "counts": {"start": turn}}, None)
        await until(pilot, lambda: panel.view.turn == 50, what="the last state")
        # one more, later: it renders on its own, so the burst has rendered all it ever will
        panel.feed(cid, {"current": "start", "turns": 51, "counts": {"start": 51}}, None)
        await until(pilot, lambda: panel.view.turn == 51, what="the later state")
        assert renders[-1] == 51 and 50 in renders and len(renders) <= 3, renders


async def test_state_events_of_another_conversation_are_ignored(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        panel = await _followed_panel(pilot, app, messages)
        shown_turns = []
        original = panel.show
        panel.show = lambda: (shown_turns.append(panel.state["turns"]), original())
        panel.feed("another", {"current": "goodbye_question", "turns": 99}, None)
        await until(
            pilot,
            lambda: any(isinstance(m, BotPanel.Update) and m.conversation_id == "another" for m in messages),
            what="the other conversation's update to reach the panel",
        )
        # a later update of the followed conversation is shown; the other one never was
        panel.feed(panel.conversation_id, {"current": "start", "turns": 50, "counts": {"start": 50}}, None)
        await until(pilot, lambda: panel.view.turn == 50, what="the followed conversation's state")
        assert 99 not in shown_turns and panel.view.current == "start"


async def test_a_live_update_queued_behind_the_load_keeps_the_engine(tmp_path, store) -> None:
    """The load's update (it carries the engine) and a live turn queued right behind it, as
    when the bot answers while the panel loads: both are handled, the live state is shown."""
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        panel = await _followed_panel(pilot, app, messages)
        engine, cid = panel.engine, panel.conversation_id
        panel.engine, panel.view, panel._live = None, None, False  # as before the load landed
        # posted from one callback, so both wait in the queue together
        panel.post_message(BotPanel.Update(cid, {"current": "start", "turns": 0}, None, engine=engine, loaded=True))
        panel.feed(cid, {"current": "start", "turns": 7, "counts": {"start": 7}}, None)
        await until(pilot, lambda: panel.view is not None, what="the panel to show a state")
        assert panel.engine is engine and panel.view.turn == 7
