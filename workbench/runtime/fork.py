"""Forks: a new conversation that starts where a stored one was at a turn, to try another path.

The fork gets a copy of the messages up to the end of that turn (so its transcript reads
as the original did) and every bot's engine state as it was then (from the state
history), written in one transaction; its ``meta`` says where it came from
(``forked_from``: conversation, turn and the seq of the last message copied). Resuming it
(:meth:`Runner.connect <workbench.runtime.runner.Runner.connect>` with ``resume=True``)
puts the person back in the world they were in, with the restored state.
"""

from __future__ import annotations

from workbench.message import Message
from workbench.runtime.timeline import load_timeline
from workbench.store import Commit, Record, Store


def fork_conversation(store: Store, conversation_id: str, turn: int, channel: str = "tui") -> str:
    """A new conversation from turn ``turn`` of ``conversation_id``; returns its id.
    Raises LookupError for an unknown conversation or turn. Blocking (a worker thread)."""
    timeline = load_timeline(store, conversation_id)
    at = timeline.turn(turn)
    source = timeline.conversation
    rows = timeline.transcript(turn)
    states = store.states_at(conversation_id, at.last_seq)
    world = next((r["world"] for r in reversed(rows) if r.get("world")), None) or source.get("world")
    meta = dict(source.get("meta") or {})
    meta["forked_from"] = {"conversation": conversation_id, "turn": turn, "seq": at.last_seq}
    new = store.new_conversation(
        str(source.get("task") or ""),
        str(source.get("person") or "you"),
        channel,
        world=world,
        data=dict(source.get("data") or {}),
        meta=meta,
    )
    records = [
        Record(
            Message(r.get("act") or {}),
            world=r.get("world"),
            world_instance=r.get("world_instance"),
            agent=r.get("agent"),
            role=r.get("role") or "human",
            trace=r.get("trace"),
        )
        for r in rows
    ]
    store.commit(
        Commit(
            records={new: records} if records else {},
            states=[(new, bot, state) for bot, state in states.items()],
            state_source="fork",
        )
    )
    return new
