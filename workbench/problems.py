"""Errors a person can act on: the file, the place in it, what was expected.

``Problem`` is the one shape of "something is wrong here" for every loader, reader
and validator (task files, forms, NLU data, decision tables, knowledge bases,
conversation tests, a state typed into a form); ``validate_model`` turns a
pydantic model's errors into Problems at the lines of their keys."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

#: ``{key path: line}`` (1-based) of a parsed file
Lines = dict[tuple, int]

Severity = Literal["error", "warning"]


@dataclass
class Problem:
    """Something wrong at a place, located as precisely as it is known (every number 1-based).

    ``Problem(file, line, key, message)`` is a problem in a text file: the line, and
    ``key`` the key path (``bots.desk.table``) or field at fault; ``column`` is then the
    character in that line. A problem in one record of a table (a CSV row, an item of
    a JSON list) has a ``row`` (a spreadsheet's: the header is row 1): ``key`` is the
    column's or field's name, ``column`` the cell's column number, ``line`` the line the
    row starts on, and ``char`` the character inside the cell. A problem in a form (no
    ``file``) names the field in ``key``, with ``line`` and ``char`` inside its text.
    ``subject`` names what the record defines (a state). ``severity``: a warning
    does not stop anything.
    """

    file: str
    line: int | None = None
    key: str | None = None
    message: str = ""
    column: int | None = None
    row: int | None = None
    char: int | None = None
    subject: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        if self.row is not None:
            return self._in_record()
        if not self.file:
            return self._in_form()
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        key = f" {self.key}:" if self.key else ""
        inside = f" (character {self.char})" if self.char else ""
        return f"{where}:{key}{inside} {self.message}"

    def _in_record(self) -> str:
        parts = [self.file] if self.file else []
        row = f"row {self.row}"
        if self.line and self.line != self.row:
            row += f" (line {self.line})"
        parts.append(row)
        if self.column is not None:
            parts.append(f"column {self.column}" + (f" ({self.key})" if self.key else ""))
        elif self.key:
            parts.append(f"column {self.key!r}")
        if self.char is not None:
            parts.append(f"character {self.char}")
        subject = f" [{self.subject}]" if self.subject else ""
        return f"{', '.join(parts)}{subject}: {self.message}"

    def _in_form(self) -> str:
        parts = [self.key or "form"]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.char is not None:
            parts.append(f"character {self.char}")
        return f"{', '.join(parts)}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        """The fields that are set (a JSON body's shape of a problem)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


class TaskError(Exception):
    """A task that cannot be loaded; ``problems`` says every reason found."""

    def __init__(self, problems: list[Problem] | Problem | str, file: str | Path | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(str(file or "task"), None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def line_of(lines: Lines, loc: tuple) -> int | None:
    """The line of the deepest known prefix of ``loc``."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _describe(err: Any, model_fields: list[str] | None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        if model_fields:
            close = difflib.get_close_matches(str(err["loc"][-1]) if err["loc"] else "", model_fields, n=1, cutoff=0.6)
            guess = f" (did you mean `{close[0]}`?)" if close else ""
            return f"unknown key{guess}; expected one of: {', '.join(model_fields)}"
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    got = err.get("input")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind not in ("value_error",) and not isinstance(got, (dict, list)):
        msg += f" (got {got!r})"
    return msg[0].lower() + msg[1:] if msg else msg


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str] | None:
    """The keys a model accepts at ``loc`` (for 'unknown key' messages)."""
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        f = current.model_fields.get(str(part))
        if f is None:
            return None
        ann = f.annotation
        args = getattr(ann, "__args__", ())
        nxt = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if nxt is None:
            # a list of models
            for a in args:
                inner = getattr(a, "__args__", ())
                nxt = next((x for x in inner if isinstance(x, type) and issubclass(x, BaseModel)), None)
                if nxt:
                    break
        if nxt is None:
            return None
        current = nxt
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def validate_model(
    model: type[BaseModel], data: Any, prefix: tuple, file: str | Path, lines: Lines, problems: list[Problem]
) -> Any:
    """``data`` validated by ``model``, or None with a Problem per error appended to ``problems``
    (each at the line of its key, saying what was expected)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            full = prefix + loc
            key = ".".join(str(p) for p in full) or None
            problems.append(Problem(str(file), line_of(lines, full), key, _describe(err, _fields_at(model, loc))))
        return None
