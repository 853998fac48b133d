"""A runtime message's text and quick replies in Messenger's shape and within its limits
(Send API reference): pure functions, no I/O."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE_CHARS = 20
MAX_QUICK_REPLY_PAYLOAD_CHARS = 1000
QUICK_REPLY_KINDS = ("text", "user_phone_number", "user_email")


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at whitespace where possible.

    A word longer than ``limit`` is cut where it must be. Empty text gives no pieces.
    """
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
        if cut <= 0:
            head, rest = rest[:limit], rest[limit:]
        else:
            head, rest = rest[:cut], rest[cut:]
        head = head.rstrip()
        if head:
            pieces.append(head)
        rest = rest.lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _title(label: str) -> str:
    label = " ".join(label.split())
    if len(label) <= MAX_QUICK_REPLY_TITLE_CHARS:
        return label
    return label[: MAX_QUICK_REPLY_TITLE_CHARS - 1].rstrip() + "…"


def _text_reply(label: str, payload: str) -> dict[str, Any]:
    return {"content_type": "text", "title": _title(label), "payload": payload[:MAX_QUICK_REPLY_PAYLOAD_CHARS]}


def quick_replies(options: list[Any]) -> list[dict[str, Any]]:
    """Messenger quick replies for a message's ``quick_replies``.

    A string becomes a text quick reply whose title is cut to 20 characters and
    whose payload is the whole label, so a tap sends back exactly what the world
    offered. A dict is taken as Messenger's own shape (``content_type`` ``text``,
    ``user_phone_number`` or ``user_email``; an ``https`` ``image_url`` is kept).
    Only the first 13 are kept.
    """
    out: list[dict[str, Any]] = []
    for opt in options:
        if isinstance(opt, dict):
            kind = opt.get("content_type", "text")
            if kind not in QUICK_REPLY_KINDS:
                log.warning("messenger: a quick reply of content_type %r was dropped", str(kind)[:40])
                continue
            if kind != "text":
                out.append({"content_type": kind})
                continue
            label = str(opt.get("title") or opt.get("payload") or "")
            if not label.strip():
                continue
            item = _text_reply(label, str(opt.get("payload") or label))
            image = opt.get("image_url")
            if isinstance(image, str) and image.startswith("https://"):
                item["image_url"] = image
        else:
            label = str(opt)
            if not label.strip():
                continue
            item = _text_reply(label, label)
        out.append(item)
    if len(out) > MAX_QUICK_REPLIES:
        log.warning(
            "messenger: %d quick replies offered, Messenger shows at most %d; the rest are dropped",
            len(out),
            MAX_QUICK_REPLIES,
        )
        out = out[:MAX_QUICK_REPLIES]
    return out
