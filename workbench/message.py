"""The act dict every agent, engine and service exchanges (ParlAI-compatible keys)."""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

# uids only need to be unique within this process: a per-process prefix and a
# counter cost a fraction of uuid4 (which reads os.urandom for every message)
_UID_PREFIX = os.urandom(4).hex()
_uid_counter = itertools.count(1)

KNOWN_KEYS = ("text", "id", "episode_done", "quick_replies", "payload", "data", "meta")


class Message(dict):
    """A JSON-able act dict.

    Keys follow ParlAI: ``text``, ``id`` (the speaker), ``episode_done``,
    ``quick_replies``, ``payload`` (attachments, templates), plus ``data``
    (template variables) and ``meta``. Any other key is kept as is, so a
    message survives a round trip through JSON, the store and every service.

    ``uid`` is an in-memory identity (not a key): the store uses it to know a
    message has already been committed to a conversation.
    """

    __slots__ = ("uid",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.uid = f"{_UID_PREFIX}{next(_uid_counter):08x}"

    @classmethod
    def from_json(cls, raw: str | bytes) -> Message:
        value = json.loads(raw)
        if not isinstance(value, dict):
            raise ValueError("a message must be a JSON object")
        return cls(value)

    @classmethod
    def coerce(cls, value: Message | dict | str | None) -> Message:
        """Turn what a world or bot hands over (a dict, a str) into a Message."""
        if isinstance(value, Message):
            return value
        if value is None:
            return cls(text="")
        if isinstance(value, str):
            return cls(text=value)
        if isinstance(value, dict):
            return cls(value)
        raise TypeError(f"cannot make a message from {type(value).__name__}")

    def to_json(self) -> str:
        return json.dumps(self, ensure_ascii=False, default=str)

    def copy(self) -> Message:
        clone = Message(json.loads(self.to_json()))
        return clone

    @property
    def text(self) -> str:
        value = self.get("text")
        return "" if value is None else str(value)

    @property
    def quick_replies(self) -> list[str]:
        return [str(q) for q in (self.get("quick_replies") or [])]

    @property
    def episode_done(self) -> bool:
        return bool(self.get("episode_done"))
