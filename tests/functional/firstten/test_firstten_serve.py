"""The serve screen (issue 14, point 3): the log follows its newest line, a watched conversation
and its title wrap instead of being cut, and take-over says at once when there is no bot."""

from __future__ import annotations

from typing import Any

from support import Person, copy_sample, free_port, until
from support.tui import notifications, open_serve, start_serving, transcript_texts
from textual.widgets import Static

from workbench.tui.app import make_app
from workbench.widgets.server_log import ServerLog
from workbench.widgets.transcript import MessageItem, Transcript

SIZE = (100, 30)


async def test_the_log_follows_new_lines_until_the_reader_scrolls_up(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_serve(pilot, app, free_port())
        await start_serving(pilot, screen)
        log = screen.query_one(ServerLog)
        for i in range(40):
            log.add("info", f"line {i}")
        await until(pilot, lambda: log.max_scroll_y > 0 and log.scroll_offset.y == log.max_scroll_y, what="the end")
        # the reader scrolls up to read: new lines do not pull the view away
        log.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        log.add("info", "one more")
        await pilot.pause()
        assert log.scroll_offset.y == 0 and not log.following
        # back at the end, it follows again
        log.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        log.add("info", "and another")
        await until(pilot, lambda: log.scroll_offset.y == log.max_scroll_y, what="following again")


async def test_a_watched_conversation_and_its_title_wrap(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    long = "a long message " * 20 + "THE-END"
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await open_serve(pilot, app, free_port())
        await start_serving(pilot, screen)
        ada = Person()
        ada.session = await screen.live.runner.connect(
            ada.deliver, person="ada with a rather long name", channel="test"
        )
        await screen.open(ada.session.conversation_id)
        ada.session.put(long)
        await until(pilot, lambda: transcript_texts(screen) == [long, long], what="the echo")
        await pilot.pause()
        transcript = screen.query_one(Transcript)
        for item in transcript.query(MessageItem):
            label = item.query_one("Label")
            assert label.region.right <= transcript.region.right and label.region.height > 1
        title = screen.query_one("#serve-title", Static)
        assert "ada with a rather long name" in str(title.content)
        assert title.region.height > 1 and title.region.right <= 80


async def test_take_over_says_at_once_when_the_task_has_no_bot_world(tmp_path, store) -> None:
    app = make_app(copy_sample("overworld_demo", tmp_path), store)
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        screen = await open_serve(pilot, app, free_port())
        await start_serving(pilot, screen)
        ada = Person()
        ada.session = await screen.live.runner.connect(ada.deliver, person="ada", channel="test")
        await screen.open(ada.session.conversation_id)
        await pilot.press("f6")
        await until(pilot, lambda: any("no bot_chat world" in n for n in notifications(messages)), what="the notice")
        assert ada.session.takeover is None  # nothing installed that would wait for a bot world
