"""Which slot values a message carries: slot mappings, their intents and conditions.

Every slot's mappings are tried on every message (Rasa 3's rule); the first
mapping of a slot that applies and yields a value wins. ``conditions`` limit a
mapping to an active form and/or a requested slot. In Rasa's notation,
``/intent{"slot": "value"}``, a name no mapping used fills the slot of that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.engines.form.spec import FormsDef, Mapping
from workbench.engines.nlu.parse import Parse


@dataclass
class Candidate:
    slot: str
    value: Any
    how: str
    #: the entity's span, when it came from one
    span: tuple[int, int] | None = None


def applies(m: Mapping, intent: str | None, form: str | None, requested: str | None) -> bool:
    if m.intent and intent not in m.intent:
        return False
    if m.not_intent and intent in m.not_intent:
        return False
    if not m.conditions:
        return True
    for cform, cslot, form_given in m.conditions:
        if form_given and cform != form:
            continue
        if cslot is not None and cslot != requested:
            continue
        return True
    return False


def extract(
    forms: FormsDef,
    parse: Parse,
    form: str | None,
    requested: str | None,
    trigger: str | None = None,
    only: set[str] | None = None,
) -> list[Candidate]:
    """Slot values in ``parse`` for the situation (active ``form``, ``requested`` slot).

    ``trigger`` is the intent that is activating ``form`` in this very message
    (from_trigger_intent mappings only apply then).
    """
    out: list[Candidate] = []
    names = list(forms.slots)
    if form and form in forms.forms:
        # the active form's slots first: several slots in one message fill in its order
        names = list(dict.fromkeys([*forms.forms[form].slots, *names]))
    for name in names:
        if only is not None and name not in only:
            continue
        d = forms.slot(name, form)
        for m in d.mappings:
            if not applies(m, parse.intent, form, requested):
                continue
            cand = _value(m, parse, name, trigger, list_slot=d.type == "list")
            if cand is not None:
                out.append(cand)
                break
    if parse.source == "notation":
        # /intent{"slot": "value"} names slots: what no mapping took fills the slot of that name
        taken = {c.slot for c in out}
        for e in parse.entities:
            if e.entity in forms.slots and e.entity not in taken and (only is None or e.entity in only):
                out.append(Candidate(e.entity, e.value, "notation"))
                taken.add(e.entity)
    return out


def _value(m: Mapping, parse: Parse, slot: str, trigger: str | None, list_slot: bool) -> Candidate | None:
    if m.type == "from_entity":
        found = [e for e in parse.entities if e.entity == m.entity and e.role == m.role and e.group == m.group]
        if not found:
            return None
        first = found[0]
        span = (first.start, first.end) if first.start is not None else None
        value = [e.value for e in found] if list_slot else first.value
        return Candidate(slot, value, m.describe() + f" ({first.extractor})", span)
    if m.type == "from_text":
        if parse.source == "notation" or not parse.text.strip():
            return None  # "/inform{...}" is not something a person wrote
        return Candidate(slot, parse.text.strip(), "from_text", (0, len(parse.text)))
    if m.type == "from_intent":
        if not m.intent and parse.intent is None:
            return None
        return Candidate(slot, m.value, m.describe())
    if m.type == "from_trigger_intent":
        if trigger is None or (m.intent and trigger not in m.intent):
            return None
        return Candidate(slot, m.value, m.describe())
    return None
