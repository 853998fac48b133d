"""What every engine is: a plain object whose ``step`` maps (state, message) to a Turn.

Engine state is data: a JSON dict the runtime stores per conversation and
bot, so a conversation survives a restart and can be replayed and inspected.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from workbench.message import Message


@dataclass
class Turn:
    """What one engine step produced: replies, the new state and why (the trace)."""

    replies: list[Message] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    trace: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What an engine may know about the conversation besides its own state."""

    conversation_id: str | None = None
    bot: str = "bot"
    #: the person's data: onboarding answers, values from forms, task data
    data: dict[str, Any] = field(default_factory=dict)
    #: the task's registry of Python actions, validators and hooks
    registry: Any = None
    task: Any = None


class Engine:
    """Base class; subclasses override :meth:`step` (sync or ``async def``).

    ``blocking = True`` tells the runtime to run a synchronous ``step`` in a
    worker thread (model bots); otherwise it runs on the event loop.
    ``reads_storage = True`` says a step reads the store or the index (a table's
    revision, a search): with a network store or index (PostgreSQL, Elasticsearch) the
    task makes such an engine blocking, so a round trip never holds up the loop.
    """

    name = "engine"
    blocking = False
    reads_storage = False

    def initial_state(self) -> dict[str, Any]:
        return {}

    def greeting(self, state: dict[str, Any], context: Context) -> Turn | None | Awaitable[Turn | None]:
        """Replies sent when a conversation with this bot starts (none by default)."""
        return None

    def step(self, state: dict[str, Any], message: Message, context: Context) -> Turn | Awaitable[Turn]:
        raise NotImplementedError
