"""A stored conversation as a timeline of turns: what the debugger steps through.

Turn 0 is what came before the person's first message (greetings, a menu); turn K begins
with the person's K-th message and holds everything that followed it until their next
one. At each turn every bot has the engine state it had when the turn ended (from the
store's state history, :meth:`Store.state_history <workbench.store.base.Store.state_history>`),
the trace of its reply in that turn, and the changes of its state since the turn before.
Conversations stored before workbench kept state history have their current state at
their last turn only (:attr:`Timeline.complete` is False).

Everything here is headless: the TUI's step screen renders it, what-if replay compares two
timelines turn by turn, and a timeline cut at a turn becomes a conversation test or a fork.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.store import StateAt, Store

#: how deep a state is compared key by key (deeper values are compared whole)
DIFF_DEPTH = 4
#: the largest value shown in a change (longer ones are cut)
SHOWN = 120


@dataclass
class Change:
    """One value of a state that differs from the turn before (``None`` paths: the whole state)."""

    path: str
    before: Any
    after: Any
    #: ``added``, ``removed`` or ``changed``
    kind: str

    def describe(self) -> str:
        if self.kind == "added":
            return f"{self.path} = {_short(self.after)}"
        if self.kind == "removed":
            return f"{self.path} removed (was {_short(self.before)})"
        return f"{self.path}: {_short(self.before)} → {_short(self.after)}"


@dataclass
class BotAtTurn:
    """One bot at the end of one turn."""

    bot: str
    #: its engine state when the turn ended (None: not known, or before its first turn)
    state: dict[str, Any] | None
    #: the trace of its reply in this turn (None: it did not speak)
    trace: dict[str, Any] | None
    #: how its state differs from the end of the turn before
    changes: list[Change] = field(default_factory=list)
    #: a developer set its state by hand during this turn
    by_hand: bool = False


@dataclass
class TimelineTurn:
    number: int
    #: the seq of its first and last message (an empty turn 0 has 0, 0)
    first_seq: int
    last_seq: int
    #: its stored messages (rows of :meth:`Store.messages`)
    messages: list[dict[str, Any]]
    #: what the person said to open it (None for turn 0)
    said: str | None
    world: str | None
    bots: dict[str, BotAtTurn] = field(default_factory=dict)

    def replies(self) -> list[dict[str, Any]]:
        """What the person was sent in this turn: the messages that are not theirs and say something."""
        return [m for m in self.messages if m["role"] != "human" and _says_something(m)]

    def summary(self) -> str:
        """One line for a timeline list: what the person said (the opening: the first reply)."""
        if self.number:
            return f"you: {self.said or ''}"
        first = next(iter(self.replies()), None)
        return "opening" + (f": {(first.get('act') or {}).get('text') or ''}" if first else "")


@dataclass
class Timeline:
    conversation_id: str
    conversation: dict[str, Any]
    messages: list[dict[str, Any]]
    turns: list[TimelineTurn]
    #: every turn has its states (False: the conversation began before state history was kept)
    complete: bool = True

    @property
    def numbers(self) -> list[int]:
        return [t.number for t in self.turns]

    @property
    def last(self) -> int:
        return self.turns[-1].number if self.turns else 0

    def turn(self, number: int) -> TimelineTurn:
        for t in self.turns:
            if t.number == number:
                return t
        raise LookupError(f"conversation {self.conversation_id} has no turn {number} (turns: {self._range()})")

    def transcript(self, number: int) -> list[dict[str, Any]]:
        """Every message up to the end of turn ``number``."""
        last = self.turn(number).last_seq
        return [m for m in self.messages if m["seq"] <= last]

    def _range(self) -> str:
        return f"{self.turns[0].number} to {self.turns[-1].number}" if self.turns else "none"


def load_timeline(store: Store, conversation_id: str) -> Timeline:
    """The timeline of a stored conversation (blocking: call it off the event loop)."""
    conv = store.conversation(conversation_id)
    if conv is None:
        raise LookupError(f"no conversation {conversation_id!r} in {store.path}")
    messages = store.messages(conversation_id)
    history = store.state_history(conversation_id)
    current = store.states(conversation_id)
    return build_timeline(conv, messages, history, current)


def build_timeline(
    conversation: dict[str, Any],
    messages: list[dict[str, Any]],
    history: list[StateAt],
    current: Mapping[str, dict[str, Any]] | None = None,
) -> Timeline:
    """A timeline from what the store holds (see :func:`load_timeline`)."""
    turns = _cut(messages)
    bots = list(dict.fromkeys([h.bot for h in history] + list(current or {})))
    known = {h.bot for h in history}
    complete = all(b in known for b in bots)
    if any(h.seq <= 0 for h in history) and (not turns or turns[0].number != 0):
        turns.insert(0, TimelineTurn(0, 0, 0, [], None, None))  # states written before any message
    previous: dict[str, dict[str, Any] | None] = {b: None for b in bots}
    for i, t in enumerate(turns):
        upto = t.last_seq if i + 1 < len(turns) else None
        lower = t.first_seq if i > 0 else None
        for bot in bots:
            entries = [h for h in history if h.bot == bot and (upto is None or h.seq <= upto)]
            if bot in known:
                state = entries[-1].state if entries else None
            else:  # no history: only the current state, at the last turn
                state = (current or {}).get(bot) if i == len(turns) - 1 else None
            by_hand = any(h.source == "hand" and (lower is None or h.seq >= lower) for h in entries)
            t.bots[bot] = BotAtTurn(
                bot,
                state,
                _trace_of(t, bot),
                state_changes(previous[bot], state) if state is not None else [],
                by_hand,
            )
            previous[bot] = state if state is not None else previous[bot]
    return Timeline(str(conversation.get("id")), conversation, messages, turns, complete)


def _cut(messages: list[dict[str, Any]]) -> list[TimelineTurn]:
    """The messages in turns: a new one at each message of the person."""
    turns: list[TimelineTurn] = []
    number = 0
    for m in messages:
        if m["role"] == "human":
            number += 1
            act = m.get("act") or {}
            turns.append(TimelineTurn(number, m["seq"], m["seq"], [], str(act.get("text") or ""), m.get("world")))
        elif not turns:
            turns.append(TimelineTurn(0, m["seq"], m["seq"], [], None, m.get("world")))
        t = turns[-1]
        t.messages.append(m)
        t.last_seq = m["seq"]
        t.world = t.world or m.get("world")
    return turns


def _trace_of(turn: TimelineTurn, bot: str) -> dict[str, Any] | None:
    traces = [m["trace"] for m in turn.messages if m.get("agent") == bot and m.get("trace")]
    return traces[-1] if traces else None


def _says_something(m: dict[str, Any]) -> bool:
    act = m.get("act") or {}
    return bool(act.get("text") or act.get("quick_replies") or act.get("payload"))


def state_changes(before: Any, after: Any, path: str = "", depth: int = 0) -> list[Change]:
    """How ``after`` differs from ``before``: one change per differing key (nested mappings key
    by key, down to :data:`DIFF_DEPTH`; lists and other values whole)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping) and depth < DIFF_DEPTH:
        out: list[Change] = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                out.append(Change(sub, before[key], None, "removed"))
            elif key not in before:
                out.append(Change(sub, None, after[key], "added"))
            else:
                out.extend(state_changes(before[key], after[key], sub, depth + 1))
        return out
    if before == after:
        return []
    if before is None:
        return [Change(path or "(state)", None, after, "added")]
    return [Change(path or "(state)", before, after, "changed")]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
