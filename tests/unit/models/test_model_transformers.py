"""`engine: transformers` with tiny random models built from a config and saved with save_pretrained
(the session's ``tiny_models``): causal with a chat template, causal with the prompt format,
seq2seq; streaming, cancelling through the stopping criterion, stop strings, seeds, one load
per process, and a model that cannot be loaded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from workbench.engines.base import Context, Turn
from workbench.engines.models.transformers_model import Config, TransformersEngine, create
from workbench.engines.streaming import ReplyStream
from workbench.message import Message
from workbench.problems import TaskError


class _Task:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.file = root / "task.yml"


def engine(path: Path, bot: str = "babbler", **config: Any) -> TransformersEngine:
    config.setdefault("params", {"max_tokens": 12, "temperature": 1.0, "seed": 5})
    return create(Config(model=str(path), **config), _Task(path.parent), bot)


async def turn(
    eng: TransformersEngine, text: str, state: dict | None = None, out: ReplyStream | None = None
) -> tuple[Turn, list[str]]:
    deltas: list[str] = []
    if out is None:
        out = ReplyStream(lambda _, d: deltas.append(d))
    state = eng.initial_state() if state is None else state
    return await asyncio.wait_for(eng.stream(state, Message(text=text), Context(), out), 60), deltas


async def test_a_causal_model_streams_its_reply_through_its_chat_template(tiny_models) -> None:
    eng = engine(tiny_models["causal"], system_prompt="Be brief.")
    result, deltas = await turn(eng, "hello there")
    reply = result.replies[0].text
    assert deltas and "".join(deltas).strip() == reply.strip() and reply.strip()
    assert result.trace["prompt"] == "<|system|> Be brief. </s> <|user|> hello there </s> <|assistant|>"
    figures = result.trace["figures"]
    assert figures["usage"] == "reported" and figures["tokens_out"] == 12 and figures["tokens_in"] == 10
    assert result.trace["finish_reason"] == "length"
    assert eng.settings(result.state)["prompt"] == "chat template"
    assert result.state["history"][-1] == {"role": "assistant", "content": reply}


async def test_without_a_chat_template_the_prompt_format_is_used(tiny_models) -> None:
    eng = engine(tiny_models["plain"], prompt_format={"user": "Q: {content}\n", "generation": "A:"})
    first, _ = await turn(eng, "hi")
    second, _ = await turn(eng, "and you", state=first.state)
    answer = first.replies[0].text
    assert second.trace["prompt"] == f"Q: hi\nAssistant: {answer}\nQ: and you\nA:"
    assert eng.settings(second.state)["prompt"] == "prompt_format"


async def test_a_seq2seq_model_streams_too(tiny_models) -> None:
    eng = engine(tiny_models["seq2seq"], params={"max_tokens": 8, "min_new_tokens": 8, "temperature": 1.0, "seed": 1})
    result, deltas = await turn(eng, "hello there")
    assert eng.settings(result.state)["kind"] == "seq2seq"
    assert deltas and result.replies[0].text.strip()
    assert result.trace["figures"]["tokens_out"] == 8
    assert result.trace["prompt"] == "User: hello there\nAssistant:"


async def test_the_same_seed_gives_the_same_reply_and_a_stop_string_cuts_it(tiny_models) -> None:
    eng = engine(tiny_models["causal"], params={"max_tokens": 12, "temperature": 1.0, "seed": 9})
    one, _ = await turn(eng, "hello")
    two, _ = await turn(eng, "hello")
    words = one.replies[0].text.split()
    assert one.replies[0].text == two.replies[0].text and len(words) >= 4
    stop = f" {words[3]}"
    cut = engine(tiny_models["causal"], params={"max_tokens": 12, "temperature": 1.0, "seed": 9, "stop": [stop]})
    result, deltas = await turn(cut, "hello")
    assert result.replies[0].text == one.replies[0].text[: one.replies[0].text.index(stop)]
    assert stop not in "".join(deltas) and result.trace["finish_reason"] == "stop"


async def test_cancelling_stops_the_generation_through_the_stopping_criterion(tiny_models) -> None:
    eng = engine(
        tiny_models["causal"], params={"max_tokens": 400, "min_new_tokens": 400, "temperature": 1.0, "seed": 2}
    )
    out = ReplyStream(lambda stream, _: stream.cancel("developer"))  # at the first piece
    result, _ = await turn(eng, "hello", out=out)
    assert result.replies[0]["meta"]["cancelled"] is True and result.trace["cancelled"] == "developer"
    assert result.trace["figures"]["tokens_out"] < 400  # stopped before the 400 it would have generated
    assert result.replies[0].text.strip()
    assert result.state["history"][-1]["cancelled"] is True


async def test_a_model_is_loaded_once_and_shared_by_every_bot_and_conversation(tiny_models) -> None:
    a = engine(tiny_models["causal"], bot="a")
    b = engine(tiny_models["causal"], bot="b", system_prompt="other")
    assert a.backend.slot is b.backend.slot
    await asyncio.gather(turn(a, "one"), turn(b, "two"), turn(a, "three"))
    assert a.backend.slot.loaded is b.backend.slot.loaded is not None


async def test_the_greeting_starts_loading_without_waiting(tiny_models) -> None:
    eng = engine(tiny_models["plain"], bot="greeter", greeting="I babble.", kind="causal", dtype="float32")
    greeting = eng.greeting(eng.initial_state(), Context())
    assert greeting is not None and greeting.replies[0].text == "I babble."
    future = eng.backend.slot.start()  # the greeting started it already: the same load
    assert future is eng.backend.slot.start()
    await asyncio.wait_for(asyncio.wrap_future(future), 60)


async def test_parameters_the_model_refuses_are_a_polite_failure(tiny_models) -> None:
    eng = engine(tiny_models["causal"], params={"max_tokens": 4, "no_such_option": 3})
    result, _ = await turn(eng, "hello")
    assert result.replies[0]["meta"]["error"] == "bad_params"
    assert "no_such_option" in result.trace["error"]["cause"]
    assert result.replies[0].text.startswith("Sorry")


def test_a_directory_that_is_not_a_model_is_refused_when_the_task_loads(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(TaskError, match=r"bots.babbler.model: .*empty has no config.json"):
        create(Config(model="./empty"), _Task(tmp_path), "babbler")
    with pytest.raises(TaskError, match="is not a directory"):
        create(Config(model="./missing"), _Task(tmp_path), "babbler")
    with pytest.raises(TaskError, match="no built-in model 'huge'"):
        create(Config(model="builtin:huge"), _Task(tmp_path), "babbler")


async def test_a_model_that_cannot_be_loaded_says_why(tmp_path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "no-such-architecture"}', encoding="utf-8")
    eng = engine(broken, bot="broken")
    result, _ = await turn(eng, "hello")
    assert result.replies[0]["meta"]["error"] == "model_unavailable"
    cause = result.trace["error"]["cause"]
    assert cause.startswith(f"cannot read the configuration of the model {broken}") and "no-such-architecture" in cause
    assert "Traceback" not in cause


async def test_the_built_in_babbler_is_built_in_the_task_folder_on_first_use(tmp_path) -> None:
    eng = create(
        Config(model="builtin:tiny-babbler", params={"max_tokens": 5, "temperature": 1.0, "seed": 1}),
        _Task(tmp_path),
        "babbler",
    )
    assert not (tmp_path / "data" / "models" / "tiny-babbler").exists()  # building waits for a conversation
    result, deltas = await turn(eng, "hello")
    assert (tmp_path / "data" / "models" / "tiny-babbler" / "config.json").is_file()
    assert deltas and result.trace["figures"]["tokens_out"] == 5
