"""What one turn sends to a model, what comes back, and what can go wrong on the way.

A :class:`ModelRequest` is the prompt *as sent* (chat messages for a server; the rendered
text for a local model) and the effective parameters; its :meth:`~ModelRequest.key` names
it in a cassette. A :class:`Completion` is the reply with the figures the inspector shows.
A :class:`ModelError` carries a short ``code`` for the stored reply and the developer's
``cause`` (a sentence, never a traceback, never a secret).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

#: characters per token when a count has to be estimated
CHARS_PER_TOKEN = 4
#: the most characters of a prompt kept in a turn's trace (the earliest messages go first)
TRACE_PROMPT_CHARS = 16_000


def estimate_tokens(text: str) -> int:
    """A rough token count: about four characters a token (never 0 for non-empty text)."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


@dataclass
class ModelRequest:
    #: what identifies the model (a server's model name, a local model's source)
    model: str
    #: the chat messages (role, content), system prompt first
    messages: list[dict[str, str]]
    params: dict[str, Any]
    #: a local model's rendered prompt (chat template or prompt format); None for a server
    text: str | None = None
    #: the prompt's tokens where they were counted exactly (a tokenizer)
    tokens_in: int | None = None

    def key(self, bot: str) -> str:
        """What names this request in a cassette: the bot, model, messages and parameters (the
        messages, not a local model's rendered text, so a replay needs no tokenizer)."""
        body = {"bot": bot, "model": self.model, "messages": self.messages, "params": self.params}
        raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]

    def estimated_tokens_in(self) -> int:
        if self.text is not None:
            return estimate_tokens(self.text)
        return sum(estimate_tokens(m["content"]) + 4 for m in self.messages)

    def for_trace(self) -> Any:
        """The prompt as sent, kept to a bounded size (the earliest messages are left out first)."""
        if self.text is not None:
            if len(self.text) <= TRACE_PROMPT_CHARS:
                return self.text
            return "…" + self.text[-TRACE_PROMPT_CHARS:]
        kept: list[dict[str, str]] = []
        size = 0
        for m in reversed(self.messages):
            size += len(m["content"])
            if kept and size > TRACE_PROMPT_CHARS:
                break
            kept.append(m)
        kept.reverse()
        left_out = len(self.messages) - len(kept)
        if left_out:
            kept.insert(0, {"role": "note", "content": f"{left_out} earlier message(s) left out of this trace"})
        return kept


@dataclass
class Completion:
    """A reply from the model (whole: the deltas went to the stream as they came)."""

    text: str
    finish_reason: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    #: the token counts are estimates (the server gave no usage)
    estimated: bool = False
    cancelled: bool = False
    #: requests made (retries before the first token add to it)
    attempts: int = 1
    #: how the chunks arrived, for a cassette: the deltas in order
    chunks: list[str] = field(default_factory=list)
    #: seconds spent before generating (loading a local model, waiting for it)
    waited: float = 0.0
    #: replayed from a cassette
    replayed: bool = False


class ModelError(Exception):
    """The model could not answer: ``code`` for the stored reply, ``cause`` for the developer.

    ``retry`` says a new attempt may work (before the first token only), ``retry_after``
    how long the server asked us to wait (429's Retry-After)."""

    def __init__(self, code: str, cause: str, retry: bool = False, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.code = code
        self.cause = cause
        self.retry = retry
        self.retry_after = retry_after
