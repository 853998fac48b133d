"""Which slots a form needs now: its required slots, changed by rules and a hook, by priority.

Computed from the current slot values every time, so a rule's effect is
undone as soon as the value that fired it changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.engines.form.spec import FormsDef


@dataclass
class Requirements:
    #: the slots needed, in the order they are asked (priority, then declaration)
    required: list[str]
    #: slot -> why it is or is not required
    reasons: dict[str, str] = field(default_factory=dict)
    #: the rules that fired: {slot, value, need, lose}
    fired: list[dict[str, Any]] = field(default_factory=list)
    #: what the hook changed: {hook, added, removed}
    hook: dict[str, Any] | None = None


def same_value(rule_key: Any, value: Any) -> bool:
    """A rule's key (a YAML scalar) matches a slot value, case-insensitively."""

    def norm(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip().lower()

    if isinstance(value, list):
        return any(same_value(rule_key, v) for v in value)
    return norm(rule_key) == norm(value)


def requirements(
    forms: FormsDef,
    form: str,
    slots: dict[str, Any],
    hooks: dict[str, Callable[..., Any]] | None = None,
    make_context: Callable[[], Any] | None = None,
) -> Requirements:
    f = forms.forms[form]
    required = list(f.required)
    reasons = {s: "required by the form" for s in required}
    fired: list[dict[str, Any]] = []
    lost: set[str] = set()
    for rslot, effects in f.rules.items():
        value = slots.get(rslot)
        if value is None:
            continue
        for key, (need, lose) in effects.items():
            if not same_value(key, value):
                continue
            fired.append({"slot": rslot, "value": value, "need": list(need), "lose": list(lose)})
            for s in need:
                if s not in required:
                    required.append(s)
                reasons[s] = f"needed: rule {rslot}={key}"
            for s in lose:
                lost.add(s)
                reasons[s] = f"not needed: rule {rslot}={key}"
    # a slot both needed and lost by rules is lost: dropping a question is the safer mistake
    required = [s for s in required if s not in lost]
    hook_info = None
    if f.hook and hooks and f.hook in hooks:
        before = list(required)
        result = hooks[f.hook](list(required), make_context() if make_context else None)
        returned = [str(s) for s in (result if result is not None else before)]
        # a hook may only name slots the forms file defines (they need a question)
        unknown = [s for s in returned if s not in forms.slots and s not in f.slots]
        required = [s for s in dict.fromkeys(returned) if s not in unknown]
        added = [s for s in required if s not in before]
        removed = [s for s in before if s not in required]
        for s in added:
            reasons[s] = f"added by hook {f.hook}"
        for s in removed:
            reasons[s] = f"removed by hook {f.hook}"
        hook_info = {"hook": f.hook, "added": added, "removed": removed}
        if unknown:
            hook_info["unknown"] = unknown
    position = {s: i for i, s in enumerate(required)}

    def priority(s: str) -> float:
        return forms.slot(s, form).priority

    ordered = sorted(required, key=lambda s: (priority(s), position[s]))
    for s in f.slots:
        reasons.setdefault(s, "not required by the form")
    return Requirements(ordered, reasons, fired, hook_info)
