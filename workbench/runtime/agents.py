"""Agents: people (fed by a queue, so any service can drive them) and bots (an engine).

Both expose ``observe(message)`` and ``act(timeout)`` as coroutines. A person's
messages and everything they observe are stored in their conversation (their
:class:`~workbench.runtime.session.Session`) before anything reaches them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import TYPE_CHECKING, Any

from workbench.engines.base import Context, Engine, Turn
from workbench.engines.capabilities import ModelBot, StreamingBot
from workbench.engines.streaming import ReplyStream
from workbench.io.untrusted import clean_text
from workbench.message import Message
from workbench.runtime import debugger
from workbench.runtime.session import Disconnected, TurnFailed
from workbench.store import Record

if TYPE_CHECKING:
    from workbench.runtime.session import Session

__all__ = ["Agent", "BotAgent", "Disconnected", "HumanAgent", "TurnFailed"]

log = logging.getLogger(__name__)

#: seconds a cancelled generation has to return its turn before the runtime stops waiting for it
STOP_GRACE = 5.0


class Agent:
    """Base class: an ``id`` (shown as the speaker), ``data`` and observe/act."""

    def __init__(self, agent_id: str) -> None:
        self.id = agent_id
        self.disp_id = agent_id  # ParlAI's display id, set by assign_roles
        self.data: dict[str, Any] = {}

    async def observe(self, message: Message | dict | str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    async def act(self, timeout: float | None = None) -> Message | None:  # pragma: no cover
        raise NotImplementedError

    async def shutdown(self) -> None:
        return None


class HumanAgent(Agent):
    """A person in a world. ``act`` waits on the person's inbox (a queue)."""

    def __init__(self, session: Session, agent_id: str | None = None) -> None:
        super().__init__(agent_id or session.person)
        self.session = session
        self.data = session.data
        self.timed_out = False
        #: used when act() is called without a timeout (a world's ``timeout``)
        self.default_timeout: float | None = None

    @property
    def conversation_id(self) -> str:
        return self.session.conversation_id

    async def act(self, timeout: float | None = None) -> Message | None:
        """The person's next message, or ``None`` when ``timeout`` seconds pass first.

        Without ``timeout`` it waits up to the world's ``timeout`` (forever if
        none); ``timeout=0`` returns at once (ParlAI's non-blocking ``act()``).
        """
        world_limit = timeout is None
        if world_limit:
            timeout = self.default_timeout
        try:
            if timeout is not None and timeout <= 0:
                msg = self.session.poll()
                if msg is None:
                    return None
            else:
                msg = await self.session.receive(timeout)
        except TimeoutError:
            # only the world's own limit ends the world; a caller's short wait is a poll
            self.timed_out = world_limit
            return None
        msg.setdefault("id", self.disp_id)
        self.session.hold(Record(msg, agent=self.id, role="human", **self.session.where()))
        return msg

    async def act_blocking(self, timeout: float | None = None) -> Message | None:
        return await self.act(timeout)

    async def observe(self, message: Message | dict | str) -> None:
        msg = Message.coerce(message)
        role = msg.pop("_role", None) or "world"
        await self.session.send(msg, role=role)


class BotAgent(Agent):
    """An engine speaking in a world, with its state stored per conversation.

    ``owner`` is the session whose conversation holds the engine state (the
    person the bot talks to). :meth:`respond` runs one engine step and commits
    the pending messages, the replies and the new state in one transaction.
    """

    def __init__(
        self,
        engine: Engine,
        bot_name: str,
        owner: Session,
        registry: Any = None,
        task: Any = None,
        in_thread: bool | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(bot_name)
        self.engine = engine
        #: run a synchronous step in a worker thread (default: when the engine says it blocks)
        self.in_thread = engine.blocking if in_thread is None else in_thread
        self.bot_name = bot_name
        self.owner = owner
        self.context = Context(
            conversation_id=owner.conversation_id, bot=bot_name, data=owner.data, registry=registry, task=task
        )
        # a caller that read the stored state already (off the event loop) hands it over
        stored = (
            state if state is not None else owner.store.state(owner.conversation_id, bot_name) if owner.store else None
        )
        self.fresh = stored is None
        self.state: dict[str, Any] = stored if stored is not None else engine.initial_state()
        self._observed: list[Message] = []
        self.last_trace: dict[str, Any] | None = None
        #: a streaming engine's replies are generated piece by piece (workbench/engines/streaming.py)
        self.streams = isinstance(engine, StreamingBot)
        # one turn of this bot at a time: a regeneration and the answer to a new message queue up
        self._turn = asyncio.Lock()

    async def _call(self, fn, *args) -> Turn | None:
        """One engine call; what it raises fails this turn of the owner's conversation only."""
        try:
            if self.in_thread and not inspect.iscoroutinefunction(fn):
                result = await asyncio.to_thread(fn, *args)
            else:
                result = fn(*args)
            if inspect.isawaitable(result):
                result = await result
        except (Disconnected, TurnFailed):
            raise
        except Exception as exc:
            raise TurnFailed(self.owner, exc, what=f"bot {self.bot_name}") from exc
        return result

    async def _commit(self, turn: Turn) -> list[Message]:
        """Store the turn (held messages, replies, state) in one transaction, then adopt its
        state: a turn whose transaction fails leaves the bot where it was."""
        try:
            replies = [Message.coerce(r) for r in turn.replies]
        except TypeError as exc:
            raise TurnFailed(self.owner, exc, what=f"bot {self.bot_name}") from exc
        for r in replies:
            r.setdefault("id", self.disp_id)
        recs = [
            Record(r, agent=self.bot_name, role="bot", trace=turn.trace if i == 0 else None, **self.owner.where())
            for i, r in enumerate(replies)
        ]
        if not recs and turn.trace:
            # no reply still leaves a trace: keep it on a system record
            recs = [
                Record(
                    Message(text="", meta={"no_reply": True}),
                    agent=self.bot_name,
                    role="system",
                    trace=turn.trace,
                    **self.owner.where(),
                )
            ]
            await self.owner.commit(recs, states=[(self.bot_name, turn.state)])
            self.state, self.last_trace = turn.state, turn.trace
            return []
        await self.owner.commit(recs, states=[(self.bot_name, turn.state)])
        self.state, self.last_trace = turn.state, turn.trace
        self.owner.emit("state", bot=self.bot_name, state=turn.state, trace=turn.trace)
        return replies

    async def greet(self) -> list[Message]:
        """The engine's opening lines, only for a conversation that has none yet."""
        if not self.fresh:
            return []
        self.fresh = False
        turn = await self._call(self.engine.greeting, self.state, self.context)
        if turn is None:
            return []
        return await self._commit(turn)

    async def respond(self, message: Message) -> list[Message]:
        """One engine step on ``message`` (held first at a breakpoint: runtime/debugger.py);
        replies are acknowledged when this returns."""
        self.fresh = False
        async with self._turn:
            turn = await debugger.held(self, message, self._step)
            return await self._commit(turn)

    async def regenerate(self) -> list[Message]:
        """Answer the last message again (a model bot): the earlier reply stays in the
        conversation, and in the engine state as an alternative. [] when there is nothing to redo."""
        if not isinstance(self.engine, ModelBot):
            return []
        async with self._turn:
            back = self.engine.rewind(self.state)
            if back is None:
                return []
            state, message = back
            turn = await self._generate(state, message, regenerated=True)
            return await self._commit(turn)

    async def _generate(self, state: dict[str, Any], message: Message, regenerated: bool = False) -> Turn:
        """A streaming step: deltas go to the owner's session as they come; the turn returned
        holds the final reply. The session (a new message, a closed channel, a developer)
        cancels the stream; an engine that does not stop within STOP_GRACE is left behind."""
        owner, engine = self.owner, self.engine
        out = ReplyStream(lambda stream, delta: owner.delta(self.bot_name, stream, delta))
        owner.begin_stream(out)
        step = asyncio.ensure_future(self._call(engine.stream, state, message, self.context, out))  # type: ignore[attr-defined]
        cancelled = asyncio.ensure_future(out.wait_cancelled())
        try:
            await asyncio.wait({step, cancelled}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                await asyncio.wait({step}, timeout=STOP_GRACE)
            if not step.done():
                step.cancel()
                log.warning("bot %s did not stop within %g s of being cancelled", self.bot_name, STOP_GRACE)
                reply = Message(text=clean_text(out.text), meta={"stream": out.id, "cancelled": True})
                turn = Turn([reply], state, {"engine": getattr(engine, "name", "?"), "cancelled": out.reason})
            else:
                turn = step.result() or Turn([], state, {})
        except asyncio.CancelledError:
            step.cancel()
            out.cancel("stopped")
            raise
        finally:
            cancelled.cancel()
            owner.end_stream(out)
        if turn.replies:
            first = turn.replies[0] = Message.coerce(turn.replies[0])
            meta = first.setdefault("meta", {})
            if isinstance(meta, dict):
                meta.setdefault("stream", out.id)
                if regenerated:
                    meta["regenerated"] = True
        error = (turn.trace or {}).get("error")
        if isinstance(error, dict):
            # the person heard an apology; the developer hears why
            owner.emit(
                "error", error=f"bot {self.bot_name}: {error.get('cause')}", bot=self.bot_name, code=error.get("code")
            )
        return turn

    async def _step(self, message: Message) -> Turn:
        """One engine step from the bot's state as it is now (a streaming step for a model bot)."""
        if self.streams:
            turn: Turn | None = await self._generate(self.state, message)
        else:
            turn = await self._call(self.engine.step, self.state, message, self.context)
        return turn if turn is not None else Turn([], self.state, {})

    async def observe(self, message: Message | dict | str) -> None:
        self._observed.append(Message.coerce(message))

    async def act(self, timeout: float | None = None) -> Message | None:
        """ParlAI style: answer the last observed message with one act dict.

        Several replies of one step are joined into one act (texts on separate
        lines, the last reply's quick replies); :meth:`respond` returns them apart.
        """
        if not self._observed:
            return None
        msg = self._observed[-1]
        self._observed.clear()
        replies = await self.respond(msg)
        if not replies:
            return None
        if len(replies) == 1:
            out = replies[0]
        else:
            out = Message(replies[-1])
            out["text"] = "\n".join(r.text for r in replies if r.text)
            self.owner.mark_committed(out)
        out["_role"] = "bot"
        return out
