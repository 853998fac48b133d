"""Model bots over the websocket (a real server on 127.0.0.1, a tiny random model): a client that
asks for streams gets delta frames then the final message naming its stream; a ParlAI client
gets exactly one message per reply; `{"cancel": true}` and a closed socket stop the generation,
stored as cancelled; with outgoing safety rules only the checked final message is sent."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support import wait_for, write_task
from support.openai_double import Reply
from support.servers import connect

from workbench.engines.streaming import ReplyStream
from workbench.services.websocket_frames import SERVER_FRAMES

TASK = """
name: babble
bots:
  babbler:
    engine: transformers
    model: {model}
    params: {{max_tokens: {max_tokens}, min_new_tokens: {least}, temperature: 1.0, seed: 3}}
worlds:
  chat: {{type: bot_chat, bot: babbler}}
"""


def documented(frame: dict) -> bool:
    for model in SERVER_FRAMES:
        try:
            model.model_validate(frame)
        except ValueError:
            continue
        return True
    return False


@pytest.fixture
def paced(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm tiny model writes hundreds of words in well under a second: pace it (5 ms a word,
    in the generating thread) so that a client's cancel lands while it writes."""
    write = ReplyStream.write

    def slower(self: ReplyStream, delta: str) -> None:
        time.sleep(0.005)
        write(self, delta)

    monkeypatch.setattr(ReplyStream, "write", slower)


def is_delta(frame: dict) -> bool:
    return isinstance(frame.get("stream"), dict) and "delta" in frame["stream"]


def is_final(frame: dict) -> bool:
    return isinstance(frame.get("stream"), dict) and "end" in frame["stream"]


def task(tmp_path: Path, model: Path, max_tokens: int = 12) -> Path:
    return write_task(
        tmp_path / "task", TASK.format(model=model, max_tokens=max_tokens, least=max_tokens if max_tokens > 100 else 1)
    )


def bot_rows(server, cid: str) -> list[dict]:
    return [r for r in server.store.messages(cid) if r["role"] == "bot"]


async def test_a_client_that_asks_gets_deltas_then_the_final_message(serve, tmp_path, tiny_models) -> None:
    server = await serve(task(tmp_path, tiny_models["causal"]))
    async with connect(server.ws_url) as client:
        hello = await client.hello(stream=True)
        assert hello["stream"] is True
        await client.send({"text": "hello"})
        final = await client.until(is_final, 60, "the final message")
        deltas = [f for f in client.frames if is_delta(f)]
        assert deltas, "no delta frames"
        assert {f["stream"]["id"] for f in deltas} == {final["stream"]["id"]}
        assert all(f["text"] == "" and f["id"] == "babbler" for f in deltas)
        assert "".join(f["stream"]["delta"] for f in deltas).strip() == final["text"].strip() != ""
        assert final["stream"]["end"] == "done" and final["id"] == "babbler" and final["quick_replies"] is None
        assert all(documented(f) for f in client.frames), [f for f in client.frames if not documented(f)]


async def test_a_parlai_client_gets_exactly_one_message_per_reply(serve, tmp_path, tiny_models) -> None:
    server = await serve(task(tmp_path, tiny_models["causal"]))
    async with connect(server.ws_url) as client:
        await client.send({"text": ""})  # ParlAI's clients start with a frame of their own
        await wait_for(lambda: len(server.runner.sessions) == 1, what="the conversation")
        cid = next(iter(server.runner.sessions))
        for n, text in enumerate(["hello", "and again"], start=1):
            await client.send({"text": text})
            await client.until(lambda f: f.get("id") == "babbler", 60, "the reply")
            await wait_for(lambda n=n: len(bot_rows(server, cid)) == n, 10, "the reply stored")
        replies = [f for f in client.frames if f.get("id") == "babbler"]
        assert [f["text"] for f in replies] == [r["text"] for r in bot_rows(server, cid)]
        assert all(set(f) == {"text", "quick_replies", "id"} for f in replies), replies


async def test_a_cancel_frame_stops_the_reply_and_it_is_stored_as_cancelled(
    serve, tmp_path, tiny_models, paced
) -> None:
    server = await serve(task(tmp_path, tiny_models["causal"], max_tokens=600))
    async with connect(server.ws_url) as client:
        cid = (await client.hello(stream=True))["session"]
        await client.send({"text": "hello"})
        await client.until(is_delta, 60, "a first delta")
        await client.send({"cancel": True})
        final = await client.until(is_final, 30, "the final message")
        assert final["stream"]["end"] == "cancelled"
        row = bot_rows(server, cid)[-1]
        assert row["act"]["meta"]["cancelled"] is True and row["trace"]["cancelled"] == "person"
        assert row["text"] == final["text"] and row["trace"]["figures"]["tokens_out"] < 600


async def test_a_closed_socket_stops_the_reply(serve, tmp_path, tiny_models, paced) -> None:
    server = await serve(task(tmp_path, tiny_models["causal"], max_tokens=600))
    async with connect(server.ws_url) as client:
        await client.send({"stream": True})
        await client.send({"text": "start"})
        await wait_for(lambda: len(server.runner.sessions) == 1, what="the conversation")
        cid = next(iter(server.runner.sessions))
        await client.send({"text": "hello"})
        await client.until(is_delta, 60, "a first delta")
    await wait_for(lambda: bool(bot_rows(server, cid)), 30, "the cancelled reply to be stored")
    row = bot_rows(server, cid)[-1]
    assert row["act"]["meta"]["cancelled"] is True and row["trace"]["cancelled"] == "closed"


SAFE = """
name: safe
bots:
  assistant: {{engine: openai, base_url: {url}, model: m}}
worlds:
  chat: {{type: bot_chat, bot: assistant}}
safety:
  outgoing: {{email: mask}}
"""


async def test_with_outgoing_safety_rules_only_the_checked_final_message_is_sent(
    serve, tmp_path, openai_double
) -> None:
    openai_double.script(Reply(tokens=["Write", " to", " jane", "@example.org", " today", "."]))
    server = await serve(write_task(tmp_path / "safe", SAFE.format(url=openai_double.base_url)))
    async with connect(server.ws_url) as client:
        await client.hello(stream=True)
        await client.send({"text": "who do I write to?"})
        final = await client.until(lambda f: f.get("id") == "assistant", 20, "the reply")
        assert "jane@example.org" not in final["text"] and final["text"].startswith("Write to ")
        assert final["stream"]["end"] == "done"
        assert not any(is_delta(f) for f in client.frames)
