"""One-shot turns: one message in, the bot's answer out, for channels without a live
connection (the REST API's get_next_response).

A one-shot turn takes the same path as a turn in a live ``bot_chat`` world: the
person's message enters through :meth:`Session.put` (the task's safety rules), a
:class:`HumanAgent` holds it, a :class:`BotAgent` steps the engine from the stored
state and commits the held message, the replies and the new state through the group
commit, and :meth:`Session.send` applies the outgoing rules before the replies are
handed back. The runner's subscribers see the same events. Nothing stays in memory
between turns: the conversation (one per person and channel) and the engine state
are read from the store each time, in a worker thread, and the engine steps in a
worker thread too, so a slow step or a busy store never holds up the event loop.
Turns of one person on one channel run one after the other.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.engines.base import Engine
from workbench.message import Message
from workbench.runtime.agents import BotAgent, HumanAgent
from workbench.runtime.session import Session

if TYPE_CHECKING:
    from workbench.runtime.runner import Runner


@dataclass
class OneShotTurn:
    """What one turn did."""

    conversation_id: str
    #: True when this turn started the conversation
    new: bool
    #: the message as the bot received it (after the safety rules), None when they held it back
    received: Message | None
    #: what the person was sent, as delivered (after the outgoing safety rules)
    replies: list[Message] = field(default_factory=list)
    #: what the person was told outside the conversation (a safety warning, a /report thanks)
    notices: list[str] = field(default_factory=list)
    #: the bot's engine state after the turn and why it answered as it did
    state: dict[str, Any] | None = None
    trace: dict[str, Any] | None = None


class OneShot:
    """A runner's one-shot turns (see the module's docstring)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        #: (channel, person) -> [lock, holders]: turns of one person run in order
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}
        #: engines are built on first use (a table to load), one at a time
        self._building = threading.Lock()

    async def turn(
        self, message: Message, *, person: str, channel: str, bot: str, world: str = "one_shot"
    ) -> OneShotTurn:
        """Take one turn of ``person``'s conversation on ``channel`` with ``bot``."""
        key = (channel, person)
        lock, holders = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        holders[0] += 1
        try:
            async with lock:
                return await self._turn(message, person, channel, bot, world)
        finally:
            holders[0] -= 1
            if holders[0] == 0:
                del self._locks[key]

    def _prepare(self, person: str, channel: str, bot: str, world: str) -> _Prepared:
        """In a worker thread: the engine, and the conversation (found or made) with its
        data and the bot's stored state."""
        task = self.runner.task
        with self._building:
            engine = task.engine(bot)
        store = self.runner.store
        if store is None:
            from workbench.store import new_id

            return _Prepared(engine, new_id(), True, {}, None)
        found = store.find_conversation(task.name, person, channel)
        if found is None:
            return _Prepared(engine, store.new_conversation(task.name, person, channel, world=world), True, {}, None)
        conv = store.conversation(found) or {}
        return _Prepared(engine, found, False, dict(conv.get("data") or {}), store.state(found, bot))

    async def _turn(self, message: Message, person: str, channel: str, bot: str, world: str) -> OneShotTurn:
        runner = self.runner
        task = runner.task
        ready = await asyncio.to_thread(self._prepare, person, channel, bot, world)
        delivered: list[Message] = []
        session = Session(runner, ready.conversation_id, person, channel, delivered.append, ready.data, runner.store)
        session.world = world
        if ready.new:
            runner.emit("session_start", session, resumed=False)
        session.put(message)
        notices = [m.text for m in delivered]
        delivered.clear()
        received = await HumanAgent(session).act(0)
        result = OneShotTurn(ready.conversation_id, ready.new, received, notices=notices)
        if received is None:
            return result
        agent = BotAgent(
            ready.engine,
            bot,
            session,
            registry=task.registry,
            task=task,
            in_thread=True,
            state=ready.state if ready.state is not None else ready.engine.initial_state(),
        )
        for reply in await agent.respond(received):
            await session.send(reply, role="bot")
        result.replies = list(delivered)
        result.state, result.trace = agent.state, agent.last_trace
        return result


@dataclass
class _Prepared:
    engine: Engine
    conversation_id: str
    new: bool
    data: dict[str, Any]
    state: dict[str, Any] | None
