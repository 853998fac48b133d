"""The TUI driven by Textual's Pilot: chat screen, quick replies, inspector, restart, history,
world picker, a second person, and every binding in the command palette."""

from __future__ import annotations

from typing import Any

import pytest
from support import copy_sample, until
from support.tui import click_quick_reply, items, notifications, quick_replies, ready, send, session, shown, texts
from textual.widgets import DataTable, Input, OptionList, Static

from workbench.screens.chat import ChatScreen
from workbench.screens.conversations import ConversationsScreen, TranscriptScreen
from workbench.screens.world_picker import WorldPicker
from workbench.task import load_task
from workbench.tui.app import make_app
from workbench.widgets.transcript import Transcript

SIZE = (140, 45)


@pytest.mark.parametrize(("sample", "world"), [("echo", "echo"), ("overworld_demo", "overworld")])
async def test_opens_in_the_chat_on_the_first_world_with_the_composer_focused(tmp_path, store, sample, world) -> None:
    app = make_app(copy_sample(sample, tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, ChatScreen)
        assert app.focused is app.chat.query_one("#composer", Input)
        await ready(pilot, app, world)
        assert app.focused is app.chat.query_one("#composer", Input)
        status = shown(app.chat.query_one("#status", Static))
        assert f"conversation {session(app).conversation_id}" in status and f"world: {world}" in status
        await until(pilot, lambda: app.first_paint is not None, what="the first paint")
        assert app.first_paint > 0  # seconds from the app's creation (how fast: benchmarks/startup.py)


async def test_typing_and_enter_sends_and_the_reply_appears(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "echo")
        await send(pilot, app, "hello", "hello", type_it=True)
        composer = app.chat.query_one("#composer", Input)
        assert composer.value == ""
        entries = [i.entry for i in items(app)]
        assert [(e["role"], e["act"]["text"]) for e in entries] == [("human", "hello"), ("bot", "hello")]
        # the person's message shows as stored once its turn is acknowledged
        await until(pilot, lambda: entries[0]["stored"], what="the acknowledgement")
        label = items(app)[0].query_one("Label")
        assert "✓" in str(label.content)
        # an empty message is not sent: the next one follows the first exchange directly
        await pilot.press("enter")
        await send(pilot, app, "again", "again")
        await until(pilot, lambda: len(items(app)) == 4, what="the second echo")
        assert texts(app) == ["hello", "hello", "again", "again"]


async def test_quick_replies_are_buttons_and_clicking_one_sends_it(tmp_path, store) -> None:
    app = make_app(copy_sample("overworld_demo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "overworld")
        await until(pilot, lambda: quick_replies(app) == ["echo", "onboard data", "chat", "EXIT"], what="buttons")
        await click_quick_reply(pilot, app, "onboard data")
        await until(
            pilot, lambda: "Welcome to the onboarding world. What is your name?" in texts(app), what="onboarding"
        )
        human = [i.entry for i in items(app) if i.entry["role"] == "human"]
        assert human[-1]["act"]["text"] == "onboard data"
        assert quick_replies(app) == []  # this world offers none
        assert app.focused is app.chat.query_one("#composer", Input)
        await send(pilot, app, "Ada", "What is your favourite colour?")
        await send(pilot, app, "green", "Your name is Ada and your favourite colour is green. Back to the menu!")
        await until(pilot, lambda: session(app).world == "overworld", what="back to the menu")
        assert session(app).data == {"name": "Ada", "color": "green"}


async def test_a_new_set_of_quick_replies_replaces_the_shown_one(tmp_path, store) -> None:
    """An invalid menu choice is answered with the menu again while its buttons are still up."""
    app = make_app(copy_sample("overworld_demo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "overworld")
        await until(pilot, lambda: quick_replies(app) == ["echo", "onboard data", "chat", "EXIT"], what="buttons")
        again = "That is not one of the demos. Please pick one of the quick replies."
        for n in range(1, 4):
            await send(pilot, app, "dance", again)
            await until(pilot, lambda n=n: texts(app).count(again) == n)
            await until(
                pilot, lambda: quick_replies(app) == ["echo", "onboard data", "chat", "EXIT"], what="one set of buttons"
            )
        await click_quick_reply(pilot, app, "echo")
        await until(pilot, lambda: session(app).world == "echo", what="the echo demo")


async def test_an_ended_conversation_says_so_and_refuses_input(tmp_path, store) -> None:
    app = make_app(copy_sample("overworld_demo", tmp_path), store)
    messages: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await ready(pilot, app, "overworld")
        await click_quick_reply(pilot, app, "EXIT")
        await until(pilot, lambda: "Goodbye!" in texts(app) and session(app).closed, what="the goodbye")
        await until(pilot, lambda: "ended (ctrl+n for a new chat)" in shown(app.chat.query_one("#status", Static)))
        before = len(items(app))
        composer = app.chat.query_one("#composer", Input)
        composer.value = "anyone?"
        await pilot.press("enter")
        await until(pilot, lambda: any("has ended" in n for n in notifications(messages)), what="a notice")
        assert composer.value == "anyone?"  # kept, not lost
        assert len(items(app)) == before


async def test_inspector_shows_the_raw_json_trace_and_state(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "echo")
        await send(pilot, app, "hello", "hello")
        await until(pilot, lambda: len(items(app)) == 2)
        inspector = app.chat.query_one("Inspector")
        # the State tab: the engine state after the bot's turn
        await until(pilot, lambda: '"turns": 1' in shown(app.chat.query_one("#inspect-state", Static)), what="state")
        assert '"echo"' in shown(app.chat.query_one("#inspect-state", Static))
        # the World tab: where the person is
        world = shown(app.chat.query_one("#inspect-world", Static))
        assert '"world": "echo"' in world and '"bot_chat"' in world

        transcript = app.chat.query_one(Transcript)
        transcript.focus()
        transcript.index = 0  # highlight the person's message
        await until(pilot, lambda: '"role": "human"' in shown(app.chat.query_one("#inspect-message", Static)))
        message = shown(app.chat.query_one("#inspect-message", Static))
        assert '"text": "hello"' in message and '"trace": null' in message

        transcript.index = 1  # the bot's reply, with its trace
        await pilot.press("enter")  # selecting shows the Message tab
        await until(pilot, lambda: '"role": "bot"' in shown(app.chat.query_one("#inspect-message", Static)))
        message = shown(app.chat.query_one("#inspect-message", Static))
        assert '"engine": "echo"' in message and '"turn": 1' in message
        assert inspector.active == "tab-message"
        # F2 hides and shows the inspector
        app.chat.query_one("#composer", Input).focus()
        await pilot.press("f2")
        assert not inspector.display
        await pilot.press("f2")
        assert inspector.display


async def test_ctrl_n_restarts_the_conversation(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "echo")
        await send(pilot, app, "first", "first")
        old = session(app).conversation_id
        await pilot.press("ctrl+n")
        await until(pilot, lambda: session(app) is not None and session(app).conversation_id != old, what="a new one")
        await ready(pilot, app, "echo")
        assert texts(app) == []
        await send(pilot, app, "second", "second")
        assert store.state(session(app).conversation_id, "echo") == {"turns": 1}
        assert {c["id"] for c in store.conversations()} == {old, session(app).conversation_id}
        assert store.conversation(old)["status"] == "ended"


async def test_history_lists_conversations_and_resuming_reloads_the_transcript(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "echo")
        await send(pilot, app, "one", "one")
        await send(pilot, app, "two", "two")
        old = session(app).conversation_id
        await pilot.press("ctrl+n")
        await until(pilot, lambda: session(app).conversation_id != old, what="a new conversation")
        await send(pilot, app, "other", "other")

        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen), what="the history screen")
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        ids = [table.coordinate_to_cell_key((r, 0)).row_key.value for r in range(table.row_count)]
        assert set(ids) == {old, session(app).conversation_id}
        table.move_cursor(row=ids.index(old))
        await pilot.press("enter")  # read it first
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen), what="the transcript screen")
        await until(pilot, lambda: texts(app, app.screen) == ["one", "one", "two", "two"], what="stored messages")
        await pilot.press("r")  # and resume it
        await until(pilot, lambda: isinstance(app.screen, ChatScreen), what="back in the chat")
        await until(pilot, lambda: session(app) is not None and session(app).conversation_id == old, what="resumed")
        await ready(pilot, app, "echo")
        await until(pilot, lambda: texts(app) == ["one", "one", "two", "two"], what="the reloaded transcript")
        await send(pilot, app, "three", "three")
        assert store.state(old, "echo") == {"turns": 3}
        # Esc on the history screen goes back without changing anything
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert session(app).conversation_id == old


async def test_world_picker_starts_a_conversation_in_the_chosen_world(tmp_path, store) -> None:
    app = make_app(copy_sample("overworld_demo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "overworld")
        old = session(app).conversation_id
        await pilot.press("ctrl+w")
        await until(pilot, lambda: isinstance(app.screen, WorldPicker), what="the world picker")
        options = app.screen.query_one(OptionList)
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert names == list(app.wb_task.worlds)
        options.highlighted = names.index("onboard data")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChatScreen))
        await until(pilot, lambda: session(app).conversation_id != old, what="a new conversation")
        # the chosen world, its onboarding first
        await until(pilot, lambda: "Welcome to the onboarding world. What is your name?" in texts(app))
        assert "Welcome to the overworld demo. Pick a demo from the quick replies." not in texts(app)
        # Esc closes the picker without a new conversation
        current = session(app).conversation_id
        await pilot.press("ctrl+w")
        await until(pilot, lambda: isinstance(app.screen, WorldPicker))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert session(app).conversation_id == current


async def test_a_second_person_pairs_in_the_chat_world(tmp_path, store) -> None:
    app = make_app(copy_sample("overworld_demo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "overworld")
        await send(pilot, app, "chat", "Waiting for other people to join...")
        first = app.chat.people[0]
        await pilot.press("ctrl+t")
        await until(pilot, lambda: len(app.chat.people) == 2 and session(app) is not None, what="a second person")
        await ready(pilot, app, "overworld")
        assert app.chat.current == 1
        assert "you are person 2 of 2" in shown(app.chat.query_one("#status", Static))
        await until(pilot, lambda: "chat" in quick_replies(app), what="the second person's menu")
        await click_quick_reply(pilot, app, "chat")
        await until(pilot, lambda: "You are connected. Say hello!" in texts(app), what="the pairing")
        second = app.chat.person
        assert first.session.world == second.session.world == "chat"
        assert first.session.world_instance == second.session.world_instance
        await send(pilot, app, "hi there", "hi there")
        await until(
            pilot, lambda: any(e["act"].get("text") == "hi there" and e["role"] != "human" for e in first.entries)
        )
        # F3 shows the first person's side
        app.chat.query_one("#composer", Input).focus()
        await pilot.press("f3")
        assert app.chat.person is first
        await until(pilot, lambda: "hi there" in texts(app) and "You are connected. Say hello!" in texts(app))


async def test_every_binding_is_a_palette_command(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "echo")

        def titles(screen) -> dict[str, Any]:
            return {c.title: c for c in app.get_system_commands(screen)}

        def check(screen) -> None:
            have = titles(screen)
            # every binding that applies here (the echo task has no table, knowledge base or form)
            applies = [b for b in screen.BINDINGS if screen.check_action(b.action, ()) is not False]
            missing = [b.description for b in applies if b.description not in have and not b.action.endswith("quit")]
            assert missing == [], f"{type(screen).__name__} bindings missing from the palette: {missing}"

        check(app.chat)
        # a palette command runs its action: "New chat" restarts
        old = session(app).conversation_id
        app.call_later(titles(app.chat)["New chat"].callback)  # as the palette runs it
        await until(pilot, lambda: session(app) is not None and session(app).conversation_id != old, what="restart")

        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen))
        check(app.screen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        check(app.screen)
        await pilot.press("escape")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChatScreen))
        await pilot.press("ctrl+w")
        await until(pilot, lambda: isinstance(app.screen, WorldPicker))
        check(app.screen)
        await pilot.press("escape")


async def test_a_conversation_id_given_at_start_is_resumed(tmp_path, store) -> None:
    task = load_task(copy_sample("echo", tmp_path))
    app = make_app(task, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "echo")
        await send(pilot, app, "kept", "kept")
        cid = session(app).conversation_id
    again = make_app(task, store, conversation_id=cid)
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot, again, "echo")
        assert session(again).conversation_id == cid
        await until(pilot, lambda: texts(again) == ["kept", "kept"], what="the stored transcript")
