"""Rasa's NLU-result notation as a user turn: ``/intent``, ``/intent{"slot": "value"}``.

So dialogue logic can be tested without a model. ``/intent@0.7{...}`` sets the
confidence. Entity values may be plain (``"mexican"``), lists (one entity per
item), or ``{"value": ..., "role": ..., "group": ...}``; a JSON list of
``{"entity": ..., "value": ...}`` objects is accepted too.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.engines.nlu.entities import Entity
from workbench.engines.nlu.parse import Parse
from workbench.engines.nlu.ranking import IntentScore
from workbench.io.untrusted import JsonLimits, UntrustedInput, parse_json

#: the entities of one message in Rasa notation (a person's text)
NOTATION_JSON = JsonLimits(max_bytes=1 << 16, max_depth=8)

_NOTATION_RE = re.compile(
    r"^\s*/(?P<intent>[\w.:-]+)(?:@(?P<confidence>[0-9]*\.?[0-9]+))?(?P<entities>\{.*\}|\[.*\])?\s*$", re.DOTALL
)


def is_notation(text: str) -> bool:
    return bool(_NOTATION_RE.match(text or ""))


def _entity(name: str, raw: Any) -> list[Entity]:
    if isinstance(raw, list):
        return [e for item in raw for e in _entity(name, item)]
    if isinstance(raw, dict) and "value" in raw:
        return [
            Entity(
                name,
                raw["value"],
                extractor="notation",
                role=raw.get("role"),
                group=None if raw.get("group") is None else str(raw["group"]),
            )
        ]
    return [Entity(name, raw, extractor="notation")]


def parse_notation(text: str) -> Parse | None:
    """The Parse the notation describes, or None when ``text`` is not notation."""
    m = _NOTATION_RE.match(text or "")
    if m is None:
        return None
    intent = m.group("intent")
    confidence = float(m.group("confidence")) if m.group("confidence") else 1.0
    parse = Parse(
        text=text, intent=intent, confidence=confidence, ranking=[IntentScore(intent, confidence)], source="notation"
    )
    body = m.group("entities")
    if body:
        try:
            raw = parse_json(body, NOTATION_JSON, what=f"entity object after /{intent}")
        except UntrustedInput as exc:
            parse.error = exc.message
            return parse
        if not isinstance(raw, (dict, list)):
            parse.error = f"the entities after /{intent} are a JSON object or a list of objects"
        elif isinstance(raw, dict):
            for name, value in raw.items():
                parse.entities.extend(_entity(str(name), value))
        else:
            for item in raw:
                if isinstance(item, dict) and "entity" in item:
                    parse.entities.extend(_entity(str(item["entity"]), {"value": item.get("value"), **item}))
                else:
                    parse.error = "a list of entities holds objects with `entity` and `value`"
    return parse
