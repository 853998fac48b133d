"""Which slot values a message carries: slot mappings, their intents and conditions.

Every slot's mappings are tried on every message (Rasa 3's rule); the first
mapping of a slot that applies and yields a value wins. ``conditions`` limit a
mapping to an active form and/or a requested slot. In Rasa's notation,
``/intent{"slot": "value"}``, a name no mapping used fills the slot of that name.

Three rules keep a value where it belongs:

* **Unique entity mappings** (Rasa 3): while a form is active, a ``from_entity``
  mapping that several of the form's slots share (same entity, role, group,
  intents and conditions) fills only the slot being requested; a mapping only
  one slot has fills that slot whatever is asked.
* **Corrections are not answers**: a message that fills another slot from an
  entity ("actually we will be 4 people" while the location is asked) is about
  that slot, so the requested slot's ``from_text`` mapping does not take the
  whole sentence.
* **In passing**: a message the form answers as an exit, chitchat or a request
  for details (``in_passing``) still fills what its entities carry (rasa_core
  fills an entity's slot whatever the intent), but never a slot from its text
  or from an intent the mapping does not name.
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
    #: the mapping's type that found it (``notation`` for a name in Rasa's notation)
    source: str = ""


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
    in_passing: bool = False,
) -> list[Candidate]:
    """Slot values in ``parse`` for the situation (active ``form``, ``requested`` slot).

    ``trigger`` is the intent that is activating ``form`` in this very message
    (from_trigger_intent mappings only apply then). ``in_passing``: the message is
    not an answer (an exit, chitchat, details): only entities and intents that a
    mapping names fill slots.
    """
    out: list[Candidate] = []
    names = list(forms.slots)
    form_slots: set[str] = set()
    shared: set[tuple] = set()
    if form and form in forms.forms:
        # the active form's slots first: several slots in one message fill in its order
        names = list(dict.fromkeys([*forms.forms[form].slots, *names]))
        form_slots = set(forms.forms[form].slots)
        shared = shared_entity_mappings(forms, form)
    for name in names:
        if only is not None and name not in only:
            continue
        d = forms.slot(name, form)
        for m in d.mappings:
            if not applies(m, parse.intent, form, requested):
                continue
            if in_passing and not (m.type == "from_entity" or (m.type == "from_intent" and m.intent)):
                continue
            if m.type == "from_entity" and name != requested and name in form_slots and _key(m) in shared:
                continue  # the entity answers whichever of its slots is asked, not all of them
            cand = _value(m, parse, name, trigger, list_slot=d.type == "list")
            if cand is not None:
                out.append(cand)
                break
    if parse.source == "notation":
        # /intent{"slot": "value"} names slots: what no mapping took fills the slot of that name
        taken = {c.slot for c in out}
        for e in parse.entities:
            if e.entity in forms.slots and e.entity not in taken and (only is None or e.entity in only):
                out.append(Candidate(e.entity, e.value, "notation", source="notation"))
                taken.add(e.entity)
    if any(c.source in ("from_entity", "notation") for c in out):
        # a correction of another slot is not the answer to the question asked
        out = [c for c in out if not (c.source == "from_text" and c.slot == requested)]
    return out


def _key(m: Mapping) -> tuple:
    return (m.entity, m.role, m.group, tuple(m.intent), tuple(m.not_intent), tuple(m.conditions))


def shared_entity_mappings(forms: FormsDef, form: str) -> set[tuple]:
    """The ``from_entity`` mappings that more than one slot of ``form`` has (Rasa 3's
    non-unique entity mappings)."""
    seen: set[tuple] = set()
    shared: set[tuple] = set()
    for name in forms.forms[form].slots:
        for m in forms.slot(name, form).mappings:
            if m.type != "from_entity":
                continue
            key = _key(m)
            (shared if key in seen else seen).add(key)
    return shared


def _value(m: Mapping, parse: Parse, slot: str, trigger: str | None, list_slot: bool) -> Candidate | None:
    if m.type == "from_entity":
        found = [e for e in parse.entities if e.entity == m.entity and e.role == m.role and e.group == m.group]
        if not found:
            return None
        first = found[0]
        span = (first.start, first.end) if first.start is not None and first.end is not None else None
        value = [e.value for e in found] if list_slot else first.value
        return Candidate(slot, value, m.describe() + f" ({first.extractor})", span, m.type)
    if m.type == "from_text":
        if parse.source == "notation" or not parse.text.strip():
            return None  # "/inform{...}" is not something a person wrote
        return Candidate(slot, parse.text.strip(), "from_text", (0, len(parse.text)), m.type)
    if m.type == "from_intent":
        if not m.intent and parse.intent is None:
            return None
        return Candidate(slot, m.value, m.describe(), source=m.type)
    if m.type == "from_trigger_intent":
        if trigger is None or (m.intent and trigger not in m.intent):
            return None
        return Candidate(slot, m.value, m.describe(), source=m.type)
    return None
