"""A decision-table turn as breakpoint facts (workbench/engines/turn_facts.py): the states the
turn entered (``trace["states"]``), the conversation data it set or emptied (the table's
slots: a form's answers, an action's results), a fallback (the fallback state, the fallback
bot or no answer at all), an invalid form answer, and the errors the trace lists."""

from __future__ import annotations

from typing import Any

from workbench.engines.turn_facts import TurnFacts, changed_values

#: routes that mean no state matched the message
FALLBACK_ROUTES = frozenset({"fallback_state", "fallback_bot", "no_answer"})


def turn_facts(before: dict[str, Any] | None, after: dict[str, Any], trace: dict[str, Any] | None) -> TurnFacts:
    trace = trace or {}
    set_, cleared = changed_values((before or {}).get("data"), after.get("data"))
    form = trace.get("form") if isinstance(trace.get("form"), dict) else None
    failed = None
    if trace.get("route") == "form_invalid" and form is not None:
        failed = f"the answer to the form of {form.get('state')} is not valid"
    return TurnFacts(
        entered=[str(s) for s in trace.get("states") or []],
        slots_set=set_,
        slots_cleared=cleared,
        fallback=trace.get("route") in FALLBACK_ROUTES,
        form_failed=failed,
        errors=[str(e) for e in trace.get("errors") or []],
    )
