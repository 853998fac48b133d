"""What arrives at the webhook: the signature check, the body's shape (pydantic models of
the fields the channel reads), and the runtime message each ``messaging`` event becomes.

A signed body is still untrusted data: it is parsed once with
:func:`workbench.io.untrusted.parse_json_object` (size, depth, numbers, clean strings) and
validated against :class:`WebhookBody`. Facebook adds fields over time, so unknown keys are
ignored, but every field the channel reads has a type. An attachment becomes a closed
payload (``{"type", "url"}`` with an ``https`` URL, or a location's coordinates): nothing a
person sends can name a file or a server-side address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.io.untrusted import JsonLimits, UntrustedInput, parse_json_object
from workbench.message import Message

CHANNEL = "messenger"
#: webhook bodies larger than this are refused before the signature is checked
MAX_BODY_BYTES = 4 * 1024 * 1024
LIMITS = JsonLimits(max_bytes=MAX_BODY_BYTES, max_depth=16)
#: attachment kinds that carry a file (the Send API's media types)
MEDIA_TYPES = ("image", "audio", "video", "file")


def signed(body: bytes, header: str | None, secret: str | None) -> bool:
    """Whether ``header`` (X-Hub-Signature-256) is ``sha256=`` HMAC of ``body`` with ``secret``
    (compared in constant time; hex in either case)."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256=") :].strip().lower().encode(), expected.encode())


class _Facebook(BaseModel):
    """Facebook's objects: typed where read, unknown keys ignored."""

    model_config = ConfigDict(extra="ignore")


class Party(_Facebook):
    id: str = Field(min_length=1, max_length=128)


class QuickReplyIn(_Facebook):
    payload: str


class Coordinates(_Facebook):
    lat: float
    long: float


class AttachmentPayloadIn(_Facebook):
    url: str | None = None
    coordinates: Coordinates | None = None


class AttachmentIn(_Facebook):
    type: str = Field("file", max_length=32)
    payload: AttachmentPayloadIn | None = None


class ReplyTo(_Facebook):
    mid: str


class MessageIn(_Facebook):
    mid: str | None = None
    text: str | None = None
    is_echo: bool = False
    quick_reply: QuickReplyIn | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)
    reply_to: ReplyTo | None = None


class PostbackIn(_Facebook):
    mid: str | None = None
    title: str | None = None
    payload: str | None = None


class Event(_Facebook):
    """One ``messaging`` event: a message, a postback, or something the channel ignores
    (deliveries, reads, reactions)."""

    sender: Party | None = None
    recipient: Party | None = None
    timestamp: int | None = None
    message: MessageIn | None = None
    postback: PostbackIn | None = None


class Entry(_Facebook):
    id: str | None = None
    time: int | None = None
    messaging: list[Event] = Field(default_factory=list, max_length=1000)


class WebhookBody(_Facebook):
    object: str
    entry: list[Entry] = Field(default_factory=list, max_length=1000)


class NotForUs(Exception):
    """A well-formed body about something other than a Page (Instagram, WhatsApp...)."""


def parse_body(raw: bytes) -> WebhookBody:
    """The signed body as a :class:`WebhookBody`.

    Raises :class:`UntrustedInput` (a 400: not JSON, too deep, the wrong shape, with
    where and what in one line) or :class:`NotForUs` (a 404).
    """
    data = parse_json_object(raw, LIMITS, what="webhook body")
    if data.get("object") != "page":
        raise NotForUs(str(data.get("object"))[:40])
    try:
        return WebhookBody.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise UntrustedInput(
            f"the webhook body does not have Messenger's shape: {where}: {first['msg']}{more}"
        ) from None


def _attachment(att: AttachmentIn) -> dict[str, Any]:
    """A closed payload: the kind, an https URL, a location's coordinates; nothing else."""
    out: dict[str, Any] = {"type": att.type}
    payload = att.payload
    if payload is None:
        return out
    if payload.url and payload.url.startswith("https://"):
        out["url"] = payload.url
    if payload.coordinates is not None:
        out["coordinates"] = {"lat": payload.coordinates.lat, "long": payload.coordinates.long}
    return out


def incoming_message(event: Event) -> Message | None:
    """The message a ``messaging`` event carries, or ``None`` (echoes, receipts...)."""
    meta: dict[str, Any] = {"channel": CHANNEL}
    if event.message is not None:
        m = event.message
        if m.is_echo:
            return None
        meta["mid"] = m.mid
        text = m.text or ""
        msg = Message(text=text)
        if m.quick_reply is not None:
            # the payload is the label the world offered; the shown title may be cut short
            msg["text"] = m.quick_reply.payload
            meta["kind"] = "quick_reply"
            meta["title"] = text
        else:
            meta["kind"] = "text"
        if m.attachments:
            items = [_attachment(a) for a in m.attachments]
            msg["payload"] = items[0]
            if len(items) > 1:
                msg["attachments"] = items
            if meta["kind"] == "text" and not text:
                meta["kind"] = "attachment"
        if m.reply_to is not None:
            meta["reply_to"] = {"mid": m.reply_to.mid}
    elif event.postback is not None:
        pb = event.postback
        meta.update(kind="postback", mid=pb.mid, title=pb.title)
        msg = Message(text=pb.payload or pb.title or "")
    else:
        return None
    if event.timestamp is not None:
        meta["timestamp"] = event.timestamp
    msg["meta"] = {k: v for k, v in meta.items() if v is not None}
    return msg


def event_key(psid: str, event: Event) -> str:
    """What identifies an event across redeliveries: its message id, or (an event without
    one) the sender, the timestamp and a hash of what it carries."""
    mid = (event.message.mid if event.message else None) or (event.postback.mid if event.postback else None)
    if mid:
        return f"mid:{mid}"
    content = event.model_dump(include={"message", "postback"}, exclude_none=True)
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]
    return f"at:{psid}:{event.timestamp}:{digest}"
