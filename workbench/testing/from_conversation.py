"""A stored (or replayed) conversation as a conversation test, up to a chosen turn.

The steps are what ``workbench chat --record`` writes (:func:`recorded_test`): each of the
person's messages a ``user`` step (a ``click`` when it was one of the quick replies just
offered), each message they were sent a ``bot`` step. Messages of other people (a partner
in a human chat) are what the person was sent, so they are ``bot`` steps too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.runtime.timeline import Timeline
from workbench.testing.conversation import recorded_test


def steps_of(timeline: Timeline, upto: int | None = None) -> list[tuple[str, Any]]:
    """The (kind, value) steps of the conversation up to the end of turn ``upto`` (all of it: None)."""
    rows = timeline.transcript(upto if upto is not None else timeline.last) if timeline.turns else []
    person = timeline.conversation.get("person")
    offered: list[str] = []
    steps: list[tuple[str, Any]] = []
    for row in rows:
        act = row.get("act") or {}
        text = str(act.get("text") or "")
        if row["role"] == "human" and (row.get("agent") in (None, person)):
            if text:
                steps.append(("click" if text in offered else "user", text))
            offered = []
            continue
        if text:
            steps.append(("bot", text))
        if act.get("quick_replies"):
            offered = [str(q) for q in act["quick_replies"]]
    return steps


def conversation_test(timeline: Timeline, upto: int | None = None, name: str | None = None) -> str:
    """The YAML text of a test file holding one test: the conversation up to turn ``upto``."""
    last = upto if upto is not None else timeline.last
    default = f"conversation {timeline.conversation_id} up to turn {last}"
    return recorded_test(name or default, steps_of(timeline, upto))


def save_test(path: Path, text: str) -> Path:
    """Write a test file (its folder made if needed); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
