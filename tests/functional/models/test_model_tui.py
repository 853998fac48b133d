"""Model bots in the TUI (Pilot): a reply streams into the transcript and settles on the stored
message; Esc stops it; ctrl+r regenerates the last reply (the earlier one kept, marked); F4
changes the system prompt and parameters for this conversation; the inspector's Model tab shows
the settings, the prompt as sent and the turn's figures; a real tiny model streams and stops."""

from __future__ import annotations

import time
from pathlib import Path

from support import until, write_task
from support.openai_double import OpenAIDouble, Reply
from support.tui import notifications, ready, shown, texts
from textual.widgets import Input, Static, TextArea

from workbench.engines.streaming import ReplyStream
from workbench.screens.chat import ChatScreen
from workbench.screens.model_settings import ModelSettingsScreen
from workbench.tui.app import make_app
from workbench.widgets.model_panel import ModelPanel
from workbench.widgets.transcript import StreamingItem

SIZE = (120, 40)

TASK = """
name: assistant
bots:
  assistant:
    engine: openai
    base_url: {url}
    model: double-model
    system_prompt: Be brief.
    greeting: Ask me.
worlds:
  chat: {{type: bot_chat, bot: assistant}}
"""


def app_for(tmp_path: Path, double: OpenAIDouble, store) -> object:
    return make_app(write_task(tmp_path / "task", TASK.format(url=double.base_url)), store)


def streamed(app) -> list[StreamingItem]:
    return list(app.chat.query(StreamingItem))


def stored_bot_rows(app) -> list[dict]:
    cid = app.chat.person.session.conversation_id
    return [r for r in app.runner.store.messages(cid) if r["role"] == "bot" and r["text"] != "Ask me."]


async def type_and_send(pilot, app, text: str) -> None:
    composer = app.chat.query_one("#composer", Input)
    composer.focus()
    composer.value = text
    await pilot.press("enter")


async def test_a_reply_streams_into_the_transcript_then_settles(tmp_path, store, openai_double) -> None:
    openai_double.script(Reply(hold_after=2))
    app = app_for(tmp_path, openai_double, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "chat")
        await until(pilot, lambda: "Ask me." in texts(app), what="the greeting")
        await type_and_send(pilot, app, "hi")
        await until(pilot, lambda: streamed(app) and streamed(app)[-1].text == "Hello from", what="the first tokens")
        item = streamed(app)[-1]
        assert item.entry.get("streaming") and "generating" in shown(item._label)
        assert app.chat.check_action("cancel_generation", ()) is True  # Esc stops it now
        openai_double.release()
        await until(pilot, lambda: texts(app)[-1] == "Hello from the double.", what="the final message")
        assert item.text == "Hello from the double." and not item.entry.get("streaming")
        assert item.entry["stored"] and item.entry["trace"]["figures"]["tokens_out"] == 5
        assert app.chat.check_action("cancel_generation", ()) is False  # Esc focuses the composer again


async def test_escape_stops_the_reply_and_the_chat_goes_on(tmp_path, store, openai_double) -> None:
    openai_double.script(Reply(hold_after=2), Reply(tokens=["Fine", "."]))
    app = app_for(tmp_path, openai_double, store)
    async with app.run_test(size=SIZE, message_hook=(seen := []).append) as pilot:
        await ready(pilot, app, "chat")
        await type_and_send(pilot, app, "hi")
        await until(pilot, lambda: streamed(app) and streamed(app)[-1].text == "Hello from", what="the first tokens")
        await pilot.press("escape")
        await until(pilot, lambda: stored_bot_rows(app), what="the stopped reply stored")
        row = stored_bot_rows(app)[-1]
        assert row["text"] == "Hello from" and row["act"]["meta"]["cancelled"] is True
        assert row["trace"]["cancelled"] == "developer"
        await until(pilot, lambda: "stopped" in shown(streamed(app)[-1]._label), what="the item marked stopped")
        assert "Stopping the reply" in notifications(seen)
        await until(
            pilot, lambda: openai_double.requests[0]["closed_early"], what="the server to see the stream closed"
        )
        await type_and_send(pilot, app, "and now?")
        await until(pilot, lambda: texts(app)[-1] == "Fine.", what="the next reply")


async def test_ctrl_r_regenerates_and_keeps_the_earlier_reply(tmp_path, store, openai_double) -> None:
    openai_double.script(Reply(tokens=["First", "."]), Reply(tokens=["Second", "."]))
    app = app_for(tmp_path, openai_double, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "chat")
        await type_and_send(pilot, app, "hi")
        await until(pilot, lambda: texts(app)[-1] == "First.", what="the reply")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: texts(app)[-1] == "Second.", what="the regenerated reply")
        first, second = streamed(app)[-2:]
        assert first.entry.get("alternative") and "replaced" in shown(first._label)
        assert "regenerated" in shown(second._label)
        # the same question was asked again, without the replaced answer
        assert openai_double.requests[1]["body"]["messages"] == openai_double.requests[0]["body"]["messages"]
        state = app.runner.bot_state(app.chat.person.session.conversation_id, "assistant")
        assert state["alternatives"][0]["content"] == "First."


async def test_f4_changes_the_system_prompt_and_parameters_of_this_conversation(tmp_path, store, openai_double) -> None:
    app = app_for(tmp_path, openai_double, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "chat")
        await until(pilot, lambda: "Ask me." in texts(app), what="the greeting")
        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, ModelSettingsScreen), what="the settings")
        screen = app.screen
        assert screen.query_one("#model-system-prompt", TextArea).text == "Be brief."
        screen.query_one("#model-params", TextArea).text = "temperature: 9"
        await pilot.click("#model-settings-save")
        await until(
            pilot, lambda: "less than or equal to 2" in shown(screen.query_one("#model-settings-error", Static))
        )
        assert isinstance(app.screen, ModelSettingsScreen)  # a bad value keeps the screen open
        screen.query_one("#model-system-prompt", TextArea).text = "Answer in French."
        screen.query_one("#model-params", TextArea).text = "temperature: 0.1\ntop_k: 3"
        openai_double.allowed_extra = {"top_k"}
        await pilot.press("ctrl+y")  # the binding saves too
        await until(pilot, lambda: isinstance(app.screen, ChatScreen), what="back to the chat")
        cid = app.chat.person.session.conversation_id
        await until(pilot, lambda: (app.runner.bot_state(cid, "assistant") or {}).get("settings"), what="stored")
        await type_and_send(pilot, app, "hi")
        await until(pilot, lambda: texts(app)[-1] == "Hello from the double.", what="the reply")
        body = openai_double.requests[-1]["body"]
        assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
        assert body["temperature"] == 0.1 and body["top_k"] == 3


async def test_the_inspector_shows_settings_prompt_and_figures(tmp_path, store, openai_double) -> None:
    app = app_for(tmp_path, openai_double, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "chat")
        await until(pilot, lambda: app.chat.query(ModelPanel), what="the Model tab")
        panel = app.chat.query_one(ModelPanel)
        await until(pilot, lambda: panel.view is not None, what="the settings")
        assert "double-model" in shown(panel.query_one("#mp-settings", Static))
        await type_and_send(pilot, app, "hi")
        await until(pilot, lambda: (panel.view or {}).get("trace") and "figures" in panel.view["trace"], what="figures")
        turn = shown(panel.query_one("#mp-turn", Static))
        assert "first token" in turn and "tokens/s" in turn and "in " in turn and "out 5" in turn
        assert "token counts reported" in turn
        prompt = shown(panel.query_one("#mp-prompt", Static))
        assert "system: Be brief." in prompt and "user: hi" in prompt


async def test_a_tiny_local_model_streams_and_escape_stops_it(tmp_path, store, tiny_models, monkeypatch) -> None:
    # a warm tiny model writes a thousand words in well under a second: pace it (5 ms a word,
    # in the generating thread) so the test's Esc lands while it writes
    write = ReplyStream.write

    def paced(self: ReplyStream, delta: str) -> None:
        time.sleep(0.005)
        write(self, delta)

    monkeypatch.setattr(ReplyStream, "write", paced)
    root = write_task(
        tmp_path / "tiny",
        f"""
        name: tiny
        bots:
          babbler:
            engine: transformers
            model: {tiny_models["causal"]}
            params: {{max_tokens: 1000, min_new_tokens: 1000, temperature: 1.0, seed: 5}}  # no end before Esc
        worlds:
          chat: {{type: bot_chat, bot: babbler}}
        """,
    )
    app = make_app(root, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "chat")
        pieces: list[str] = []
        app.runner.subscribe(lambda ev: pieces.append(ev.fields["delta"]) if ev.kind == "delta" else None)
        await type_and_send(pilot, app, "hello")
        await until(pilot, lambda: pieces, 60, "the first words")
        await pilot.press("escape")
        await until(pilot, lambda: stored_bot_rows(app), 30, "the stopped reply stored")
        row = stored_bot_rows(app)[-1]
        assert row["act"]["meta"]["cancelled"] is True and row["trace"]["figures"]["tokens_out"] < 1000
        await until(pilot, lambda: streamed(app) and streamed(app)[-1].text == row["text"], what="the item settled")
