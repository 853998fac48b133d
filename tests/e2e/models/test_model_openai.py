"""`engine: openai` against a local OpenAI-compatible server double on 127.0.0.1 (tests/support/
openai_double.py): streaming and not, usage reported and estimated, a timeout before the first
token, a stall between tokens, a 500, a 429 with Retry-After, a cancelled stream, a second turn
carrying the history and the system prompt, the key from the environment only."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from support import Person, free_port, wait_for, write_task
from support.openai_double import OpenAIDouble, Reply

from workbench.engines.base import Context, Turn
from workbench.engines.models.openai_compatible import Config, OpenAIEngine, create
from workbench.engines.streaming import ReplyStream
from workbench.message import Message
from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task

APOLOGY = "Sorry, I could not answer just now. Please try again in a moment."


def engine(double: OpenAIDouble, **config: Any) -> OpenAIEngine:
    config.setdefault("base_url", double.base_url)
    return create(Config(model="double-model", **config), None, "assistant")


async def turn(
    eng: OpenAIEngine, text: str, state: dict | None = None, out: ReplyStream | None = None
) -> tuple[Turn, list[str]]:
    deltas: list[str] = []
    if out is None:
        out = ReplyStream(lambda _, d: deltas.append(d))
    result = await asyncio.wait_for(eng.stream(state or eng.initial_state(), Message(text=text), Context(), out), 20)
    return result, deltas


def meta(t: Turn) -> dict:
    return t.replies[0]["meta"]


async def test_a_streamed_reply_arrives_token_by_token_with_the_usage_the_server_reports(openai_double) -> None:
    eng = engine(openai_double)
    result, deltas = await turn(eng, "hi")
    assert deltas == ["Hello", " from", " the", " double", "."]
    assert result.replies[0].text == "Hello from the double."
    body = openai_double.requests[0]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    figures = result.trace["figures"]
    assert figures["usage"] == "reported" and figures["tokens_out"] == 5
    assert figures["tokens_in"] == openai_double.requests[0]["body"]["messages"][0]["content"].count(" ") + 4
    assert "ttft_ms" in figures and figures["tokens_per_s"] > 0
    assert result.trace["finish_reason"] == "stop" and "error" not in result.trace
    assert result.state["history"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello from the double."},
    ]


async def test_without_usage_from_the_server_the_counts_are_estimated_and_marked_so(openai_double) -> None:
    openai_double.script(Reply(usage=False))
    result, _ = await turn(engine(openai_double), "hi")
    figures = result.trace["figures"]
    assert figures["usage"] == "estimated"
    assert figures["tokens_out"] == 5  # one per streamed chunk
    assert figures["tokens_in"] >= 1


async def test_a_server_that_refuses_stream_options_works_with_stream_usage_off(openai_double) -> None:
    openai_double.refuse_stream_options = True
    refused, _ = await turn(engine(openai_double, retries=0), "hi")
    assert meta(refused)["error"] == "refused" and "stream_options" in refused.trace["error"]["cause"]
    result, deltas = await turn(engine(openai_double, stream_usage=False), "hi")
    assert "stream_options" not in openai_double.requests[-1]["body"]
    assert result.replies[0].text == "Hello from the double." and deltas
    assert result.trace["figures"]["usage"] == "estimated"


async def test_a_reply_that_is_not_streamed_comes_whole(openai_double) -> None:
    result, deltas = await turn(engine(openai_double, stream=False, params={"temperature": 0.2, "seed": 3}), "hi")
    body = openai_double.requests[0]["body"]
    assert body["stream"] is False and "stream_options" not in body
    assert body["temperature"] == 0.2 and body["seed"] == 3
    assert deltas == []
    assert result.replies[0].text == "Hello from the double."
    assert result.trace["figures"]["usage"] == "reported" and result.trace["figures"]["tokens_out"] == 5


async def test_no_first_token_in_time_is_a_polite_failure_with_the_cause_for_the_developer(openai_double) -> None:
    openai_double.script(Reply(delay_first=5))
    eng = engine(openai_double, timeouts={"first_token": 0.3})
    result, deltas = await turn(eng, "hi")
    assert deltas == []
    assert result.replies[0].text == APOLOGY
    assert meta(result)["error"] == "first_token_timeout"
    assert "timeouts.first_token (0.3 s)" in result.trace["error"]["cause"]
    assert len(openai_double.requests) == 1  # a timeout is not retried
    assert result.state["history"] == []  # the model never saw a question without its answer
    await openai_double.wait(lambda d: d.requests[0]["closed_early"], what="the stream closed")


async def test_a_stall_between_tokens_ends_the_reply_with_what_was_said_and_an_apology(openai_double) -> None:
    openai_double.script(Reply(hold_after=2))
    result, deltas = await turn(engine(openai_double, timeouts={"between_tokens": 0.3}), "hi")
    assert deltas == ["Hello", " from"]
    assert result.replies[0].text == f"Hello from\n\n{APOLOGY}"
    assert meta(result)["error"] == "stalled"
    assert "timeouts.between_tokens" in result.trace["error"]["cause"]
    await openai_double.wait(lambda d: d.requests[0]["closed_early"], what="the stream closed")
    assert len(openai_double.requests) == 1  # never retried after the first token


async def test_a_500_is_tried_again_before_the_first_token(openai_double) -> None:
    openai_double.script(Reply(status=500))
    result, _ = await turn(engine(openai_double, backoff=0.01), "hi")
    assert result.replies[0].text == "Hello from the double."
    assert result.trace["attempts"] == 2 and len(openai_double.requests) == 2


async def test_a_500_every_time_fails_politely_naming_the_status(openai_double) -> None:
    openai_double.script(Reply(status=500), Reply(status=500))
    result, _ = await turn(engine(openai_double, retries=1, backoff=0.01), "hi")
    assert len(openai_double.requests) == 2
    assert result.replies[0].text == APOLOGY and meta(result)["error"] == "server_error"
    assert "HTTP 500: Injected 500" in result.trace["error"]["cause"]


async def test_a_429_waits_as_long_as_retry_after_says(openai_double) -> None:
    openai_double.script(Reply(status=429, retry_after="0.3"))
    # the backoff alone would wait 60 s: an answer within the test's bound means Retry-After was used
    eng = engine(openai_double, backoff=60)
    started = time.monotonic()
    result, _ = await turn(eng, "hi")
    assert time.monotonic() - started >= 0.3
    assert result.replies[0].text == "Hello from the double." and result.trace["attempts"] == 2


async def test_a_429_asking_for_longer_than_max_retry_after_fails_at_once(openai_double) -> None:
    openai_double.script(Reply(status=429, retry_after="120"))
    result, _ = await turn(engine(openai_double, max_retry_after=5), "hi")
    assert meta(result)["error"] == "rate_limited" and len(openai_double.requests) == 1
    assert "asked to wait 120 s" in result.trace["error"]["cause"]


async def test_cancelling_closes_the_stream_and_keeps_what_was_generated(openai_double) -> None:
    openai_double.script(Reply(hold_after=2))
    eng = engine(openai_double)
    out = ReplyStream(lambda stream, _: stream.cancel("developer") if stream.deltas == 2 else None)
    result, _ = await turn(eng, "hi", out=out)
    assert result.replies[0].text == "Hello from"
    assert meta(result)["cancelled"] is True and result.trace["cancelled"] == "developer"
    await openai_double.wait(lambda d: d.requests[0]["closed_early"], what="the server to see the stream closed")
    assert result.state["history"][-1] == {"role": "assistant", "content": "Hello from", "cancelled": True}


async def test_a_refused_connection_is_retried_then_said_politely(openai_double) -> None:
    eng = engine(openai_double, base_url=f"http://127.0.0.1:{free_port()}/v1", retries=1, backoff=0.01)
    result, _ = await turn(eng, "hi")
    assert result.replies[0].text == APOLOGY and meta(result)["error"] == "unreachable"
    assert "cannot connect to http://127.0.0.1:" in result.trace["error"]["cause"]


async def test_the_key_comes_from_the_environment_and_goes_nowhere_else(openai_double, monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    openai_double.api_key = "sk-test-SECRET-123"
    monkeypatch.delenv("DOUBLE_KEY", raising=False)
    eng = engine(openai_double, api_key_env="DOUBLE_KEY")
    missing, _ = await turn(eng, "hi")
    assert meta(missing)["error"] == "no_api_key"
    assert missing.trace["error"]["cause"] == "the environment variable DOUBLE_KEY (api_key_env) is not set"
    assert openai_double.requests == []
    monkeypatch.setenv("DOUBLE_KEY", "sk-wrong")
    refused, _ = await turn(eng, "hi")
    assert meta(refused)["error"] == "unauthorized" and len(openai_double.rejected) == 1
    monkeypatch.setenv("DOUBLE_KEY", "sk-test-SECRET-123")
    result, _ = await turn(eng, "hi")
    assert openai_double.requests[-1]["authorization"] == "Bearer sk-test-SECRET-123"
    assert result.replies[0].text == "Hello from the double."
    shown = repr([missing.trace, refused.trace, result.trace, eng.settings({})]) + caplog.text
    assert "SECRET" not in shown and eng.settings({})["api_key"] == "set"


TASK = """
name: assistant
bots:
  assistant:
    engine: openai
    base_url: {url}
    model: double-model
    system_prompt: You are terse.
    params: {{temperature: 0.5, max_tokens: 64, top_k: 5}}
    timeouts: {{between_tokens: {between}}}
    greeting: Ask me anything.
worlds:
  chat: {{type: bot_chat, bot: assistant}}
"""


async def runner_for(tmp_path: Path, double: OpenAIDouble, between: float = 10) -> Runner:
    double.allowed_extra = {"top_k"}  # as a local server (vLLM, llama.cpp) accepts it
    root = write_task(tmp_path / "task", TASK.format(url=double.base_url, between=between))
    task = load_task(root)
    store = open_store(tmp_path / "wb.db")
    task.use_store(store)
    return Runner(task, store)


async def say(runner: Runner, person: Person, text: str) -> None:
    person.put(text)
    assert await runner.wait_idle([person.session], timeout=20)


async def test_a_second_turn_sends_the_system_prompt_and_the_history(openai_double, tmp_path) -> None:
    openai_double.script(Reply(tokens=["Paris", "."]), Reply(tokens=["About", " 2", " million", "."]))
    runner = await runner_for(tmp_path, openai_double)
    person = Person()
    person.session = await runner.connect(person.deliver)
    try:
        assert await runner.wait_idle(timeout=10)
        await say(runner, person, "Capital of France?")
        await say(runner, person, "Its population?")
        assert person.texts == ["Ask me anything.", "Paris.", "About 2 million."]
        second = openai_double.requests[1]["body"]
        assert second["messages"] == [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "Its population?"},
        ]
        assert second["temperature"] == 0.5 and second["max_tokens"] == 64 and second["top_k"] == 5
        stored = [r for r in runner.store.messages(person.session.conversation_id) if r["role"] == "bot"]
        assert stored[-1]["act"]["meta"]["stream"] and stored[-1]["trace"]["figures"]["tokens_out"] == 4
    finally:
        await runner.stop()


async def test_through_the_runtime_a_failure_is_stored_and_told_to_the_developer(openai_double, tmp_path) -> None:
    openai_double.script(Reply(hold_after=1))
    runner = await runner_for(tmp_path, openai_double, between=0.3)
    errors: list[str] = []
    runner.subscribe(lambda ev: errors.append(ev.fields["error"]) if ev.kind == "error" else None)
    person = Person()
    person.session = await runner.connect(person.deliver)
    try:
        assert await runner.wait_idle(timeout=10)
        await say(runner, person, "hi")
        assert person.texts[-1] == f"Hello\n\n{APOLOGY}"
        assert errors and errors[0].startswith("bot assistant: the reply stalled")
        row = runner.store.messages(person.session.conversation_id)[-1]
        assert row["act"]["meta"]["error"] == "stalled" and row["trace"]["error"]["code"] == "stalled"
        assert "Traceback" not in repr(row) and "Traceback" not in person.texts[-1]
    finally:
        openai_double.release()
        await runner.stop()


async def test_a_new_message_cancels_the_reply_being_generated(openai_double, tmp_path) -> None:
    openai_double.script(Reply(hold_after=2), Reply(tokens=["Second", "."]))
    runner = await runner_for(tmp_path, openai_double)
    deltas: list[str] = []
    runner.subscribe(lambda ev: deltas.append(ev.fields["delta"]) if ev.kind == "delta" else None)
    person = Person()
    person.session = await runner.connect(person.deliver)
    try:
        assert await runner.wait_idle(timeout=10)
        person.put("first")
        await openai_double.wait_tokens(2)
        await wait_for(lambda: len(deltas) >= 2, what="the deltas to arrive")
        person.put("second")
        assert await runner.wait_idle([person.session], timeout=20)
        assert person.texts[-2:] == ["Hello from", "Second."]
        assert openai_double.requests[0]["closed_early"]
        rows = [r for r in runner.store.messages(person.session.conversation_id) if r["role"] == "bot"]
        assert rows[-2]["act"]["meta"]["cancelled"] is True and rows[-2]["trace"]["cancelled"] == "new_message"
        # the second request carries the cancelled exchange as the person saw it
        assert openai_double.requests[1]["body"]["messages"][-3:] == [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "Hello from"},
            {"role": "user", "content": "second"},
        ]
    finally:
        await runner.stop()


@pytest.mark.parametrize(
    "bad, expected",
    [
        ({"api_key": "sk-abc"}, "a key never goes in task.yml"),
        ({"api_key_env": "sk-abc123-XYZ"}, "NAME of an environment variable"),
        ({"base_url": "ftp://x"}, "http:// or https://"),
        ({"timeouts": {"first_token": 0}}, "greater than 0"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(bad: dict, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        Config(model="m", **bad)
