"""The chat a newcomer meets (issue 14, points 0-2): usable fast, readable at 80x24, discoverable.

Point 0's figure is measured by benchmarks/startup.py; here, what "first usable" means: the
moment is noted once the world waits for the person with its greeting in the transcript."""

from __future__ import annotations

from typing import Any

import pytest
from support import copy_sample, until
from support.tui import items, quick_replies, ready, screen_lines, send, session, shown, texts
from textual.widgets import Footer, Input, Static
from textual.widgets._footer import FooterKey

from workbench.tui.app import make_app
from workbench.widgets.inspector import Inspector
from workbench.widgets.slot_panel import SlotPanel
from workbench.widgets.state_panel import StatePanel
from workbench.widgets.transcript import Transcript

NARROW = (80, 24)
WIDE = (160, 48)


# -- 0: first usable ------------------------------------------------------------------------------


async def test_first_usable_is_noted_when_the_greeting_can_be_answered(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    seen_then: list[list[str]] = []
    original = app._usable

    def noted() -> None:
        if app.first_usable is None:  # the call that notes it (a second one may be queued behind)
            seen_then.append(texts(app))
        original()

    app._usable = noted  # what the transcript held at the moment "first usable" was noted
    async with app.run_test(size=NARROW) as pilot:
        await until(pilot, lambda: app.first_usable is not None, what="first usable")
        assert app.first_paint is not None and app.first_usable >= app.first_paint
        assert session(app).waiting
        assert len(seen_then) == 1 and seen_then[0][0].startswith("Hello and welcome to our customer service chat")


# -- 1: readable at 80x24 ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_the_inspector_stacks_under_the_chat_when_narrow(tmp_path, store, size) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=size) as pilot:
        await ready(pilot, app, "echo")
        await pilot.pause()
        transcript = app.chat.query_one(Transcript).region
        inspector = app.chat.query_one(Inspector).region
        if size == NARROW:
            assert inspector.y >= transcript.bottom and inspector.width == size[0]
        else:
            assert inspector.x >= transcript.right and inspector.y < transcript.bottom
        # F2 hides it: the chat takes its room
        await pilot.press("f2")
        await pilot.pause()
        assert not app.chat.query_one(Inspector).display


def _single_letters(lines: list[str]) -> list[str]:
    """Lines that hold one letter and nothing else (a word broken down a column)."""
    return [line for line in lines if len(line.strip(" │▊▎▏▔▁━╸╺")) == 1 and line.strip(" │▊")[:1].isalpha()]


async def test_the_slot_panel_reads_at_80_columns(tmp_path, store) -> None:
    app = make_app(copy_sample("restaurant", tmp_path), store)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot, app, "booking")
        await send(pilot, app, "I want to book a table for two tonight", "What price range?")
        panel = app.chat.query_one(SlotPanel)
        await until(pilot, lambda: panel.view is not None and panel.view.slots.requested_slot == "price")
        await pilot.pause()
        lines = screen_lines(app)
        assert any("▶ price" in line for line in lines), lines
        assert any("required by the form" in line for line in lines), lines
        assert not _single_letters(lines), lines


async def test_table_candidates_and_quick_replies_read_at_80_columns(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot, app, "help")
        await send(pilot, app, "I have a problem with my account", "What seems to be the problem exactly?")
        panel = app.chat.query_one(StatePanel)
        await until(pilot, lambda: panel.view is not None and panel.view.turn == 1)
        # every quick reply is a whole button on the screen, on as many rows as they need
        await until(pilot, lambda: len(quick_replies(app)) == 5)
        await pilot.pause()
        buttons = list(app.chat.query("#quick-replies Button"))
        for b in buttons:
            assert b.region.area > 0 and b.region.right <= NARROW[0], (str(b.label), b.region)
        assert len({b.region.y for b in buttons}) >= 2  # wrapped onto a second row
        # the candidates: a state's name is never broken into pieces
        panel.scroll_to_widget(panel.query_one("#sp-candidates"), animate=False)
        await pilot.pause()
        lines = screen_lines(app)
        assert any("further_details_access_question" in line and "█" in line for line in lines), lines
        assert not _single_letters(lines), lines


@pytest.mark.parametrize("sample", ["restaurant", "helpdesk"])
async def test_the_footer_keeps_quit_in_view_at_80_columns(tmp_path, store, sample) -> None:
    app = make_app(copy_sample(sample, tmp_path), store)
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot, app)
        await pilot.pause()
        footer = app.chat.query_one(Footer)
        quit_key = next(k for k in footer.query(FooterKey) if k.key == "ctrl+q")
        assert quit_key.region.area > 0 and quit_key.region.right <= NARROW[0]
        assert "Quit" in screen_lines(app)[-1]


# -- 2: discoverable ----------------------------------------------------------------------------------


def _footer_keys(app: Any) -> set[str]:
    return {k.key for k in app.chat.query_one(Footer).query(FooterKey)}


@pytest.mark.parametrize(
    ("sample", "present", "absent"),
    [
        ("helpdesk", {"ctrl+s", "ctrl+d", "ctrl+b", "f6", "ctrl+q"}, {"f7", "f8", "f9"}),
        ("restaurant", {"ctrl+s", "f7", "ctrl+q"}, {"ctrl+d", "ctrl+b", "f6"}),
        ("echo", {"ctrl+s", "ctrl+q", "ctrl+n"}, {"ctrl+d", "ctrl+b", "f6", "f7"}),
        ("bot_eval", {"f8", "f9"}, {"f7"}),
    ],
)
async def test_the_footer_shows_the_keys_that_apply(tmp_path, store, sample, present, absent) -> None:
    app = make_app(copy_sample(sample, tmp_path), store)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot, app)
        await pilot.pause()
        keys = _footer_keys(app)
        assert present <= keys and not (absent & keys), keys


async def test_the_palette_shows_keys_and_offers_only_what_applies(tmp_path, store) -> None:
    echo = make_app(copy_sample("echo", tmp_path), store)
    async with echo.run_test(size=WIDE) as pilot:
        await ready(pilot, echo, "echo")
        commands = {c.title: c for c in echo.get_system_commands(echo.chat)}
        assert not {"Set slot", "Tables", "Knowledge", "Add to KB", "Rate", "Study"} & set(commands)
        assert commands["New chat"].help.startswith("ctrl+n · ")
        assert commands["Inspector"].help.startswith("F2 · ")
        assert commands["Serve"].help.startswith("ctrl+s · ")
    restaurant = make_app(copy_sample("restaurant", tmp_path), store)
    async with restaurant.run_test(size=WIDE) as pilot:
        await ready(pilot, restaurant, "booking")
        commands = {c.title: c for c in restaurant.get_system_commands(restaurant.chat)}
        assert commands["Set slot"].help.startswith("F7 · ")


async def test_focus_is_visible(tmp_path, store) -> None:
    app = make_app(copy_sample("overworld_demo", tmp_path), store)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot, app, "overworld")
        await until(pilot, lambda: len(quick_replies(app)) == 4)
        transcript = app.chat.query_one(Transcript)
        blurred = transcript.styles.border_top
        transcript.focus()
        await pilot.pause()
        assert transcript.styles.border_top != blurred
        button = app.chat.query("#quick-replies Button").first()
        before = button.styles.background
        button.focus()
        await pilot.pause()
        assert button.styles.background != before


async def test_highlighting_a_message_shows_its_json_at_once_and_json_wraps(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    long = "word " * 60 + "THE-END"
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot, app, "echo")
        await send(pilot, app, long, "THE-END")
        await until(pilot, lambda: len(items(app)) == 2)
        inspector = app.chat.query_one(Inspector)
        assert inspector.active != "tab-message"
        transcript = app.chat.query_one(Transcript)
        transcript.focus()
        await pilot.press("down")  # highlight, no Enter
        await until(pilot, lambda: inspector.active == "tab-message", what="the message tab")
        await pilot.pause()
        lines = screen_lines(app)
        # the long text wraps inside the inspector: its end is on the screen, not cut off
        inspector_side = [line.split("▊", 1)[1] for line in lines if "▊" in line]
        assert any("THE-END" in line for line in inspector_side), lines


async def test_a_new_conversation_clears_the_inspector(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot, app, "echo")
        await send(pilot, app, "remember me", "remember me")
        app.chat.query_one(Transcript).focus()
        await pilot.press("down")
        message = app.chat.query_one("#inspect-message", Static)
        await until(pilot, lambda: "remember me" in shown(message), what="the message's JSON")
        old = session(app).conversation_id
        await pilot.press("ctrl+n")
        await until(pilot, lambda: session(app) is not None and session(app).conversation_id != old)
        assert "remember me" not in shown(message)
        assert "select a message" in shown(message)


async def test_speaker_labels_are_consistent_for_two_people(tmp_path, store) -> None:
    app = make_app(copy_sample("overworld_demo", tmp_path), store)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot, app, "overworld")
        await send(pilot, app, "chat", "Waiting for other people to join...")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: len(app.chat.people) == 2 and session(app) is not None)
        await ready(pilot, app, "overworld")
        status = app.chat.query_one("#status", Static)
        assert "you are person 2 of 2" in shown(status)
        await until(pilot, lambda: "chat" in quick_replies(app))
        await send(pilot, app, "chat", "You are connected. Say hello!")
        await send(pilot, app, "hi there", "hi there")
        # your own messages are "you" in your transcript, whatever id the world gave them
        own = [i for i in items(app) if i.entry["role"] == "human"]
        assert own and all(str(i._label.content).startswith("you: ") for i in own)
        app.chat.query_one("#composer", Input).focus()
        await pilot.press("f3")
        await until(pilot, lambda: "you are person 1 of 2" in shown(status))
        own = [i for i in items(app) if i.entry["role"] == "human"]
        assert own and all(str(i._label.content).startswith("you: ") for i in own)
        assert "you are you" not in shown(status)


async def test_quick_replies_are_shown_once(tmp_path, store) -> None:
    app = make_app(copy_sample("restaurant", tmp_path), store)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot, app, "booking")
        await send(pilot, app, "I'm looking for a restaurant", "What price range?")
        await until(pilot, lambda: quick_replies(app) == ["low", "medium", "high"])
        asked = next(i for i in items(app) if i.entry["act"].get("text") == "What price range?")
        assert "[low]" not in str(asked._label.content)
