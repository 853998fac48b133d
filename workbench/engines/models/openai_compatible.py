"""``engine: openai``: any OpenAI-compatible chat-completions server (vLLM, llama.cpp's server,
Ollama, hosted services), streamed with server-sent events (docs/model-bots.md).

The key never appears in task.yml: ``api_key_env`` names the environment variable that holds
it, read at each request, sent as a bearer token and never logged or traced. A request that
fails before the first token (the connection refused, HTTP 429 or 5xx) is tried again after a
backoff (429's ``Retry-After`` honoured, up to ``max_retry_after``); after the first token
nothing is retried, since the person has seen part of the reply. Time limits: ``connect``,
``first_token`` (from the request to the first text), ``between_tokens`` (a stall) and
``total``. Cancelling (the person's new message, a closed channel, the TUI's Esc) closes the
HTTP stream, so the server stops generating. Usage comes from the stream where the server
gives it (``stream_options.include_usage``), else the counts are estimated and marked so.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import re
import time
import weakref
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workbench.engines.models.engine import Backend, ModelEngine
from workbench.engines.models.request import Completion, ModelError, ModelRequest
from workbench.engines.models.settings import ModelConfig
from workbench.engines.streaming import ReplyStream
from workbench.io.untrusted import JsonLimits, UntrustedInput, clean_text, parse_json

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
#: HTTP statuses worth another attempt (before the first token)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: the most of an error body read (to quote the server's message)
ERROR_BODY_BYTES = 4096
#: the JSON of one streamed event
EVENT_LIMITS = JsonLimits(max_bytes=1 << 20, max_depth=16)


class Timeouts(BaseModel):
    """Seconds; each limit ends the request with a polite message and the cause in the trace."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    #: to open the connection
    connect: float = Field(10, gt=0, le=600)
    #: from sending the request to the first text of the reply
    first_token: float = Field(60, gt=0, le=3600)
    #: the longest pause between two pieces of the reply
    between_tokens: float = Field(30, gt=0, le=3600)
    #: the whole turn, retries included
    total: float = Field(300, gt=0, le=86400)


class Config(ModelConfig):
    engine: Literal["openai"] = "openai"
    #: the server's API root, such as http://127.0.0.1:8000/v1 (vLLM) or http://127.0.0.1:11434/v1 (Ollama)
    base_url: str = "http://127.0.0.1:11434/v1"
    #: an environment variable whose value, when set, replaces ``base_url`` (e.g. OPENAI_BASE_URL)
    base_url_env: str | None = None
    #: the model's name on the server
    model: str = Field(min_length=1, max_length=512)
    #: an environment variable whose value, when set, replaces ``model`` (e.g. OPENAI_MODEL)
    model_env: str | None = None
    #: the NAME of the environment variable holding the API key (none: no key is sent)
    api_key_env: str | None = None
    timeouts: Timeouts = Field(default_factory=Timeouts)
    #: attempts after the first, before the first token only
    retries: int = Field(2, ge=0, le=10)
    #: seconds before the first retry, doubled each time
    backoff: float = Field(0.5, ge=0, le=60)
    #: the longest Retry-After honoured, in seconds (longer: the turn fails)
    max_retry_after: float = Field(30, ge=0, le=3600)
    #: ask the server for token usage in the stream (turn off for servers that refuse stream_options)
    stream_usage: bool = True
    #: the largest response read, in bytes
    max_response_bytes: int = Field(16 << 20, ge=1024, le=1 << 30)

    @model_validator(mode="before")
    @classmethod
    def _no_key_here(cls, data: Any) -> Any:
        if isinstance(data, dict) and "api_key" in data:
            raise ValueError(
                "api_key: a key never goes in task.yml; put it in an environment variable and name "
                "that variable in api_key_env (for example api_key_env: OPENAI_API_KEY)"
            )
        return data

    @field_validator("api_key_env", "base_url_env", "model_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(
                "expected the NAME of an environment variable (letters, digits and _), such as OPENAI_API_KEY, "
                "not its value"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)


def check_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
        raise ValueError("expected an http:// or https:// URL such as http://127.0.0.1:8000/v1")
    return value.rstrip("/")


class _Cancelled(Exception):
    """The stream was cancelled while a request was in flight."""


class OpenAIBackend(Backend):
    def __init__(self, config: Config) -> None:
        self.config = config
        base = os.environ.get(config.base_url_env or "") if config.base_url_env else None
        self.base_url = check_url(base) if base else config.base_url
        model = os.environ.get(config.model_env or "") if config.model_env else None
        self.model_id = model or config.model
        self.url = f"{self.base_url}/chat/completions"
        # one client (and its connection pool) per event loop: a client is bound to the loop it ran on
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def describe(self) -> dict[str, Any]:
        c = self.config
        key = c.api_key_env
        return {
            "base_url": self.base_url,
            "model": self.model_id,
            "api_key_env": key,
            "api_key": None if key is None else ("set" if os.environ.get(key) else "not set"),
            "timeouts": c.timeouts.model_dump(),
            "retries": c.retries,
        }

    def _client(self) -> Any:
        import httpx

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            t = self.config.timeouts
            # reads are timed by the stream itself (first token, between tokens, total)
            timeout = httpx.Timeout(connect=t.connect, read=None, write=t.connect, pool=t.connect)
            client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=32))
            self._clients[loop] = client
        return client

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        name = self.config.api_key_env
        if name:
            key = os.environ.get(name)
            if not key:
                raise ModelError("no_api_key", f"the environment variable {name} (api_key_env) is not set")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _body(self, request: ModelRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model_id, "messages": request.messages}
        body.update(request.params)
        body["stream"] = stream
        if stream and self.config.stream_usage:
            body["stream_options"] = {"include_usage": True}
        return body

    # -- a turn ---------------------------------------------------------------------------------
    async def complete(self, request: ModelRequest, out: ReplyStream, stream: bool) -> Completion:
        loop = asyncio.get_running_loop()
        c = self.config
        deadline = loop.time() + c.timeouts.total
        attempts = 0
        while True:
            attempts += 1
            try:
                completion = await self._attempt(request, out, stream, deadline)
            except _Cancelled:
                return Completion(out.text, "cancelled", cancelled=True, attempts=attempts, chunks=[out.text])
            except ModelError as exc:
                if not exc.retry or attempts > c.retries or out.first_at is not None:
                    raise
                delay = exc.retry_after if exc.retry_after is not None else c.backoff * 2 ** (attempts - 1)
                if exc.retry_after is not None and exc.retry_after > c.max_retry_after:
                    raise ModelError(
                        exc.code,
                        f"{exc.cause}; the server asked to wait {exc.retry_after:g} s (more than max_retry_after)",
                    ) from None
                if loop.time() + delay >= deadline:
                    raise ModelError(exc.code, f"{exc.cause}; no time left to try again (timeouts.total)") from None
                if await _cancelled_within(out, delay):
                    return Completion("", "cancelled", cancelled=True, attempts=attempts)
                continue
            completion.attempts = attempts
            return completion

    async def _attempt(self, request: ModelRequest, out: ReplyStream, stream: bool, deadline: float) -> Completion:
        import httpx

        headers = self._headers()
        body = self._body(request, stream)
        task = asyncio.current_task()
        assert task is not None
        # a cancel interrupts whatever the request awaits (the connection, the next event)
        done = [False]
        watch = asyncio.ensure_future(out.wait_cancelled())
        watch.add_done_callback(lambda w: task.cancel() if not w.cancelled() and not done[0] else None)
        try:
            try:
                if stream:
                    return await self._streamed(self._client(), body, headers, out, deadline)
                return await self._whole(self._client(), body, headers, out, deadline)
            except httpx.ConnectError as exc:
                raise ModelError("unreachable", f"cannot connect to {self.base_url}: {_say(exc)}", retry=True) from None
            except httpx.TimeoutException as exc:
                raise ModelError(
                    "unreachable", f"{self.base_url} did not accept the connection in time: {_say(exc)}", retry=True
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                raise ModelError(
                    "connection_lost", f"the connection to {self.base_url} broke: {_say(exc)}", retry=True
                ) from None
            except httpx.HTTPError as exc:
                raise ModelError("http_error", f"{type(exc).__name__}: {_say(exc)}") from None
        except asyncio.CancelledError:
            if out.cancelled and task.uncancel() == 0:
                raise _Cancelled() from None
            raise
        finally:
            done[0] = True
            watch.cancel()

    async def _streamed(self, client: Any, body: dict, headers: dict, out: ReplyStream, deadline: float) -> Completion:
        from httpx_sse import EventSource, SSEError

        loop = asyncio.get_running_loop()
        t = self.config.timeouts
        phase = "first_token"
        chunks: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] | None = None
        try:
            async with asyncio.timeout_at(min(loop.time() + t.first_token, deadline)) as limit:
                async with client.stream("POST", self.url, json=body, headers=headers) as response:
                    if response.status_code != 200:
                        raise await self._http_error(response)
                    async for event in EventSource(response).aiter_sse():
                        if response.num_bytes_downloaded > self.config.max_response_bytes:
                            raise ModelError(
                                "too_large",
                                f"the response is larger than max_response_bytes ({self.config.max_response_bytes})",
                            )
                        if event.data.strip() == "[DONE]":
                            break
                        piece, reason, used = _chunk(event.data)
                        finish = reason or finish
                        usage = used or usage
                        if piece:
                            chunks.append(piece)
                            out.write(clean_text(piece))
                            phase = "between_tokens"
                            limit.reschedule(min(loop.time() + t.between_tokens, deadline))
        except TimeoutError:
            if loop.time() >= deadline - 0.001:
                raise ModelError("timeout", f"no complete reply within timeouts.total ({t.total:g} s)") from None
            if phase == "first_token":
                raise ModelError(
                    "first_token_timeout", f"no first token within timeouts.first_token ({t.first_token:g} s)"
                ) from None
            raise ModelError(
                "stalled", f"the reply stalled: nothing for timeouts.between_tokens ({t.between_tokens:g} s)"
            ) from None
        except SSEError as exc:
            raise ModelError("bad_response", f"the server did not answer with an event stream: {exc}") from None
        return _completion("".join(chunks), finish, usage, chunks)

    async def _whole(self, client: Any, body: dict, headers: dict, out: ReplyStream, deadline: float) -> Completion:
        loop = asyncio.get_running_loop()
        t = self.config.timeouts
        try:
            async with asyncio.timeout_at(min(loop.time() + t.first_token, deadline)):
                async with client.stream("POST", self.url, json=body, headers=headers) as response:
                    if response.status_code != 200:
                        raise await self._http_error(response)
                    raw = await _read_bounded(response, self.config.max_response_bytes)
        except TimeoutError:
            raise ModelError(
                "first_token_timeout", f"no reply within timeouts.first_token ({t.first_token:g} s)"
            ) from None
        try:
            data = parse_json(raw, JsonLimits(max_bytes=self.config.max_response_bytes, max_depth=16), what="response")
            message = data["choices"][0]["message"]
            text = message.get("content") or ""
            finish = data["choices"][0].get("finish_reason")
        except (UntrustedInput, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ModelError("bad_response", f"the response is not a chat completion: {_say(exc)}") from None
        if not isinstance(text, str):
            raise ModelError("bad_response", "the response's message content is not text")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        return _completion(text, finish, usage, [text] if text else [])

    async def _http_error(self, response: Any) -> ModelError:
        status = response.status_code
        try:
            raw = await _read_bounded(response, ERROR_BODY_BYTES, truncate=True)
        except Exception:
            raw = b""
        said = _server_message(raw)
        cause = f"{self.url} answered HTTP {status}" + (f": {said}" if said else "")
        if status == 429:
            return ModelError(
                "rate_limited", cause, retry=True, retry_after=_retry_after(response.headers.get("retry-after"))
            )
        if status in RETRY_STATUSES:
            return ModelError("server_error", cause, retry=True)
        if status in (401, 403):
            return ModelError("unauthorized", cause + " (check the key in api_key_env)")
        if status == 404:
            return ModelError("not_found", cause + " (check base_url and model)")
        return ModelError("refused" if status < 500 else "server_error", cause)

    async def aclose(self) -> None:
        for client in list(self._clients.values()):
            await client.aclose()
        self._clients.clear()


def _chunk(data: str) -> tuple[str, str | None, dict[str, Any] | None]:
    """One streamed event: its text, finish reason and usage (any may be absent)."""
    try:
        event = parse_json(data, EVENT_LIMITS, what="event")
    except UntrustedInput as exc:
        raise ModelError("bad_response", f"an event of the stream is not JSON: {exc.message}") from None
    if not isinstance(event, dict):
        raise ModelError("bad_response", "an event of the stream is not a JSON object")
    if isinstance(event.get("error"), (dict, str)):
        err = event["error"]
        message = err.get("message") if isinstance(err, dict) else err
        raise ModelError("server_error", f"the server sent an error in the stream: {clean_text(str(message))[:300]}")
    usage = event.get("usage") if isinstance(event.get("usage"), dict) else None
    choices = event.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return "", None, usage
    choice = choices[0]
    delta = choice.get("delta")
    text = delta.get("content") if isinstance(delta, dict) else None
    reason = choice.get("finish_reason")
    return (text if isinstance(text, str) else ""), (reason if isinstance(reason, str) else None), usage


def _completion(text: str, finish: str | None, usage: dict[str, Any] | None, chunks: list[str]) -> Completion:
    tokens_in = tokens_out = None
    if usage is not None:
        pin, pout = usage.get("prompt_tokens"), usage.get("completion_tokens")
        tokens_in = pin if isinstance(pin, int) and not isinstance(pin, bool) else None
        tokens_out = pout if isinstance(pout, int) and not isinstance(pout, bool) else None
    estimated = tokens_in is None or tokens_out is None
    return Completion(text, finish, tokens_in, tokens_out, estimated=estimated, chunks=chunks)


async def _read_bounded(response: Any, limit: int, truncate: bool = False) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for piece in response.aiter_bytes():
        size += len(piece)
        if size > limit:
            if truncate:
                parts.append(piece[: limit - (size - len(piece))])
                break
            raise ModelError("too_large", f"the response is larger than max_response_bytes ({limit})")
        parts.append(piece)
    return b"".join(parts)


def _server_message(raw: bytes) -> str:
    """The server's own words about an error (OpenAI's ``{"error": {"message"}}``), bounded."""
    text = raw.decode("utf-8", "replace")
    try:
        data = parse_json(text, JsonLimits(max_bytes=ERROR_BODY_BYTES * 2, max_depth=8), what="error")
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            text = err["message"]
        elif isinstance(err, str):
            text = err
        elif isinstance(data, dict) and isinstance(data.get("detail"), str):
            text = data["detail"]
    except UntrustedInput:
        pass
    return clean_text(" ".join(text.split()))[:300]


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


async def _cancelled_within(out: ReplyStream, seconds: float) -> bool:
    """Wait ``seconds``; True as soon as ``out`` is cancelled."""
    try:
        await asyncio.wait_for(out.wait_cancelled(), seconds)
    except TimeoutError:
        return False
    return True


def _say(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class OpenAIEngine(ModelEngine):
    name = "openai"


def create(config: Config, task: Any, name: str) -> OpenAIEngine:
    return OpenAIEngine(config, name, OpenAIBackend(config))


#: the engine class (workbench/engines/capabilities.py asks what it can do)
ENGINE = OpenAIEngine
