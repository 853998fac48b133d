"""A form turn as breakpoint facts (workbench/engines/turn_facts.py): the form activated, the
slots set and cleared (``trace["slots_changed"]``), a fallback (the message below the NLU's
threshold, or nothing in it for the bot), a failed form (``max_turns`` reached, or a value
its validation refused), and the errors of Python actions."""

from __future__ import annotations

from typing import Any

from workbench.engines.turn_facts import TurnFacts


def turn_facts(before: dict[str, Any] | None, after: dict[str, Any], trace: dict[str, Any] | None) -> TurnFacts:
    trace = trace or {}
    entered = []
    form = after.get("form")
    if form and form != (before or {}).get("form"):
        entered.append(str(form))
    set_: list[str] = []
    cleared: list[str] = []
    for change in trace.get("slots_changed") or []:
        slot = str(change.get("slot"))
        (cleared if change.get("new") is None else set_).append(slot)
    parse: dict[str, Any] = trace["parse"] if isinstance(trace.get("parse"), dict) else {}
    failed = None
    outcome = trace.get("outcome") if isinstance(trace.get("outcome"), dict) else None
    if outcome and outcome.get("result") == "failed" and trace.get("form_before") == outcome.get("form"):
        failed = f"form {outcome.get('form')} failed after {outcome.get('turns')} turn(s)"
    elif trace.get("rejected"):
        r = trace["rejected"][0]
        failed = f"{r.get('slot')}={r.get('value')!r} refused: {r.get('reason')}"
    errors = [
        f"{e.get('action')}: {e.get('error')}" if isinstance(e, dict) else str(e) for e in trace.get("errors") or []
    ]
    return TurnFacts(
        entered=entered,
        slots_set=list(dict.fromkeys(set_)),
        slots_cleared=list(dict.fromkeys(cleared)),
        fallback=bool(parse.get("fallback")) or trace.get("handled") is False,
        form_failed=failed,
        errors=errors,
    )
