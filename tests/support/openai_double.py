"""A local double of an OpenAI-compatible chat-completions server, served for real on 127.0.0.1.

It checks each request as the real API does (the bearer key when one is set, ``model``,
``messages`` and their roles, the ranges of temperature, top_p, max_tokens and stop,
``stream_options`` only with ``stream: true``, unknown arguments refused unless allowed) and
answers in the real shapes: server-sent ``chat.completion.chunk`` events ending with
``[DONE]`` (with a usage chunk when ``stream_options.include_usage`` asks), or one
``chat.completion``. What it refused is in ``rejected`` with the reason.

Tests script the next answers with :meth:`OpenAIDouble.script` (:class:`Reply`): the tokens,
whether usage is reported, a delay before the first token or a stall after some tokens
(until :meth:`release`), an HTTP error status (with ``Retry-After``), or a connection
dropped mid-stream. Every request is recorded (``requests``), with whether the client
closed the stream before its end (``closed_early``): the double sees a cancel as the real
server would. All waits are bounded.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

ROLES = {"system", "user", "assistant", "tool", "developer"}
KNOWN = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "seed",
    "stop",
    "n",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "user",
    "response_format",
    "tools",
    "tool_choice",
}


@dataclass
class Reply:
    """One scripted answer."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " double", "."])
    #: report usage (in the stream only when the client asked for it)
    usage: bool = True
    #: seconds before the first token
    delay_first: float = 0.0
    #: seconds between tokens
    delay_between: float = 0.0
    #: after this many tokens, wait until release() (a stall, or a stream held open to cancel)
    hold_after: int | None = None
    #: answer with this HTTP status instead (an error in OpenAI's shape)
    status: int | None = None
    retry_after: str | None = None
    #: drop the connection after this many tokens (no [DONE])
    drop_after: int | None = None
    finish_reason: str = "stop"


class Refused(Exception):
    def __init__(self, status: int, message: str, code: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _error(status: int, message: str, kind: str = "invalid_request_error", headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status, headers)


@dataclass
class OpenAIDouble:
    #: the key clients must send as a bearer token (None: no key needed)
    api_key: str | None = None
    #: extra arguments accepted besides the API's own (a local server's, such as top_k)
    allowed_extra: set[str] = field(default_factory=set)
    #: refuse stream_options (an older server)
    refuse_stream_options: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _script: list[Reply] = field(default_factory=list)
    _changed: asyncio.Event | None = None
    _release: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # -- what tests do ------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """The next answers, in order (then the default Reply())."""
        self._script.extend(replies)

    def release(self) -> None:
        """Let every held stream go on."""
        self._gate().set()

    def _gate(self) -> asyncio.Event:
        if self._release is None:
            self._release = asyncio.Event()
        return self._release

    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def wait(self, predicate: Any, timeout: float = 10.0, what: str = "the double's state") -> None:
        """Wait until ``predicate(self)`` holds (bounded)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no {what} within {timeout} s; requests: {self.requests}; rejected: {self.rejected}"
                )
            if self._changed is None:
                self._changed = asyncio.Event()
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.05))
            except TimeoutError:
                pass

    async def wait_tokens(self, n: int, request: int = -1, timeout: float = 10.0) -> None:
        """Wait until request number ``request`` has sent ``n`` tokens."""
        await self.wait(
            lambda d: (
                len(d.requests) >= (request + 1 if request >= 0 else 1) and d.requests[request]["tokens_sent"] >= n
            ),
            timeout,
            f"{n} tokens sent",
        )

    # -- the API ------------------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])])

    def _check(self, request: Request, body: Any) -> None:
        if self.api_key is not None:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                raise Refused(401, "Incorrect API key provided.", "invalid_api_key")
        if not isinstance(body, dict):
            raise Refused(400, "We could not parse the JSON body of your request.")
        unknown = set(body) - KNOWN - self.allowed_extra
        if unknown:
            raise Refused(400, f"Unrecognized request argument supplied: {', '.join(sorted(unknown))}")
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise Refused(400, "you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise Refused(400, "'messages' must contain at least one message")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                raise Refused(400, f"Invalid value for 'messages[{i}]'")
        t = body.get("temperature")
        if t is not None and not (isinstance(t, (int, float)) and 0 <= t <= 2):
            raise Refused(400, "temperature must be between 0 and 2")
        p = body.get("top_p")
        if p is not None and not (isinstance(p, (int, float)) and 0 <= p <= 1):
            raise Refused(400, "top_p must be between 0 and 1")
        mt = body.get("max_tokens")
        if mt is not None and not (isinstance(mt, int) and mt >= 1):
            raise Refused(400, "max_tokens must be at least 1")
        stop = body.get("stop")
        if stop is not None and not (isinstance(stop, str) or (isinstance(stop, list) and len(stop) <= 4)):
            raise Refused(400, "stop: at most 4 sequences")
        if "stream" in body and not isinstance(body["stream"], bool):
            raise Refused(400, "stream must be a boolean")
        if "stream_options" in body:
            if self.refuse_stream_options:
                raise Refused(400, "Unrecognized request argument supplied: stream_options")
            if not body.get("stream"):
                raise Refused(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.")

    async def completions(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        record: dict[str, Any] = {
            "body": body,
            "authorization": request.headers.get("authorization"),
            "tokens_sent": 0,
            "closed_early": False,
            "done": False,
        }
        try:
            self._check(request, body)
        except Refused as refused:
            self.rejected.append({"reason": refused.message, "body": body})
            self._poke()
            return _error(refused.status, refused.message, refused.code)
        self.requests.append(record)
        self._poke()
        reply = self._script.pop(0) if self._script else Reply()
        if reply.status is not None:
            headers = {"Retry-After": reply.retry_after} if reply.retry_after is not None else None
            record["status"] = reply.status
            kind = "rate_limit_exceeded" if reply.status == 429 else "server_error"
            return _error(reply.status, f"Injected {reply.status}", kind, headers)
        model = body["model"]
        if not body.get("stream"):
            if reply.delay_first:
                await asyncio.sleep(reply.delay_first)
            text = "".join(reply.tokens)
            record["tokens_sent"] = len(reply.tokens)
            record["done"] = True
            self._poke()
            out: dict[str, Any] = {
                "id": "chatcmpl-double",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": reply.finish_reason,
                    }
                ],
            }
            if reply.usage:
                out["usage"] = _usage(body, reply)
            return JSONResponse(out)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and reply.usage
        return StreamingResponse(
            self._events(record, model, reply, include_usage, body), media_type="text/event-stream"
        )

    async def _events(self, record: dict, model: str, reply: Reply, include_usage: bool, body: dict):
        def event(choices: list, **extra: Any) -> bytes:
            chunk = {"id": "chatcmpl-double", "object": "chat.completion.chunk", "created": 0, "model": model}
            chunk.update(choices=choices, **extra)
            return f"data: {json.dumps(chunk)}\n\n".encode()

        try:
            yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
            if reply.delay_first:
                await asyncio.sleep(reply.delay_first)
            for i, token in enumerate(reply.tokens):
                if reply.hold_after is not None and i == reply.hold_after:
                    await self._gate().wait()
                if reply.drop_after is not None and i == reply.drop_after:
                    raise ConnectionAbortedError("dropped by the script")
                if i and reply.delay_between:
                    await asyncio.sleep(reply.delay_between)
                yield event([{"index": 0, "delta": {"content": token}, "finish_reason": None}])
                record["tokens_sent"] = i + 1
                self._poke()
            yield event([{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}])
            if include_usage:
                yield event([], usage=_usage(body, reply))
            yield b"data: [DONE]\n\n"
            record["done"] = True
        except (asyncio.CancelledError, GeneratorExit):
            record["closed_early"] = True
            raise
        finally:
            if not record["done"]:
                record["closed_early"] = True
            self._poke()


def _usage(body: dict, reply: Reply) -> dict[str, int]:
    prompt = sum(len(m["content"].split()) + 3 for m in body["messages"])
    return {"prompt_tokens": prompt, "completion_tokens": len(reply.tokens), "total_tokens": prompt + len(reply.tokens)}
