"""Cassettes: a model bot's responses recorded from a live run and replayed chunk by chunk, by
request; a request with no recorded response fails its turn saying how to record it."""

from __future__ import annotations

import asyncio
import json

import pytest

from workbench.engines.base import Context
from workbench.engines.models.cassette import Cassette, cassette_path
from workbench.engines.models.engine import Backend, ModelEngine
from workbench.engines.models.request import Completion, ModelRequest
from workbench.engines.models.settings import ModelConfig
from workbench.engines.streaming import ReplyStream
from workbench.message import Message
from workbench.problems import TaskError


class Live(Backend):
    """A model that answers "echo: TEXT" in two chunks and counts its calls."""

    model_id = "live-model"

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: ModelRequest, out: ReplyStream, stream: bool) -> Completion:
        self.calls += 1
        chunks = ["echo: ", request.messages[-1]["content"]]
        for c in chunks:
            out.write(c)
        return Completion("".join(chunks), "stop", 7, 2, chunks=chunks)


def bot(backend: Live, **config) -> ModelEngine:
    return ModelEngine(ModelConfig(**config), "echoer", backend)


async def ask(engine: ModelEngine, text: str, state: dict | None = None):
    deltas: list[str] = []
    turn = await engine.stream(
        state or engine.initial_state(), Message(text=text), Context(), ReplyStream(lambda _, d: deltas.append(d))
    )
    return turn, deltas


def test_record_then_replay_without_the_model(tmp_path) -> None:
    test_file = tmp_path / "tests" / "chat.yml"
    path = cassette_path(test_file)
    assert path == tmp_path / "tests" / "cassettes" / "chat.json"

    async def record() -> None:
        live = Live()
        engine = bot(live)
        cassette = Cassette(path, "record")
        engine.use_cassette(cassette.tape("greets"))
        first, _ = await ask(engine, "hi")
        await ask(engine, "again", first.state)
        cassette.save()
        assert live.calls == 2

    async def replay() -> None:
        live = Live()
        engine = bot(live)
        engine.use_cassette(Cassette(path, "replay").tape("greets"))
        first, deltas = await ask(engine, "hi")
        second, _ = await ask(engine, "again", first.state)
        assert live.calls == 0
        assert deltas == ["echo: ", "hi"] and second.replies[0].text == "echo: again"
        assert first.trace["replayed"] is True and first.trace["figures"]["tokens_in"] == 7

    asyncio.run(record())
    saved = json.loads(path.read_text())
    assert saved["format"] == "workbench-cassette/1"
    assert [e["asked"] for e in saved["tests"]["greets"]] == ["hi", "again"]
    asyncio.run(replay())


def test_a_changed_prompt_has_no_recorded_response_and_says_how_to_record(tmp_path) -> None:
    path = tmp_path / "cassettes" / "chat.json"

    async def run() -> None:
        cassette = Cassette(path, "record")
        engine = bot(Live())
        engine.use_cassette(cassette.tape("t"))
        await ask(engine, "hi")
        cassette.save()
        changed = bot(Live(), system_prompt="a new system prompt")
        changed.use_cassette(Cassette(path, "replay").tape("t"))
        turn, _ = await ask(changed, "hi")
        assert turn.replies[0]["meta"]["error"] == "not_recorded"
        cause = turn.trace["error"]["cause"]
        assert "no recorded response of bot 'echoer' to 'hi' in test 't'" in cause
        assert "workbench test --record-model" in cause
        missing = bot(Live())
        missing.use_cassette(Cassette(tmp_path / "none.json", "replay").tape("t"))
        turn, _ = await ask(missing, "hi")
        assert "(no such file)" in turn.trace["error"]["cause"]

    asyncio.run(run())


def test_a_cassette_that_is_not_one_is_refused_naming_the_file(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"tests": []}', encoding="utf-8")
    with pytest.raises(TaskError, match="bad.json: format: not a cassette"):
        Cassette(bad, "replay")
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(TaskError, match="bad.json:1"):
        Cassette(bad, "replay")
