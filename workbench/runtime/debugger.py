"""Breakpoints on live conversations: a bot's turn that meets one is held before it is committed.

A runner keeps one :class:`Breakpoints`. :meth:`BotAgent.respond
<workbench.runtime.agents.BotAgent.respond>` steps its engine through :func:`held`: with
no breakpoint armed for the conversation that is the engine's step and nothing more.
Otherwise the turn is computed, told in a debugger's terms by the engine
(:class:`~workbench.engines.capabilities.DebuggableBot`: states entered, slots set or
cleared, a fallback, a failed form, errors) and, when a breakpoint matches, *held*: nothing
of it is stored or sent, the person's message stays held by their session (so it is
committed with the reply later, never lost), what they send meanwhile waits in their
inbox, and the channel shows them what it shows for any slow reply. The runner emits a
``paused`` event (fields ``bot``, ``reasons``, ``text``, ``before``, ``state``, ``trace``,
``error``).

While a turn is held the developer may replace the bot's state
(:meth:`Runner.set_bot_state <workbench.runtime.runner.Runner.set_bot_state>`). Then
:meth:`Breakpoints.resume` lets it go (a ``resumed`` event): when the state was replaced,
or the engine raised, the turn is stepped again from the state as it now is; otherwise
the held turn is the answer (an engine's side effects, such as a table's server action,
do not run twice). ``step=True`` holds the conversation's next turn too, whatever the
breakpoints say, so a developer can go one turn at a time. A person who leaves ends the
pause, and the turn is committed as it was.

Greetings are not held: breakpoints are about answers to what people send.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.engines.base import Turn
from workbench.engines.capabilities import DebuggableBot
from workbench.engines.turn_facts import TurnFacts
from workbench.message import Message
from workbench.runtime.session import TurnFailed

if TYPE_CHECKING:
    from workbench.runtime.agents import BotAgent

#: what a breakpoint can wait for, and how a person is told
KINDS: dict[str, str] = {
    "state": "a state (a decision table's) or a form (a form bot's) is entered",
    "slot_set": "a slot is given a value",
    "slot_cleared": "a slot is emptied",
    "fallback": "nothing matched the message (a fallback answers)",
    "form_failed": "a form fails (an invalid answer, a refused value, max_turns)",
    "error": "the engine raises or reports an error",
}
#: kinds that name something (a state, a slot); the others take no name
NAMED = frozenset({"state", "slot_set", "slot_cleared"})


@dataclass(frozen=True)
class Breakpoint:
    """Hold a turn when ``kind`` happens (to ``name``, when given), for ``bot`` and
    ``conversation`` when given (any otherwise)."""

    kind: str
    name: str | None = None
    bot: str | None = None
    conversation: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown breakpoint kind {self.kind!r}; expected one of: {', '.join(KINDS)}")
        if self.name is not None and self.kind not in NAMED:
            raise ValueError(f"a {self.kind} breakpoint takes no name")

    def describe(self) -> str:
        what = {
            "state": f"state {self.name} entered" if self.name else "any state entered",
            "slot_set": f"slot {self.name} set" if self.name else "any slot set",
            "slot_cleared": f"slot {self.name} cleared" if self.name else "any slot cleared",
            "fallback": "a fallback",
            "form_failed": "a form fails",
            "error": "an engine error",
        }[self.kind]
        where = [f"bot {self.bot}"] if self.bot else []
        if self.conversation:
            where.append(f"conversation {self.conversation}")
        return what + (f" ({', '.join(where)})" if where else "")

    def reason(self, facts: TurnFacts, error: BaseException | None) -> str | None:
        """Why this breakpoint holds a turn with ``facts`` (None: it does not)."""
        if self.kind == "state":
            hit = [s for s in facts.entered if self.name is None or s == self.name]
            return f"entered {hit[0]}" if hit else None
        if self.kind == "slot_set":
            hit = [s for s in facts.slots_set if self.name is None or s == self.name]
            return f"set slot {hit[0]}" if hit else None
        if self.kind == "slot_cleared":
            hit = [s for s in facts.slots_cleared if self.name is None or s == self.name]
            return f"cleared slot {hit[0]}" if hit else None
        if self.kind == "fallback":
            return "nothing matched: a fallback" if facts.fallback else None
        if self.kind == "form_failed":
            return facts.form_failed
        if error is not None:
            return f"error: {error}"
        return f"error: {facts.errors[0]}" if facts.errors else None


class Pause:
    """One conversation's turn, held at a breakpoint."""

    def __init__(
        self,
        conversation_id: str,
        bot: str,
        message: Message,
        reasons: list[str],
        before: dict[str, Any],
        turn: Turn | None,
        error: BaseException | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        self.bot = bot
        #: the message the turn answers
        self.message = message
        #: why it is held (one line per breakpoint that matched)
        self.reasons = reasons
        #: the bot's state before the turn
        self.before = before
        #: the turn as computed (None when the engine raised)
        self.turn = turn
        self.error = error
        self.since = time.time()
        self.resumed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def resume(self, step: bool) -> None:
        if not self.resumed.done():
            self.resumed.set_result(step)


class Breakpoints:
    """A runner's breakpoints and the turns they hold (see the module's docstring)."""

    def __init__(self) -> None:
        self._points: list[Breakpoint] = []
        #: conversation -> its held turn
        self.paused: dict[str, Pause] = {}
        #: conversations whose every next turn is held (a developer stepping)
        self._stepping: set[str] = set()

    # -- setting ----------------------------------------------------------------------
    def add(self, point: Breakpoint) -> Breakpoint:
        if point not in self._points:
            self._points.append(point)
        return point

    def remove(self, point: Breakpoint) -> bool:
        if point in self._points:
            self._points.remove(point)
            return True
        return False

    def clear(self) -> None:
        self._points.clear()
        self._stepping.clear()

    @property
    def points(self) -> list[Breakpoint]:
        return list(self._points)

    def step_mode(self, conversation_id: str, on: bool = True) -> None:
        """Hold every next turn of a conversation (on) or only those breakpoints match (off)."""
        if on:
            self._stepping.add(conversation_id)
        else:
            self._stepping.discard(conversation_id)

    def stepping(self, conversation_id: str) -> bool:
        return conversation_id in self._stepping

    def armed(self, conversation_id: str, bot: str) -> bool:
        """Whether a turn of ``bot`` in the conversation may be held."""
        return conversation_id in self._stepping or any(
            (p.bot is None or p.bot == bot) and (p.conversation is None or p.conversation == conversation_id)
            for p in self._points
        )

    # -- holding ------------------------------------------------------------------------
    def reasons(
        self, conversation_id: str, bot: str, facts: TurnFacts, error: BaseException | None = None
    ) -> list[str]:
        """Why a turn with ``facts`` is held (empty: it is not)."""
        out = []
        for p in self._points:
            if (p.bot is None or p.bot == bot) and (p.conversation is None or p.conversation == conversation_id):
                why = p.reason(facts, error)
                if why and why not in out:
                    out.append(why)
        if not out and conversation_id in self._stepping:
            out.append("stepping one turn at a time")
        return out

    def resume(self, conversation_id: str, step: bool = False) -> bool:
        """Let a held turn go (``step``: hold the conversation's next turn too); False when
        the conversation has none held."""
        pause = self.paused.get(conversation_id)
        if pause is None:
            return False
        self.step_mode(conversation_id, step)
        pause.resume(step)
        return True

    async def hold(self, agent: BotAgent, message: Message, step: Callable[[Message], Awaitable[Turn]]) -> Turn:
        """The turn ``step`` computes, held first when a breakpoint matches it."""
        session = agent.owner
        cid, bot = session.conversation_id, agent.bot_name
        if not self.armed(cid, bot) or cid in self.paused:
            return await step(message)
        before = agent.state
        turn: Turn | None = None
        error: TurnFailed | None = None
        try:
            turn = await step(message)
        except TurnFailed as failed:
            error = failed
        facts = _facts(agent, before, turn)
        reasons = self.reasons(cid, bot, facts, error.cause if error is not None else None)
        if not reasons:
            if error is not None:
                raise error
            assert turn is not None
            return turn
        pause = Pause(cid, bot, message, reasons, before, turn, error.cause if error is not None else None)
        self.paused[cid] = pause
        session.emit(
            "paused",
            bot=bot,
            reasons=reasons,
            text=message.get("text"),
            before=before,
            state=turn.state if turn is not None else None,
            trace=turn.trace if turn is not None else None,
            error=f"{type(pause.error).__name__}: {pause.error}" if pause.error is not None else None,
        )
        closed = asyncio.ensure_future(session.wait_closed())
        waits: list[asyncio.Future[Any]] = [pause.resumed, closed]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            if self.paused.get(cid) is pause:
                del self.paused[cid]
        edited = agent.state is not before
        session.emit("resumed", bot=bot, edited=edited, stepping=self.stepping(cid))
        if edited or (turn is None and not session.closed):
            # computed from the state as it now is; a second failure fails the turn as usual
            return await step(message)
        if error is not None:
            raise error
        assert turn is not None
        return turn


def _facts(agent: BotAgent, before: dict[str, Any], turn: Turn | None) -> TurnFacts:
    """The turn in a debugger's terms, from an engine that can tell (else nothing but errors)."""
    if turn is None or not isinstance(agent.engine, DebuggableBot):
        return TurnFacts()
    try:
        return agent.engine.turn_facts(before, turn.state, turn.trace)
    except Exception as exc:  # a facts bug must not cost the person their turn
        return TurnFacts(errors=[f"could not read the turn: {type(exc).__name__}: {exc}"])


async def held(agent: BotAgent, message: Message, step: Callable[[Message], Awaitable[Turn]]) -> Turn:
    """``step(message)``, through the breakpoints of the runner the agent's session belongs to."""
    points = getattr(agent.owner.runner, "breakpoints", None)
    if not isinstance(points, Breakpoints):
        return await step(message)
    return await points.hold(agent, message, step)
