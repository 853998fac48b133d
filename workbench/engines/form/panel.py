"""The slot panel's headless side: what to show for each slot, and setting one by hand.

The TUI renders :class:`SlotPanel`; it never computes anything itself.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.engines.form.context import FormContext
from workbench.engines.form.requirements import requirements
from workbench.engines.form.spec import FormsDef


@dataclass
class SlotRow:
    name: str
    value: Any
    filled: bool
    #: the number of the message that filled it (1 = the conversation's first), and its text
    message: int | None = None
    text: str | None = None
    #: how: the mapping ("from_entity cuisine (lookup)"), "by hand", "action x"
    how: str | None = None
    #: who: user, action, hand
    by: str | None = None
    required: bool = False
    #: why it is (or is not) required: the form, a rule, the hook
    why: str = ""
    requested: bool = False
    priority: float = 0


@dataclass
class SlotPanel:
    form: str | None
    requested_slot: str | None
    turns: int
    max_turns: int | None
    #: how the last form ended: {form, result: finished|exited|failed|switched, turns}
    outcome: dict[str, Any] | None
    rows: list[SlotRow] = field(default_factory=list)
    #: the rules that fire on the current values
    rules: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def slot_panel(state: dict[str, Any], forms: FormsDef, registry: Any = None) -> SlotPanel:
    """Every slot with its value and provenance; the active form's first, in asking order."""
    slots = state.get("slots") or {}
    filled = state.get("filled") or {}
    form = state.get("form")
    requested = state.get("requested_slot")
    order: list[str] = []
    reasons: dict[str, str] = {}
    required: set[str] = set()
    fired: list[dict[str, Any]] = []
    if form in forms.forms:
        f = forms.forms[form]
        hooks = getattr(registry, "hooks", None) or {}
        ctx = FormContext(form=form, slots=copy.deepcopy(slots), requested_slot=requested)
        req = requirements(forms, form, slots, hooks, lambda: ctx)
        required = set(req.required)
        reasons = req.reasons
        fired = req.fired
        order = [*req.required, *[s for s in f.slots if s not in required]]
    order += [s for s in forms.slots if s not in order]
    order += [s for s in slots if s not in order]
    rows = []
    for name in order:
        info = filled.get(name) or {}
        value = slots.get(name)
        try:
            priority = forms.slot(name, form).priority
        except KeyError:
            priority = 0
        why = reasons.get(name) or ("no form is active" if not form else f"not a slot of form {form!r}")
        rows.append(
            SlotRow(
                name=name,
                value=value,
                filled=value is not None,
                message=info.get("message"),
                text=info.get("text"),
                how=info.get("how"),
                by=info.get("by"),
                required=name in required,
                why=why,
                requested=name == requested,
                priority=priority,
            )
        )
    max_turns = forms.forms[form].max_turns if form in forms.forms else None
    return SlotPanel(form, requested, int(state.get("turns") or 0), max_turns, state.get("outcome"), rows, fired)


def set_slot(state: dict[str, Any], slot: str, value: Any, forms: FormsDef | None = None) -> dict[str, Any]:
    """A new state with ``slot`` set to ``value`` by hand (nothing validated, the form not advanced)."""
    if forms is not None and slot not in forms.slots and slot not in (state.get("slots") or {}):
        raise KeyError(f"no slot named {slot!r}; slots: {', '.join(forms.slots)}")
    new = copy.deepcopy(state)
    new.setdefault("slots", {})[slot] = value
    filled = new.setdefault("filled", {})
    if value is None:
        filled.pop(slot, None)
    else:
        filled[slot] = {"message": None, "text": None, "intent": None, "how": "by hand", "by": "hand"}
    return new


def clear_slot(state: dict[str, Any], slot: str) -> dict[str, Any]:
    """A new state with ``slot`` emptied."""
    return set_slot(state, slot, None)
