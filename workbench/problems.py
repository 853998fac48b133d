"""Errors a person can act on: file, line, key, what was expected.

``Problem`` is the one shape of "something is wrong at this place in this file";
``validate_model`` turns a pydantic model's errors into Problems at the lines of their keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

#: ``{key path: line}`` (1-based) of a parsed file
Lines = dict[tuple, int]


@dataclass
class Problem:
    file: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


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


def _describe(err: dict, model_fields: list[str] | None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        if model_fields:
            return f"unknown key; expected one of: {', '.join(model_fields)}"
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
