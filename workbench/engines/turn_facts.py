"""What one turn of a bot did, in the terms a developer sets breakpoints in.

An engine that can say so satisfies :class:`~workbench.engines.capabilities.DebuggableBot`:
from the state before a turn, the state after it and the turn's trace it names the
states (or forms) entered, the slots set and cleared, whether nothing matched (a
fallback), whether a form failed, and the errors the engine noted without raising.
The runtime's breakpoints (workbench/runtime/debugger.py) and the step view's
highlights read these facts, never the engine's own trace keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TurnFacts:
    #: states (a decision table's) or forms (a form bot's) entered, in order
    entered: list[str] = field(default_factory=list)
    #: slots (a form's slots, a table's data) given a value
    slots_set: list[str] = field(default_factory=list)
    #: slots emptied
    slots_cleared: list[str] = field(default_factory=list)
    #: nothing matched the message: a fallback answered (or nothing did)
    fallback: bool = False
    #: why a form failed in this turn (an invalid answer, a value refused, max_turns), if it did
    form_failed: str | None = None
    #: problems the engine noted without raising (a missing state, a failed action...)
    errors: list[str] = field(default_factory=list)


def changed_values(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> tuple[list[str], list[str]]:
    """The keys of ``after`` given a new value (not None) and the keys emptied (gone or None)."""
    before = before or {}
    after = after or {}
    set_ = [k for k, v in after.items() if v is not None and (k not in before or before[k] != v)]
    cleared = [k for k, v in before.items() if v is not None and after.get(k) is None]
    return set_, cleared
