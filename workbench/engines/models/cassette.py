"""Cassettes: a model bot's responses recorded from a live run and replayed in conversation tests.

A test file ``tests/chat.yml`` has its cassette beside it in ``tests/cassettes/chat.json``:
for each test, the responses its model bots gave, in order, each under the key of its
request (bot, model, messages, parameters: :meth:`ModelRequest.key`). Replaying hands a
turn the first unused response recorded for the same request, streamed chunk by chunk as
it was recorded, without loading a model or calling a server, so a task's tests pass
offline and in CI. A request with no recorded response (the prompt or a parameter changed)
fails that turn with a cause that says to record again (``workbench test --record-model``).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from workbench.engines.models.request import Completion, ModelError, ModelRequest
from workbench.engines.streaming import ReplyStream
from workbench.io.files import DATA_LIMIT, read_text
from workbench.io.untrusted import JsonLimits, UntrustedInput, parse_json
from workbench.problems import Problem, TaskError

FORMAT = "workbench-cassette/1"
Mode = Literal["replay", "record"]
Live = Callable[[ModelRequest, ReplyStream, bool], Awaitable[Completion]]


def cassette_path(test_file: Path) -> Path:
    """Where the cassette of a conversation-test file lives."""
    return test_file.parent / "cassettes" / f"{test_file.stem}.json"


class Cassette:
    """The recorded responses of one test file's tests (see the module's docstring)."""

    def __init__(self, path: Path, mode: Mode = "replay") -> None:
        self.path = path
        self.mode = mode
        self.tests: dict[str, list[dict[str, Any]]] = {}
        self.exists = path.is_file()
        if mode == "replay" and self.exists:
            self.tests = _load(path)
        elif mode == "record" and self.exists:
            # tests not run this time keep what they had
            try:
                self.tests = _load(path)
            except TaskError:
                self.tests = {}

    def tape(self, test: str) -> Tape:
        """What one test plays (or records: its responses start afresh)."""
        if self.mode == "record":
            self.tests[test] = []
        return Tape(self, test)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"format": FORMAT, "tests": self.tests}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


class Tape:
    """One test's responses: played back in order of request, or recorded as they come."""

    def __init__(self, cassette: Cassette, test: str) -> None:
        self.cassette = cassette
        self.test = test
        self._used: set[int] = set()

    async def play(self, bot: str, request: ModelRequest, out: ReplyStream, stream: bool, live: Live) -> Completion:
        key = request.key(bot)
        if self.cassette.mode == "record":
            # the pieces as the stream delivered them, so a replay streams the same way
            pieces: list[str] = []
            listener = out.listener

            def keep(stream: ReplyStream, delta: str) -> None:
                pieces.append(delta)
                if listener is not None:
                    listener(stream, delta)

            out.listener = keep
            try:
                completion = await live(request, out, stream)
            finally:
                out.listener = listener
            if pieces and "".join(pieces) == completion.text:
                completion.chunks = pieces
            self.cassette.tests.setdefault(self.test, []).append(_entry(bot, key, request, completion))
            return completion
        entries = self.cassette.tests.get(self.test, [])
        for i, entry in enumerate(entries):
            if i not in self._used and entry.get("key") == key:
                self._used.add(i)
                return await _replay(entry, out, stream)
        asked = request.messages[-1]["content"] if request.messages else ""
        where = self.cassette.path if self.cassette.exists else f"{self.cassette.path} (no such file)"
        raise ModelError(
            "not_recorded",
            f"no recorded response of bot {bot!r} to {asked[:80]!r} in test {self.test!r} of cassette {where}; "
            "record the test's responses again with `workbench test --record-model`",
        )


def _entry(bot: str, key: str, request: ModelRequest, completion: Completion) -> dict[str, Any]:
    chunks = completion.chunks or ([completion.text] if completion.text else [])
    return {
        "bot": bot,
        "key": key,
        "asked": request.messages[-1]["content"] if request.messages else "",
        "chunks": chunks,
        "finish_reason": completion.finish_reason,
        "tokens_in": completion.tokens_in,
        "tokens_out": completion.tokens_out,
        "estimated": completion.estimated,
        "cancelled": completion.cancelled,
    }


async def _replay(entry: dict[str, Any], out: ReplyStream, stream: bool) -> Completion:
    chunks = [str(c) for c in entry.get("chunks") or []]
    played: list[str] = []
    for chunk in chunks:
        if out.cancelled:
            break
        if stream:
            out.write(chunk)
            await asyncio.sleep(0)  # as a live stream would: others run between chunks
        played.append(chunk)
    cancelled = out.cancelled and len(played) < len(chunks) or bool(entry.get("cancelled"))
    return Completion(
        text="".join(played),
        finish_reason=entry.get("finish_reason"),
        tokens_in=entry.get("tokens_in"),
        tokens_out=entry.get("tokens_out") if not cancelled else len(played),
        estimated=bool(entry.get("estimated")),
        cancelled=cancelled,
        chunks=played,
        replayed=True,
    )


def _load(path: Path) -> dict[str, list[dict[str, Any]]]:
    raw = read_text(path, DATA_LIMIT, "cassette")
    try:
        data = parse_json(raw, JsonLimits(max_bytes=DATA_LIMIT, max_depth=16), what="cassette")
    except UntrustedInput as exc:
        raise TaskError(Problem(str(path), exc.line, None, exc.reason)) from None
    tests = data.get("tests") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(tests, dict):
        raise TaskError(
            Problem(str(path), None, "format", f"not a cassette: expected {{'format': {FORMAT!r}, 'tests': {{...}}}}")
        )
    out: dict[str, list[dict[str, Any]]] = {}
    for name, entries in tests.items():
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise TaskError(Problem(str(path), None, f"tests.{name}", "expected a list of recorded responses"))
        out[str(name)] = entries
    return out
