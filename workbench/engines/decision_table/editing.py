"""A state as a form edits it: one text per field in, a validated :class:`State` out.

The TUI's state editor (and any other form) shows :func:`form_fields` and saves
:func:`state_from_form`; every problem comes back at once as a
:class:`~workbench.problems.Problem` naming the field in ``key`` (a form has no
file), and for an analyzer or a JSON field the line and character inside it
(:func:`pointer` draws a caret under it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from workbench.engines.decision_table.analyzer import AnalyzerError, parse
from workbench.engines.decision_table.model import State
from workbench.engines.decision_table.table_io import CELL_JSON, json_reason
from workbench.io.numbers import whole_number
from workbench.io.untrusted import UntrustedInput, parse_json
from workbench.problems import Problem

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


class StateFormError(ValueError):
    """Every problem of a form at once."""

    def __init__(self, errors: list[Problem]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def field_problem(name: str, message: str, line: int | None = None, char: int | None = None) -> Problem:
    """A problem with the form field ``name``; ``line``/``char`` are inside its text."""
    return Problem("", line, name, message, char=char)


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


def analyzer_error(exc: AnalyzerError, source: str) -> Problem:
    """An analyzer's syntax error as a field problem with its line and character."""
    pos = min(max(exc.position, 0), len(source))
    line = source.count("\n", 0, pos) + 1
    char = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return field_problem("analyzer", exc.message, line, char)


def pointer(problem: Problem, text: str) -> str | None:
    """The line of ``text`` (the field's) that ``problem`` points into, with a caret
    under its character; None when the problem has no character."""
    if problem.char is None:
        return None
    lines = text.strip().split("\n")
    index = (problem.line or 1) - 1
    if not 0 <= index < len(lines):
        return None
    return f"{lines[index]}\n{' ' * (problem.char - 1)}^"


def _json_field(name: str, raw: str, doc: dict[str, Any], errors: list[Problem]) -> None:
    text = raw.strip()
    if not text:
        doc[name] = {}
        return
    try:
        value = parse_json(text, CELL_JSON, what=name)
    except UntrustedInput as exc:
        errors.append(field_problem(name, json_reason(exc), exc.line, exc.column))
        return
    if not isinstance(value, dict):
        errors.append(
            field_problem(name, f'expected a JSON object such as {{"name": "value"}}, got {type(value).__name__}')
        )
        return
    doc[name] = value


def state_from_form(fields: dict[str, str]) -> State:
    """A State from a form's texts; raises :class:`StateFormError` listing every problem."""
    errors: list[Problem] = []
    doc: dict[str, Any] = {}
    for name in FORM_FIELDS:
        raw = str(fields.get(name, "") or "")
        if name == "queries":
            doc[name] = [line for line in raw.splitlines() if line.strip()]
        elif name in ("execution_order", "max_state_count"):
            text = raw.strip() or ("1" if name == "execution_order" else "0")
            try:
                doc[name] = whole_number(text)
            except ValueError as exc:
                errors.append(field_problem(name, str(exc)))
        elif name in JSON_FIELDS:
            _json_field(name, raw, doc, errors)
        else:
            doc[name] = raw
    analyzer = str(doc.get("analyzer") or "")
    if analyzer.strip():
        try:
            parse(analyzer.strip())
        except AnalyzerError as exc:
            errors.append(analyzer_error(exc, analyzer.strip()))
    bad = {e.key for e in errors}
    state: State | None = None
    try:
        state = State.model_validate({k: v for k, v in doc.items() if k not in bad})
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc") or ("state",)
            name = str(loc[0])
            if name not in bad:
                errors.append(field_problem(name, str(err.get("msg", "invalid")).removeprefix("Value error, ")))
    if errors or state is None:
        order = {name: i for i, name in enumerate(FORM_FIELDS)}
        errors.sort(key=lambda e: order.get(e.key or "", len(FORM_FIELDS)))
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
