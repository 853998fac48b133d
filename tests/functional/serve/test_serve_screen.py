"""The serve screen driven by Pilot: start the server, watch a live conversation, take over
the bot's side and hand it back, see errors, stop the server."""

from __future__ import annotations

import socket
from typing import Any

from support import FRAGILE_TASK, FRAGILE_WORLDS, Person, copy_sample, free_port, until, write_task
from support.tui import (
    log_text,
    notifications,
    open_serve,
    shown,
    start_serving,
    table_rows,
    transcript_texts,
    type_reply,
)
from textual.widgets import Button, Input, Static

from workbench.screens.serve import ServeScreen
from workbench.services.live import LiveServer
from workbench.tui.app import make_app
from workbench.widgets.session_table import SessionTable, format_idle

SIZE = (160, 48)


async def test_start_watch_take_over_hand_back_and_stop(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    port = free_port()
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await open_serve(pilot, app, port)
        await start_serving(pilot, screen)
        assert str(screen.query_one("#serve-toggle", Button).label) == "Stop"
        assert screen.query_one("#serve-port", Input).disabled
        assert screen.live.url == f"http://127.0.0.1:{port}"

        # a person arrives on the server's runner (the websocket variant is below)
        ada = Person()
        ada.session = await screen.live.runner.connect(ada.deliver, person="ada", channel="test")
        cid = ada.session.conversation_id
        await until(pilot, lambda: len(table_rows(screen)) == 1, what="the session in the list")
        assert table_rows(screen)[0][:4] == [cid, "test", "ada", "echo"]
        assert table_rows(screen)[0][5] == "bot"

        # open it: read-only, updated live
        table = screen.query_one(SessionTable)
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: screen.opened == cid, what="the conversation to open")
        assert screen.query_one("#serve-reply", Input).disabled
        ada.session.put("hello")
        await until(pilot, lambda: transcript_texts(screen) == ["hello", "hello"], what="the echo in the transcript")
        assert "read-only" in shown(screen.query_one("#serve-title", Static))

        # take over: the person's next message waits for the developer
        await pilot.press("f6")
        await until(pilot, lambda: ada.session.takeover is not None)
        ada.session.put("are you a bot?")
        await until(
            pilot, lambda: "the person waits for your answer" in shown(screen.query_one("#serve-title", Static))
        )
        await until(pilot, lambda: table_rows(screen)[0][5] == "you (waiting)")
        await type_reply(pilot, screen, "No, I am the developer.")
        await until(pilot, lambda: ada.texts[-1:] == ["No, I am the developer."], what="the developer's answer")
        await until(pilot, lambda: transcript_texts(screen)[-2:] == ["are you a bot?", "No, I am the developer."])

        # hand back: the bot answers again
        table.focus()
        await pilot.press("f6")
        await until(pilot, lambda: ada.session.takeover is None)
        ada.session.put("back to the bot")
        await until(pilot, lambda: ada.texts[-1:] == ["back to the bot"], what="the bot's answer")
        assert table_rows(screen)[0][5] == "bot"

        # stop: the person hears about it, the list empties
        await pilot.press("f5")
        await until(pilot, lambda: screen.live.state == "stopped", what="the server to stop")
        await until(pilot, lambda: table_rows(screen) == [])
        assert any("shutting down" in t for t in ada.texts)
        await until(pilot, lambda: "server stopped" in log_text(screen))
        assert str(screen.query_one("#serve-toggle", Button).label) == "Start"
        assert not screen.query_one("#serve-port", Input).disabled

        # back to the chat, which never stopped
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.chat)
    assert [m for m in messages if isinstance(m, ServeScreen.LiveEvent)]


async def test_a_busy_port_is_shown_not_fatal(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    messages: list[Any] = []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
            screen = await open_serve(pilot, app, port)
            await pilot.press("f5")
            await until(pilot, lambda: "already in use" in log_text(screen), what="the error in the log")
            assert screen.live.state == "stopped"
            assert "already in use" in shown(screen.query_one("#serve-status", Static))
            await until(pilot, lambda: any("already in use" in n for n in notifications(messages)))


async def test_a_bad_port_number_never_reaches_the_server(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await open_serve(pilot, app, 99999)
        await pilot.press("f5")
        await until(pilot, lambda: any("0 to 65535" in n for n in notifications(messages)), what="the notice")
        assert screen.live.state == "stopped"
        # it never tried to start: the live server reported nothing
        assert not [m for m in messages if isinstance(m, ServeScreen.LiveEvent)]


async def test_runtime_errors_show_in_the_log_and_as_notifications(tmp_path, store) -> None:
    app = make_app(write_task(tmp_path / "boom", FRAGILE_TASK, FRAGILE_WORLDS), store)
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await open_serve(pilot, app, free_port())
        await start_serving(pilot, screen)
        ada = Person()
        ada.session = await screen.live.runner.connect(ada.deliver, person="ada", channel="test")
        ada.session.put("boom")
        await until(pilot, lambda: "the fragile bot broke" in log_text(screen), what="the runtime error in the log")
        assert f"conversation {ada.session.conversation_id}: RuntimeError: the fragile bot broke" in log_text(screen)
        await until(pilot, lambda: any("the fragile bot broke" in n for n in notifications(messages)))
        await pilot.press("f5")
        await until(pilot, lambda: screen.live.state == "stopped")


#: a menu first, then a bot_chat world: a takeover waits while the person is in the menu
MENU_THEN_ECHO = """
name: menu
bots:
  echo: {engine: echo}
worlds:
  overworld:
    type: menu
    text: Pick one
    options: {Echo: echo}
  echo: {type: bot_chat, bot: echo}
"""


async def test_take_over_without_an_open_session_explains_itself(tmp_path, store) -> None:
    # (the overworld demo, which this test used, has no bot_chat world at all: that case is
    # tests/functional/firstten/test_firstten_serve.py)
    app = make_app(write_task(tmp_path / "menu", MENU_THEN_ECHO), store)
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await open_serve(pilot, app, free_port())
        await pilot.press("f6")
        await until(pilot, lambda: any("Open a live session first" in n for n in notifications(messages)))
        await start_serving(pilot, screen)
        ada = Person()
        ada.session = await screen.live.runner.connect(ada.deliver, person="ada", channel="test")
        await until(pilot, lambda: len(table_rows(screen)) == 1)
        await screen.open(ada.session.conversation_id)
        await pilot.press("f6")
        await until(pilot, lambda: any("not a bot_chat world" in n for n in notifications(messages)))
        assert "you answer once they are in a bot_chat world" in shown(screen.query_one("#serve-title", Static))
        await pilot.press("f6")
        await until(pilot, lambda: ada.session.takeover is None)


async def test_the_server_stops_when_the_app_quits(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_serve(pilot, app, free_port())
        await start_serving(pilot, screen)
        live: LiveServer = screen.live
        url = live.url
    assert live.state == "stopped"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(url.rsplit(":", 1)[1]))) != 0


async def test_serve_bindings_have_ids_tooltips_and_palette_commands(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_serve(pilot, app, free_port())
        for b in ServeScreen.BINDINGS:
            assert b.id and b.id.startswith("serve.") and b.tooltip
        titles = {c.title for c in app.get_system_commands(screen)}
        assert {"Start/stop", "Take over", "Back"} <= titles
        assert "Serve" not in titles  # this is the serve screen: the palette offers what applies


def test_idle_times_are_short() -> None:
    assert [format_idle(s) for s in (0, 59.9, 61, 3599, 3600 + 65)] == ["0s", "59s", "1m 01s", "59m 59s", "1h 01m"]
