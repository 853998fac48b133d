"""History (issue 14, point 6): reading a past conversation uses the width as the chat does, and
resuming a conversation of a two-person world says what happens to the other person."""

from __future__ import annotations

from typing import Any

import pytest
from support import copy_sample, until
from support.tui import notifications, quick_replies, ready, send, session, shown
from textual.widgets import Static

from workbench.screens.conversations import ConversationsScreen, TranscriptScreen
from workbench.tui.app import make_app
from workbench.widgets.inspector import Inspector
from workbench.widgets.transcript import Transcript


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_a_past_conversation_is_read_at_the_chats_width(tmp_path, store, size) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=size) as pilot:
        await ready(pilot, app, "echo")
        await send(pilot, app, "hello", "hello")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        await pilot.pause()
        transcript = app.screen.query_one(Transcript).region
        inspector = app.screen.query_one(Inspector).region
        if size[0] < 120:
            assert transcript.width == size[0] and inspector.y >= transcript.bottom  # stacked
        else:
            assert transcript.width >= size[0] * 0.55  # three fifths, as in the chat
            assert inspector.x >= transcript.right


async def test_resuming_a_two_person_conversation_says_what_happens_to_the_other(tmp_path, store) -> None:
    app = make_app(copy_sample("overworld_demo", tmp_path), store)
    messages: list[Any] = []
    async with app.run_test(size=(160, 48), message_hook=messages.append) as pilot:
        await ready(pilot, app, "overworld")
        await until(pilot, lambda: "chat" in quick_replies(app))
        await send(pilot, app, "chat", "Waiting for other people to join...")
        await until(pilot, lambda: session(app).world == "chat")
        cid = session(app).conversation_id
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
        table = app.screen.query_one("DataTable")
        table.move_cursor(row=table.get_row_index(cid))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        status = shown(app.screen.query_one("#status", Static))
        assert "a world for 2 people" in status and "not brought back" in status
        await pilot.press("r")
        await until(pilot, lambda: session(app) is not None and session(app).conversation_id == cid)
        await until(
            pilot,
            lambda: any("the other person is not brought back" in n for n in notifications(messages)),
            what="the notice",
        )
