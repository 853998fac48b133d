"""A state as a form edits it: one text per field in, a validated :class:`State` out.

The TUI's state editor (and any other form) shows :func:`form_fields` and saves
:func:`state_from_form`; every problem comes back at once as a :class:`FieldError`
naming the field, and for an analyzer the line and character with a caret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from workbench.engines.decision_table.analyzer import AnalyzerError, parse
from workbench.engines.decision_table.model import State

#: the fields a form shows, in order
FORM_FIELDS = (
    "state",
    "evaluation_class",
    "execution_order",
    "max_state_count",
    "analyzer",
    "queries",
    "bubble",
    "action",
    "action_input",
    "state_data",
    "success_value",
    "failure_value",
)
#: fields written as JSON objects in a form
JSON_FIELDS = ("action_input", "state_data")


@dataclass
class FieldError:
    """A problem with one field of a form; ``line``/``char`` are 1-based, inside the field."""

    field: str
    message: str
    line: int | None = None
    char: int | None = None
    #: the offending line with a caret under the character (analyzers)
    pointer: str | None = None

    def __str__(self) -> str:
        where = self.field
        if self.line is not None:
            where += f", line {self.line}"
        if self.char is not None:
            where += f", character {self.char}"
        return f"{where}: {self.message}"


class StateFormError(ValueError):
    """Every problem of a form at once."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def form_fields(state: State | None) -> dict[str, str]:
    """The text of each field of ``state`` (a new state's defaults when None)."""
    s = state if state is not None else State(state="new_state")
    out: dict[str, str] = {}
    for name in FORM_FIELDS:
        value = getattr(s, name)
        if name == "queries":
            out[name] = "\n".join(value)
        elif name in JSON_FIELDS:
            out[name] = json.dumps(value, ensure_ascii=False, indent=1) if value else ""
        else:
            out[name] = str(value)
    if state is None:
        out["state"] = ""
    return out


def analyzer_error(exc: AnalyzerError, source: str) -> FieldError:
    """An analyzer's syntax error as a field error with its line and character."""
    pos = min(max(exc.position, 0), len(source))
    line = source.count("\n", 0, pos) + 1
    char = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return FieldError("analyzer", exc.message, line, char, exc.pointer())


def state_from_form(fields: dict[str, str]) -> State:
    """A State from a form's texts; raises :class:`StateFormError` listing every problem."""
    errors: list[FieldError] = []
    doc: dict[str, Any] = {}
    for name in FORM_FIELDS:
        raw = str(fields.get(name, "") or "")
        if name == "queries":
            doc[name] = [line for line in raw.splitlines() if line.strip()]
        elif name in ("execution_order", "max_state_count"):
            text = raw.strip() or ("1" if name == "execution_order" else "0")
            try:
                doc[name] = int(text)
            except ValueError:
                errors.append(FieldError(name, f"expected a whole number, got {text!r}"))
        elif name in JSON_FIELDS:
            text = raw.strip()
            if not text:
                doc[name] = {}
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                errors.append(FieldError(name, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno))
                continue
            if not isinstance(value, dict):
                errors.append(
                    FieldError(name, f'expected a JSON object such as {{"name": "value"}}, got {type(value).__name__}')
                )
                continue
            doc[name] = value
        else:
            doc[name] = raw
    analyzer = str(doc.get("analyzer") or "")
    if analyzer.strip():
        try:
            parse(analyzer.strip())
        except AnalyzerError as exc:
            errors.append(analyzer_error(exc, analyzer.strip()))
    bad = {e.field for e in errors}
    try:
        state = State.model_validate({k: v for k, v in doc.items() if k not in bad})
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc") or ("state",)
            name = str(loc[0])
            if name not in bad:
                msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                errors.append(FieldError(name, msg))
        state = None  # type: ignore[assignment]
    if errors or state is None:
        errors.sort(key=lambda e: FORM_FIELDS.index(e.field) if e.field in FORM_FIELDS else len(FORM_FIELDS))
        raise StateFormError(errors)
    return state


def missing_targets(state: State, names: Iterable[str]) -> list[str]:
    """Warnings for the states ``state`` leads to that are not in the table (``names``)."""
    known = set(names) | {state.state}
    return [
        f"{field} names {target!r}, which is not a state of the table"
        for field, target in state.targets()
        if target not in known
    ]
