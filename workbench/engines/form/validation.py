"""Slot validation: type, choices, regex, range, then a Python validator; a reason on rejection."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from workbench.engines.form.context import FormContext
from workbench.engines.form.spec import SlotDef
from workbench.engines.nlu.dates import find_dates
from workbench.engines.nlu.numbers import words_to_number

TRUE = {"true", "yes", "y", "yeah", "yep", "sure", "1", "on", "ok", "okay"}
FALSE = {"false", "no", "n", "nope", "0", "off"}


class Rejected(Exception):
    """A value a slot does not accept; ``str()`` is the reason, ``said`` what to tell the person."""

    def __init__(self, reason: str, said: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.said = said


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise Rejected("expected a number")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        n = words_to_number(text)
        if n is None:
            raise Rejected("expected a number") from None
        return float(n)


def coerce(d: SlotDef, value: Any) -> Any:
    """``value`` as the slot's type; Rejected when it cannot be."""
    kind = d.type
    if value is None or kind == "any":
        return value
    if kind == "text":
        return value if isinstance(value, str) else str(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        low = str(value).strip().lower()
        if low in TRUE:
            return True
        if low in FALSE:
            return False
        raise Rejected("expected yes or no")
    if kind == "int":
        n = _number(value)
        if not n.is_integer():
            raise Rejected("expected a whole number")
        return int(n)
    if kind in ("float", "number"):
        n = _number(value)
        return int(n) if kind == "number" and n.is_integer() else n
    if kind == "date":
        if isinstance(value, dt.date):
            return value.isoformat()
        text = str(value).strip()
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            found = find_dates(text)
            if not found:
                raise Rejected("expected a date") from None
            return found[0].value
    if kind == "list":
        return list(value) if isinstance(value, (list, tuple)) else [value]
    return value  # categorical: checked against choices below


def _choice(d: SlotDef, value: Any) -> Any:
    choices = d.choices or []
    for c in choices:
        if c == value or (isinstance(c, str) and str(value).strip().lower() == c.lower()):
            return c
    if isinstance(value, str) and any(isinstance(c, bool) for c in choices):
        low = value.strip().lower()
        if low in TRUE and True in choices:
            return True
        if low in FALSE and False in choices:
            return False
    raise Rejected("expected one of: " + ", ".join(str(c) for c in choices))


def validate(d: SlotDef, value: Any, ctx: FormContext, validators: dict[str, Any]) -> Any:
    """The value the slot keeps, or Rejected with the reason."""
    value = coerce(d, value)
    if value is None:
        return None
    items = value if d.type == "list" else [value]
    if d.choices is not None:
        items = [_choice(d, v) for v in items]
    for v in items:
        if d.regex is not None and not re.fullmatch(d.regex, str(v), flags=re.IGNORECASE):
            raise Rejected(f"does not match {d.regex}")
        if d.min is not None or d.max is not None:
            n = _number(v)
            if d.min is not None and n < d.min:
                raise Rejected(f"must be at least {d.min:g}")
            if d.max is not None and n > d.max:
                raise Rejected(f"must be at most {d.max:g}")
    value = items if d.type == "list" else items[0]
    if d.validator:
        fn = validators[d.validator]
        try:
            value = fn(value, ctx)
        except ValueError as exc:
            raise Rejected(f"validator {d.validator}: {exc}", said=str(exc) or None) from None
    return value
