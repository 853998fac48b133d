"""Streaming through the runtime with a real tiny model and a real SQLite store: deltas as events,
then one committed message; a developer's cancel, a closed conversation; regenerating the last
reply; per-conversation settings; an engine that ignores a cancel is left behind."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from support import Person, wait_for, write_task

from workbench.engines.base import Context, Engine, Turn
from workbench.engines.streaming import ReplyStream
from workbench.message import Message
from workbench.runtime import agents
from workbench.runtime.agents import BotAgent
from workbench.runtime.runner import Runner
from workbench.runtime.session import Session
from workbench.store import open_store
from workbench.task import load_task

TASK = """
name: babble
bots:
  babbler:
    engine: transformers
    model: {model}
    greeting: I babble.
    system_prompt: Be kind.
    params: {{max_tokens: {max_tokens}, min_new_tokens: {least}, temperature: 1.0, seed: 4}}
worlds:
  chat: {{type: bot_chat, bot: babbler}}
"""


async def start(tmp_path: Path, model: Path, max_tokens: int = 10) -> tuple[Runner, Person, list[Any]]:
    root = write_task(
        tmp_path / "task", TASK.format(model=model, max_tokens=max_tokens, least=max_tokens if max_tokens > 100 else 1)
    )
    task = load_task(root)
    store = open_store(tmp_path / "wb.db")
    task.use_store(store)
    runner = Runner(task, store)
    events: list[Any] = []
    runner.subscribe(events.append)
    person = Person()
    person.session = await runner.connect(person.deliver)
    assert await runner.wait_idle(timeout=10)
    return runner, person, events


def bot_rows(runner: Runner, person: Person) -> list[dict]:
    return [r for r in runner.store.messages(person.session.conversation_id) if r["role"] == "bot"]


async def test_deltas_come_as_events_then_the_final_message_is_committed(tmp_path, tiny_models) -> None:
    runner, person, events = await start(tmp_path, tiny_models["causal"])
    try:
        person.put("hello")
        assert await runner.wait_idle(timeout=60)
        kinds = [e.kind for e in events]
        first_delta, committed = kinds.index("delta"), kinds.index("acknowledged")
        assert first_delta < committed  # the reply streamed before its turn was stored
        deltas = [e.fields["delta"] for e in events if e.kind == "delta"]
        reply = person.received[-1]
        assert "".join(deltas).strip() == reply.text.strip() and reply.text.strip()
        stream = {e.fields["stream"] for e in events if e.kind == "delta"}
        assert stream == {reply["meta"]["stream"]}
        row = bot_rows(runner, person)[-1]
        assert row["text"] == reply.text and row["trace"]["figures"]["tokens_out"] == 10
        assert not runner.generating(person.session.conversation_id)
    finally:
        await runner.stop()


async def test_a_developer_cancels_and_the_conversation_goes_on(tmp_path, tiny_models) -> None:
    runner, person, events = await start(tmp_path, tiny_models["causal"], max_tokens=500)
    cid = person.session.conversation_id
    # cancel as the first piece arrives (the listener runs on the loop, as the TUI's does)
    runner.subscribe(lambda ev: runner.cancel_generation(cid) if ev.kind == "delta" else None)
    try:
        person.put("hello")
        assert await runner.wait_idle(timeout=60)
        row = bot_rows(runner, person)[-1]
        assert row["act"]["meta"]["cancelled"] is True and row["trace"]["cancelled"] == "developer"
        assert row["trace"]["figures"]["tokens_out"] < 500  # stopped before the end
        assert person.received[-1].text == row["text"]
    finally:
        await runner.stop()


async def test_a_closed_conversation_cancels_its_reply_and_stores_it_as_cancelled(tmp_path, tiny_models) -> None:
    runner, person, events = await start(tmp_path, tiny_models["causal"], max_tokens=500)
    closed: list[bool] = []

    def close_on_first_delta(ev: Any) -> None:
        if ev.kind == "delta" and not closed:
            closed.append(True)
            person.session.close()

    runner.subscribe(close_on_first_delta)
    try:
        person.put("hello")
        await wait_for(lambda: any(e.kind == "session_end" for e in events), 60, "the conversation to end")
        row = bot_rows(runner, person)[-1]
        assert row["act"]["meta"]["cancelled"] is True and row["trace"]["cancelled"] == "closed"
    finally:
        await runner.stop()


async def test_regenerating_keeps_the_earlier_reply_as_an_alternative(tmp_path, tiny_models) -> None:
    runner, person, events = await start(tmp_path, tiny_models["causal"])
    cid = person.session.conversation_id
    try:
        person.put("hello")
        assert await runner.wait_idle(timeout=60)
        first = person.received[-1].text
        # a new seed for this conversation, so the new reply differs
        engine = runner.task.engine("babbler")
        state = engine.with_settings(runner.bot_state(cid, "babbler"), None, {"seed": 11, "temperature": 1.0})
        await runner.set_bot_state(cid, "babbler", state)
        replies = await asyncio.wait_for(runner.regenerate(cid), 60)
        assert len(replies) == 1 and replies[0]["meta"]["regenerated"] is True
        assert person.received[-1].text == replies[0].text != first
        rows = bot_rows(runner, person)
        assert [r["text"] for r in rows[-2:]] == [first, replies[0].text]  # both stay in the conversation
        state = runner.bot_state(cid, "babbler")
        assert state["alternatives"] == [{"at": 0, "question": "hello", "content": first}]
        assert [m["content"] for m in state["history"]] == ["hello", replies[0].text]
        prompt = rows[-1]["trace"]["prompt"]
        assert first not in prompt and prompt.endswith("<|user|> hello </s> <|assistant|>")
    finally:
        await runner.stop()


async def test_regenerating_with_nothing_to_redo_returns_nothing(tmp_path, tiny_models) -> None:
    runner, person, _ = await start(tmp_path, tiny_models["causal"])
    try:
        assert await runner.regenerate(person.session.conversation_id) == []
    finally:
        await runner.stop()


async def test_a_conversations_own_system_prompt_is_sent_from_the_next_turn(tmp_path, tiny_models) -> None:
    runner, person, _ = await start(tmp_path, tiny_models["causal"])
    cid = person.session.conversation_id
    try:
        engine = runner.task.engine("babbler")
        state = engine.with_settings(runner.bot_state(cid, "babbler"), "Talk like a pirate.", {"max_tokens": 3})
        assert await runner.set_bot_state(cid, "babbler", state)
        person.put("hello")
        assert await runner.wait_idle(timeout=60)
        row = bot_rows(runner, person)[-1]
        assert row["trace"]["prompt"].startswith("<|system|> Talk like a pirate. </s>")
        assert row["trace"]["params"]["max_tokens"] == 3 and row["trace"]["figures"]["tokens_out"] == 3
        settings = engine.settings(runner.bot_state(cid, "babbler"))
        assert settings["system_prompt"] == "Talk like a pirate." and settings["this_conversation"]
    finally:
        await runner.stop()


class Stubborn(Engine):
    """Streams one piece, then ignores being cancelled."""

    name = "stubborn"

    async def stream(self, state: dict, message: Message, context: Context, out: ReplyStream) -> Turn:
        out.write("partial")
        await asyncio.sleep(3600)
        return Turn([Message(text="never")], state, {})

    async def step(self, state: dict, message: Message, context: Context) -> Turn:
        return await self.stream(state, message, context, ReplyStream())


async def test_an_engine_that_ignores_a_cancel_is_left_behind(monkeypatch) -> None:
    monkeypatch.setattr(agents, "STOP_GRACE", 0.2)
    session = Session(None, "c1", "you", "test", None)
    bot = BotAgent(Stubborn(), "stubborn", session)
    assert bot.streams
    answer = asyncio.ensure_future(bot.respond(Message(text="hi")))
    await wait_for(lambda: session.generation is not None and session.generation.text == "partial")
    assert session.cancel_generation("developer")
    replies = await asyncio.wait_for(answer, 5)
    assert replies[0].text == "partial" and replies[0]["meta"]["cancelled"] is True
    assert session.generation is None
