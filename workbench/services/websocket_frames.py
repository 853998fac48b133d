"""The websocket protocol's frames as pydantic models: one source for checking and documenting them.

:class:`ClientFrame` is what a client may send (ParlAI's ``text`` and ``payload``, the
opt-in ``hello`` and ``debug``, and the ``id``, ``episode_done`` and ``message_history``
that ParlAI clients send and the server ignores). It is closed: unknown keys are refused
(or dropped first, with ``serve.unknown_fields: ignore``), and so is anything nested.
:func:`read_frame` turns one raw text frame into a checked :class:`ClientFrame` or a
:class:`FrameError` with the error code and a sentence for the person. The ``*Frame``
models after it describe what the server sends (docs/serve.md lists both; a test checks
the docs name every field).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.io.untrusted import JsonLimits, UntrustedInput, parse_json
from workbench.services.attachments import SHAPE, Attachment

#: the channels a hello may name (and resume: a Messenger conversation cannot be taken over from a socket)
Client = Literal["websocket", "browser", "terminal"]
#: a frame's JSON is never deeper than this (the deepest real frame, an attachment, is 2)
FRAME_DEPTH = 8


class Hello(BaseModel):
    """``{"hello": {...}}``: start or resume a conversation (as the first frame)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    session: str | None = Field(None, max_length=128, description="the conversation to resume")
    history: int = Field(0, ge=0, description="re-send this many stored messages first (capped by max_history)")
    client: Client = Field("websocket", description="the channel the conversation is stored under")
    stream: bool = Field(False, description="true: also send bots' replies as they are generated (delta frames)")


class ClientFrame(BaseModel):
    """One JSON object a client sends in a text frame."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    text: str | None = Field(None, description="what the person says")
    payload: Attachment | None = Field(None, description="an image or file (see Attachments)")
    hello: Hello | Literal[True] | None = Field(None, description="start or resume a conversation")
    debug: bool | None = Field(None, description="true: also send trace frames; false: stop")
    stream: bool | None = Field(None, description="true: also send replies as they are generated; false: stop")
    cancel: Literal[True] | None = Field(None, description="stop the reply being generated (stored as cancelled)")
    # sent by ParlAI clients and ignored, as ParlAI's server ignores them
    id: Any = Field(None, description="ignored (ParlAI clients send it)")
    episode_done: Any = Field(None, description="ignored (ParlAI clients send it)")
    message_history: Any = Field(None, description="ignored (ParlAI clients send it)")


#: the keys a client frame may carry
CLIENT_KEYS = frozenset(ClientFrame.model_fields)


class FrameError(Exception):
    """A refused frame: ``code`` for the error frame, ``text`` for the person."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def read_frame(raw: str, max_bytes: int, unknown_fields: str = "error") -> ClientFrame:
    """The checked frame in ``raw`` (at most ``max_bytes``), or :class:`FrameError`.

    The JSON is parsed once by :func:`~workbench.io.untrusted.parse_json` (bounded size,
    depth and numbers; surrogates and control characters replaced), then checked
    against :class:`ClientFrame`. Never raises anything else.
    """
    try:
        data = parse_json(raw, JsonLimits(max_bytes=max_bytes, max_depth=FRAME_DEPTH), what="frame")
    except UntrustedInput as exc:
        if exc.status == 413:
            raise FrameError("frame_too_big", f"That frame is larger than the limit of {max_bytes} bytes.") from None
        raise FrameError(
            "invalid_json", f'That frame was refused: {exc.message}. Send an object such as {{"text": "hello"}}.'
        ) from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", 'A frame must be a JSON object such as {"text": "hello"}.')
    unknown = data.keys() - CLIENT_KEYS
    if unknown:
        if unknown_fields == "error":
            names = ", ".join(sorted(unknown))
            raise FrameError(
                "unknown_field",
                f"Unknown field(s) {names}; the frame was not sent. Known: text, payload, hello, debug, stream, cancel.",
            )
        data = {k: v for k, v in data.items() if k in CLIENT_KEYS}
    try:
        return ClientFrame.model_validate(data, context={"max_bytes": max_bytes})
    except ValidationError as exc:
        raise FrameError("invalid_field", describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """The first problem of ``exc`` as one sentence naming the field."""
    error = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in error["loc"] if not _is_union_tag(part))
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if loc.startswith("payload"):
        if kind == "extra_forbidden":
            key = loc.rsplit(".", 1)[-1]
            return f'"payload" may not carry "{key}". {SHAPE}.'
        if kind in ("model_type", "model_attributes_type", "dict_type"):
            return f'"payload" must be an object. {SHAPE}.'
        return f'"{loc}": {message}. {SHAPE}.'
    if loc.startswith("hello"):
        if kind == "extra_forbidden":
            return f'Unknown key "{loc.rsplit(".", 1)[-1]}" in "hello". Known: session, history, client, stream.'
        if loc == "hello":
            return '"hello" must be an object such as {"session": "ID"} or {}.'
        return f'"{loc}": {message}.'
    if loc == "text":
        return '"text" must be a string.'
    if loc in ("debug", "stream"):
        return f'"{loc}" must be true or false.'
    if loc == "cancel":
        return '"cancel" must be true.'
    return f'"{loc}": {message}.'


def _is_union_tag(part: object) -> bool:
    # pydantic names the union member it tried ("Hello", "literal[True]") in an error's location
    return isinstance(part, str) and (part[:1].isupper() or part.startswith("literal["))


# -- what the server sends (documentation; tests check real frames against these) ---------------


class _Sent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="always present (empty for control frames)")


class StreamEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="the stream the delta frames named")
    end: Literal["done", "cancelled", "error"] = Field(description="how the generation ended")
    regenerated: Literal[True] | None = Field(None, description="a new answer to the same message")


class MessageFrame(_Sent):
    """A message of the conversation (ParlAI's frame plus the speaker)."""

    quick_replies: list[str] | None = Field(description="the answers offered, or null")
    id: str | None = Field(None, description="the speaker")
    payload: dict[str, Any] | None = Field(None, description="an attachment or template, when the message has one")
    episode_done: Literal[True] | None = Field(None, description="the world says the episode ended")
    history: Literal[True] | None = Field(None, description="re-sent from the store after a hello with history")
    role: str | None = Field(None, description="with history: who said it (human, bot, world, system)")
    stream: StreamEnd | None = Field(
        None, description="to a client that asked for streams: the reply whose deltas came before, and how it ended"
    )


class ErrorFrame(_Sent):
    """A refused frame or a condition of the connection; ``text`` is the same sentence."""

    id: Literal["System"]
    error: dict[Literal["code", "message"], str] = Field(description="{code, message}")


class HelloLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_frame_bytes: int
    rate_limit: float
    rate_burst: int
    resume_grace: float


class HelloReply(_Sent):
    """The answer to a hello: the conversation's id (treat it as the person's secret)."""

    session: str
    resumed: bool
    limits: HelloLimits
    stream: bool = Field(False, description="whether delta frames will be sent")


class StreamDelta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="the reply being generated (the final message names it too)")
    delta: str = Field(description="the next piece of its text")


class DeltaFrame(_Sent):
    """A piece of a bot's reply as it is generated, only after ``stream: true``."""

    text: Literal[""] = Field(description="always empty: the final message frame carries the text")
    id: str = Field(description="the bot speaking")
    stream: StreamDelta


class DebugFrame(_Sent):
    """A trace event, only after ``{"debug": true}``."""

    debug: dict[str, Any] = Field(description="{event, ...}: the runtime's event and its fields")


SERVER_FRAMES: tuple[type[_Sent], ...] = (MessageFrame, ErrorFrame, HelloReply, DebugFrame, DeltaFrame)
