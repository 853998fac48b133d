"""What-if replay: the person's turns of stored conversations, sent again to the bot as it is now.

A replay never touches the task's store. It opens a scratch store (a temporary SQLite
file), copies into it every document set of the task's store (decision tables and
knowledge bases with their edits, and the file each was imported from, so a table is
re-imported only if its file changed), loads the task afresh on it and runs each
conversation through a real :class:`~workbench.runtime.runner.Runner`: the same person,
channel and conversation id (a table's ``A|B`` alternatives are picked per conversation,
so an unchanged bot says the very same thing), each of the person's messages put in turn,
waiting for the answer before the next. Then the two conversations are compared turn by
turn (turns as in workbench/runtime/timeline.py): the first turn whose replies differ, in
text or quick replies, is where the conversation *diverged*.

A bot whose engine is a :class:`~workbench.engines.capabilities.GenerativeBot` (a model that
samples) is not stepped unless ``regenerate``: its recorded replies (and states) of each
turn are replayed, so only the other bots' changes show.

Conversations that need several people, and turns that were a password, are not replayed
(``skipped`` says why).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.engines.base import Context, Engine, Turn
from workbench.engines.capabilities import GenerativeBot, engine_class
from workbench.message import Message
from workbench.runtime.timeline import Timeline, TimelineTurn, load_timeline
from workbench.store import Store, open_store

#: how long one turn may take before the replay of that conversation gives up
TURN_TIMEOUT = 30.0
#: conversations replayed at once
CONCURRENCY = 32
#: what the password check stores instead of what was typed (runtime/runner.py)
PASSWORD_MARKS = frozenset({"[password]", "[not the password]"})


@dataclass
class TurnPair:
    """One turn, then and now."""

    number: int
    said: str | None
    then: list[str]
    now: list[str]
    same: bool


@dataclass
class Replayed:
    """One conversation's replay."""

    conversation_id: str
    #: the person's turns sent again
    turns: int = 0
    #: the first turn whose replies differ (None: none did)
    diverged_at: int | None = None
    pairs: list[TurnPair] = field(default_factory=list)
    #: why it was not replayed (several people, an error)
    skipped: str | None = None
    #: model bots whose recorded replies were replayed instead of stepping them
    recorded_bots: list[str] = field(default_factory=list)
    then: Timeline | None = None
    now: Timeline | None = None

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "same" if self.diverged_at is None else "diverged"

    def at(self, number: int) -> TurnPair | None:
        return next((p for p in self.pairs if p.number == number), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"conversation": self.conversation_id, "status": self.status, "turns": self.turns}
        if self.skipped:
            out["skipped"] = self.skipped
        if self.diverged_at is not None:
            pair = self.at(self.diverged_at)
            out["diverged_at"] = self.diverged_at
            out["said"] = pair.said if pair else None
            out["then"] = pair.then if pair else []
            out["now"] = pair.now if pair else []
        if self.recorded_bots:
            out["recorded_bots"] = self.recorded_bots
        out["pairs"] = [
            {"turn": p.number, "said": p.said, "then": p.then, "now": p.now, "same": p.same} for p in self.pairs
        ]
        return out


@dataclass
class ReplayReport:
    results: list[Replayed]
    seconds: float

    @property
    def turns(self) -> int:
        return sum(r.turns for r in self.results)

    @property
    def diverged(self) -> list[Replayed]:
        return [r for r in self.results if r.status == "diverged"]

    def to_json(self) -> dict[str, Any]:
        counts = {s: sum(1 for r in self.results if r.status == s) for s in ("same", "diverged", "skipped")}
        return {
            "conversations": len(self.results),
            **counts,
            "turns": self.turns,
            "seconds": round(self.seconds, 3),
            "results": [r.to_json() for r in self.results],
        }


# -- which conversations ------------------------------------------------------------------------
def parse_since(text: str) -> float:
    """A date (2024-06-01) or date and time (2024-06-01T12:30) as seconds since the epoch (local
    time); ValueError naming what was expected."""
    try:
        return dt.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(f"expected a date such as 2024-06-01 or 2024-06-01T12:30, got {text!r}") from None


def select(
    store: Store,
    task: str,
    ids: list[str] | None = None,
    last: int | None = None,
    since: float | None = None,
) -> list[str]:
    """The conversations to replay, oldest first: ``ids`` (each must exist: LookupError
    otherwise), else the task's conversations (created at or after ``since``; the ``last``
    most recent)."""
    if ids:
        for cid in ids:
            if store.conversation(cid) is None:
                raise LookupError(f"no conversation {cid!r} in {store.path}")
        return list(dict.fromkeys(ids))
    rows = store.conversations(limit=last if last is not None else 2**31 - 1, task=task)
    if since is not None:
        rows = [r for r in rows if (r.get("created") or 0) >= since]
    return [r["id"] for r in reversed(rows)]


# -- replaying ------------------------------------------------------------------------------------
class Replayer:
    """Replays conversations of ``store`` against the task in ``task_root`` as it is now."""

    def __init__(
        self,
        task_root: Path,
        store: Store,
        regenerate: bool = False,
        concurrency: int = CONCURRENCY,
        turn_timeout: float = TURN_TIMEOUT,
    ) -> None:
        self.task_root = task_root
        self.store = store
        self.regenerate = regenerate
        self.concurrency = max(1, concurrency)
        self.turn_timeout = turn_timeout

    async def run(
        self, conversation_ids: list[str], on_result: Callable[[Replayed], None] | None = None
    ) -> ReplayReport:
        """Replay each conversation (``on_result`` hears each as it finishes); the results in
        the order asked."""
        from workbench.runtime.runner import Runner
        from workbench.task import load_task

        started = time.perf_counter()
        then = {cid: load_timeline(self.store, cid) for cid in conversation_ids}
        with tempfile.TemporaryDirectory(prefix="workbench-replay-") as scratch_dir:
            scratch = open_store(Path(scratch_dir) / "replay.db")
            try:
                copy_documents(self.store, scratch)
                task = load_task(self.task_root)
                task.use_store(scratch)
                recorded = [] if self.regenerate else generative_bots(task)
                for bot in recorded:
                    task.use_engine(bot, RecordedReplies(bot, then))
                # the password check stored no password to send again: nothing is asked
                runner = Runner(task, scratch, password="")
                gate = asyncio.Semaphore(self.concurrency)

                async def one(cid: str) -> Replayed:
                    async with gate:
                        result = await self._replay(runner, task, scratch, then[cid])
                    result.recorded_bots = recorded
                    if on_result is not None:
                        on_result(result)
                    return result

                try:
                    results = await asyncio.gather(*(one(cid) for cid in conversation_ids))
                finally:
                    await runner.stop(wait=2.0)
            finally:
                scratch.close()
        return ReplayReport(list(results), time.perf_counter() - started)

    async def _replay(self, runner: Any, task: Any, scratch: Store, then: Timeline) -> Replayed:
        cid = then.conversation_id
        result = Replayed(cid, then=then)
        crowded = _needs_people(task, then)
        if crowded:
            result.skipped = crowded
            return result
        conv = then.conversation
        worlds = [m.get("world") for m in then.messages if m.get("world")]
        first = worlds[0] if worlds else None
        person = str(conv.get("person") or "you")
        said: list[Message] = []
        session = None
        try:
            if first is not None and first not in task.worlds:
                # a channel without a live connection (the REST API): one-shot turns with the same bot
                bots = [m["agent"] for m in then.messages if m["role"] == "bot" and m.get("agent")]
                if not bots:
                    result.skipped = f"world {first!r} is not in the task and no bot spoke"
                    return result
                scratch.new_conversation(task.name, person, str(conv.get("channel")), first, conversation_id=cid)
                for t in then.turns:
                    for msg in _person_messages(t, person):
                        await asyncio.wait_for(
                            runner.one_shot(
                                msg, person=person, channel=str(conv.get("channel")), bot=bots[0], world=first
                            ),
                            self.turn_timeout,
                        )
                        result.turns += 1
            else:
                session = await runner.connect(
                    said.append,
                    person=person,
                    channel=str(conv.get("channel") or "replay"),
                    conversation_id=cid,
                    world=first if first and first != task.start_world else None,
                )
                if not await runner.wait_idle([session], timeout=self.turn_timeout):
                    result.skipped = f"the opening took longer than {self.turn_timeout:g} s"
                for t in then.turns:
                    if result.skipped or session.closed:
                        break
                    for msg in _person_messages(t, person):
                        session.put(msg)
                        result.turns += 1
                        if not await runner.wait_idle([session], timeout=self.turn_timeout):
                            result.skipped = f"turn {t.number} got no answer within {self.turn_timeout:g} s"
                            break
        except Exception as exc:  # one conversation's trouble is its own result
            result.skipped = f"{type(exc).__name__}: {exc}"
        finally:
            if session is not None:
                await runner.disconnect(session, wait=self.turn_timeout)
        if result.skipped:
            return result
        now = await asyncio.to_thread(load_timeline, scratch, cid)
        result.now = now
        result.pairs = compare(then, now)
        result.diverged_at = next((p.number for p in result.pairs if not p.same), None)
        return result


def compare(then: Timeline, now: Timeline) -> list[TurnPair]:
    """Each turn of ``then`` beside the same turn of ``now`` (a turn ``now`` lacks says nothing)."""
    pairs = []
    for t in then.turns:
        try:
            n: TimelineTurn | None = now.turn(t.number)
        except LookupError:
            n = None
        before = [_said(m) for m in t.replies()]
        after = [_said(m) for m in n.replies()] if n is not None else []
        pairs.append(TurnPair(t.number, t.said, [s[0] for s in before], [s[0] for s in after], before == after))
    return pairs


def _said(row: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    act = row.get("act") or {}
    return str(act.get("text") or ""), tuple(str(q) for q in act.get("quick_replies") or [])


def _person_messages(turn: TimelineTurn, person: str) -> list[Message]:
    """The person's own messages of a turn, as they sent them (password marks left out)."""
    out = []
    for m in turn.messages:
        if m["role"] != "human" or m.get("agent") not in (None, person):
            continue
        act = dict(m.get("act") or {})
        if act.get("text") in PASSWORD_MARKS and not m.get("world"):
            continue
        out.append(Message(act))
    return out


def _needs_people(task: Any, timeline: Timeline) -> str | None:
    for world in dict.fromkeys(m.get("world") for m in timeline.messages if m.get("world")):
        spec = task.worlds.get(world)
        if spec is not None and getattr(spec, "agents_required", 1) > 1:
            return f"world {world} needs {spec.agents_required} people"
    return None


def copy_documents(source: Store, target: Store) -> int:
    """Every document set of ``source`` into ``target`` (with the file each was imported from);
    returns how many sets."""
    names = source.document_sets()
    for name in names:
        docs = source.documents(name)
        copy = target.documents(name)
        copy.write(docs.read(), replace=True)
        origin = docs.source()
        if origin.path is not None and origin.digest is not None:
            copy.set_source(origin.path, origin.digest)
    return len(names)


def generative_bots(task: Any) -> list[str]:
    """The task's bots whose replies a replay takes from the record (capabilities.GenerativeBot)."""
    return [b for b in task.bot_configs if _generative(engine_class(task, b))]


def _generative(cls: type | None) -> bool:
    return cls is not None and issubclass(cls, GenerativeBot)


class RecordedReplies(Engine):
    """Speaks for a model bot in a replay: each turn, what the bot said in that turn then."""

    name = "recorded"

    def __init__(self, bot: str, timelines: dict[str, Timeline]) -> None:
        self.bot = bot
        self.timelines = timelines
        #: conversation -> the last turn replayed
        self._at: dict[str, int] = {}

    def _turn(self, context: Context, number: int, state: dict[str, Any]) -> Turn:
        timeline = self.timelines.get(context.conversation_id or "")
        if timeline is None:
            return Turn([], state, {"recorded": True, "missing": "conversation"})
        try:
            t = timeline.turn(number)
        except LookupError:
            return Turn([], state, {"recorded": True, "missing": f"turn {number}"})
        replies = [Message(m.get("act") or {}) for m in t.messages if m.get("agent") == self.bot and m["role"] == "bot"]
        at = t.bots.get(self.bot)
        new = at.state if at is not None and at.state is not None else state
        return Turn(replies, new, {"recorded": True, "turn": number})

    def greeting(self, state: dict[str, Any], context: Context) -> Turn | None:
        return self._turn(context, 0, state)

    def step(self, state: dict[str, Any], message: Message, context: Context) -> Turn:
        cid = context.conversation_id or ""
        timeline = self.timelines.get(cid)
        done = self._at.get(cid, 0)
        number = done + 1
        if timeline is not None:
            # the next turn of the record that opened with this message
            number = next((t.number for t in timeline.turns if t.number > done and t.said == message.text), number)
        self._at[cid] = number
        return self._turn(context, number, state)
