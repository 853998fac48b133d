"""Read and write decision tables: starchat's three CSV layouts and JSON.

* the 2016 layout: 7 columns ``state, queries, bubble, action, action_input,
  success_value, failure_value`` (values of the last two may be JSON-quoted);
* the 11-column layout: adds ``execution_order, max_state_count, analyzer, state_data``;
* the named-header layout: camelCase headers in any order, multi-line cells and
  an ``evaluationClass`` column.

Headers are matched by name whatever their spelling (``queries (T,I)``,
``actionInput``); a file without a recognisable header is read by position when
it has 7, 11 or 12 columns. Every defect is reported with its row, line and
column; :class:`TableRead` keeps the good rows apart from the problems so a
caller decides whether to load the rest.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workbench.engines.decision_table.analyzer import AnalyzerError, parse
from workbench.engines.decision_table.model import FIELDS, State, field_for
from workbench.io import spreadsheet

LAYOUT_2016 = ("state", "queries", "bubble", "action", "action_input", "success_value", "failure_value")
LAYOUT_11 = (
    "state",
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
LAYOUT_12 = LAYOUT_11 + ("evaluation_class",)
POSITIONAL = {7: LAYOUT_2016, 11: LAYOUT_11, 12: LAYOUT_12}

#: columns written by :func:`write_csv` (snake_case; read back by name)
EXPORT_COLUMNS = LAYOUT_12

JSON_CELLS = {"queries", "action_input", "state_data"}


@dataclass
class Problem:
    """A defect, located as precisely as known."""

    file: str
    message: str
    row: int | None = None  # spreadsheet row: the header is row 1
    line: int | None = None  # line in the file where the row starts
    column: str | None = None  # field name as written in the file
    column_number: int | None = None  # 1-based
    char: int | None = None  # 1-based character inside the cell
    state: str | None = None
    severity: str = "error"  # error | warning

    def where(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}" + (f" (line {self.line})" if self.line and self.line != self.row else ""))
        if self.column is not None:
            parts.append(
                f"column {self.column_number} ({self.column})" if self.column_number else f"column {self.column}"
            )
        if self.char is not None:
            parts.append(f"character {self.char}")
        return ", ".join(parts)

    def __str__(self) -> str:
        who = f" [state {self.state}]" if self.state else ""
        return f"{self.where()}{who}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class TableRead:
    """The outcome of reading a table file: valid states, errors and warnings."""

    source: str
    layout: str
    states: list[State] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: rows that had an error (they are not in ``states``)
    rejected: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


class TableFileError(ValueError):
    """A table that cannot be used as it is; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the decision table:\n{lines}{more}")


# -- cells ----------------------------------------------------------------------


def _json_cell(raw: str, fname: str) -> Any:
    text = raw.strip()
    if not text:
        return [] if fname == "queries" else {}
    if fname == "queries" and not text.startswith("["):
        return [text]  # one query written without brackets
    return json.loads(text)


def _target_cell(raw: str) -> str:
    """success_value / failure_value: the 2016 layout writes them JSON-quoted."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            value = json.loads(text)
            if isinstance(value, str):
                return value.strip()
        except json.JSONDecodeError:
            pass
    return text


def _json_message(exc: json.JSONDecodeError) -> str:
    msg = exc.msg[0].lower() + exc.msg[1:]
    if msg.endswith(" at"):
        msg += " this character"
    return f"invalid JSON: {msg}"


def state_from_cells(cells: dict[str, str]) -> tuple[State | None, list[tuple[str, str, int | None]]]:
    """Build a State from raw text cells: (state, [(field, message, char)])."""
    values: dict[str, Any] = {}
    errors: list[tuple[str, str, int | None]] = []
    for fname, raw in cells.items():
        raw = raw if raw is not None else ""
        if fname in JSON_CELLS:
            try:
                values[fname] = _json_cell(raw, fname)
            except json.JSONDecodeError as exc:
                lead = len(raw) - len(raw.lstrip())
                errors.append((fname, _json_message(exc), lead + exc.pos + 1))
        elif fname in ("success_value", "failure_value"):
            values[fname] = _target_cell(raw)
        elif fname in ("execution_order", "max_state_count"):
            text = raw.strip()
            if text:
                try:
                    values[fname] = int(float(text))
                except ValueError:
                    errors.append((fname, f"expected a whole number, got {text!r}", None))
        else:
            values[fname] = raw
    return _validated(values, errors)


def _validated(values: dict[str, Any], errors: list[tuple[str, str, int | None]]) -> tuple[State | None, list]:
    bad = {e[0] for e in errors}
    clean = {k: v for k, v in values.items() if k not in bad}
    try:
        state = State.model_validate(clean)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            fname = loc[0] if loc else "state"
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            if len(loc) > 1:
                msg = f"{'.'.join(loc[1:])}: {msg}"
            if err["type"] == "missing":
                msg = "required"
            errors.append((fname, msg, None))
        return None, errors
    if state.analyzer:
        try:
            parse(state.analyzer)
        except AnalyzerError as exc:
            errors.append(("analyzer", exc.message, exc.char))
    if errors:
        return None, errors
    return state, errors


def state_from_json(obj: Any) -> tuple[State | None, list[tuple[str, str, int | None]]]:
    """Build a State from a JSON object with snake_case or camelCase keys."""
    if not isinstance(obj, dict):
        return None, [("state", f"expected an object, got {type(obj).__name__}", None)]
    values: dict[str, Any] = {}
    errors: list[tuple[str, str, int | None]] = []
    for key, value in obj.items():
        fname = field_for(key)
        if fname is None:
            errors.append((str(key), f"unknown field; expected one of: {', '.join(FIELDS)}", None))
            continue
        if fname in ("success_value", "failure_value") and isinstance(value, str):
            value = _target_cell(value)
        if fname == "evaluation_class" and value is None:
            value = ""
        values[fname] = value
    if errors:
        return None, errors
    return _validated(values, errors)


# -- CSV ------------------------------------------------------------------------


def _layout_of(header: list[str]) -> tuple[dict[int, str], list[str]] | None:
    """Column index -> field for a header row, or None when it is not a header."""
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    for i, name in enumerate(header):
        f = field_for(name)
        if f is None:
            if name.strip():
                unknown.append(name)
            continue
        if f in mapping.values():
            unknown.append(name)
            continue
        mapping[i] = f
    if "state" not in mapping.values():
        return None
    return mapping, unknown


def read_csv(text: str, source: str = "<csv>") -> TableRead:
    """Read a table in any of starchat's three CSV layouts."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    result = TableRead(source, "empty")
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error as exc:
        result.problems.append(Problem(source, f"unreadable CSV: {exc}", line=reader.line_num))
        return result
    if not rows:
        result.problems.append(Problem(source, "the file is empty", severity="warning"))
        return result

    first_line, header = rows[0]
    layout = _layout_of(header)
    if layout is not None:
        mapping, unknown = layout
        names = {i: header[i].strip() for i in mapping}
        body = rows[1:]
        row_base = 2
        if len(header) == 7 and set(mapping.values()) == set(LAYOUT_2016):
            result.layout = "starchat 2016 (7 columns)"
        elif len(header) == 11 and set(mapping.values()) == set(LAYOUT_11):
            result.layout = "starchat (11 columns)"
        else:
            result.layout = f"named header ({len(mapping)} columns)"
        for name in unknown:
            col = header.index(name) + 1
            result.problems.append(
                Problem(
                    source,
                    "unknown column, ignored",
                    row=1,
                    line=first_line,
                    column=name,
                    column_number=col,
                    severity="warning",
                )
            )
    else:
        width = len(header)
        if width not in POSITIONAL:
            result.problems.append(
                Problem(
                    source,
                    f"no header with a 'state' column, and {width} columns match no known layout "
                    "(7: starchat 2016, 11: with analyzer, 12: with evaluation class)",
                    row=1,
                    line=first_line,
                )
            )
            return result
        mapping = dict(enumerate(POSITIONAL[width]))
        names = dict(mapping)
        body = rows
        row_base = 1
        result.layout = f"positional ({width} columns, no header)"

    seen: dict[str, int] = {}
    named: set[str] = set()
    width = max(mapping) + 1
    for offset, (line_no, row) in enumerate(body):
        row_no = row_base + offset
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        cells = {fname: row[i] for i, fname in mapping.items()}
        state, errors = state_from_cells(cells)
        name = cells.get("state", "").strip() or None
        if name:
            named.add(name)
        for fname, msg, char in errors:
            col = next((i for i, f in mapping.items() if f == fname), None)
            result.problems.append(
                Problem(
                    source,
                    msg,
                    row=row_no,
                    line=line_no,
                    column=names.get(col, fname) if col is not None else fname,
                    column_number=col + 1 if col is not None else None,
                    char=char,
                    state=name,
                )
            )
        if state is None:
            result.rejected += 1
            continue
        if state.state in seen:
            col = next(i for i, f in mapping.items() if f == "state")
            result.problems.append(
                Problem(
                    source,
                    f"state {state.state!r} is already defined in row {seen[state.state]}",
                    row=row_no,
                    line=line_no,
                    column=names[col],
                    column_number=col + 1,
                    state=state.state,
                )
            )
            result.rejected += 1
            continue
        seen[state.state] = row_no
        result.states.append(state)
    _check_targets(result, seen, named)
    return result


def _check_targets(result: TableRead, rows: dict[str, int], named: set[str] = frozenset()) -> None:
    """Warn about transitions and buttons that name no state of the table (rejected rows count as named)."""
    names = {s.state for s in result.states} | set(named)
    for s in result.states:
        for fname, target in s.targets():
            if target not in names:
                result.problems.append(
                    Problem(
                        result.source,
                        f"{fname} names {target!r}, which is not a state of this table",
                        row=rows.get(s.state),
                        column=fname.split(".")[0],
                        state=s.state,
                        severity="warning",
                    )
                )


# -- JSON -----------------------------------------------------------------------


def read_json(text: str, source: str = "<json>") -> TableRead:
    """A JSON list of states, or ``{"states": [...]}`` / starchat's ``{"hits": [{"document": ...}]}``."""
    result = TableRead(source, "json")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        result.problems.append(Problem(source, _json_message(exc), line=exc.lineno, char=exc.colno))
        return result
    if isinstance(data, dict):
        if "hits" in data:
            data = [h.get("document", h) if isinstance(h, dict) else h for h in data["hits"]]
        else:
            data = data.get("states", data.get("documents"))
    if not isinstance(data, list):
        result.problems.append(Problem(source, 'expected a list of states (or {"states": [...]})'))
        return result
    seen: dict[str, int] = {}
    for i, obj in enumerate(data):
        state, errors = state_from_json(obj)
        name = obj.get("state") if isinstance(obj, dict) else None
        for fname, msg, char in errors:
            result.problems.append(Problem(source, msg, row=i + 1, column=fname, char=char, state=name))
        if state is None:
            result.rejected += 1
            continue
        if state.state in seen:
            result.problems.append(
                Problem(
                    source,
                    f"state {state.state!r} is already defined at item {seen[state.state]}",
                    row=i + 1,
                    column="state",
                    state=state.state,
                )
            )
            result.rejected += 1
            continue
        seen[state.state] = i + 1
        result.states.append(state)
    _check_targets(result, seen)
    return result


def read_text(text: str, source: str = "<table>", kind: str | None = None) -> TableRead:
    """Read CSV or JSON; ``kind`` ('csv' / 'json') or the content decides."""
    if kind is None:
        kind = "json" if text.lstrip().startswith(("[", "{")) else "csv"
    return read_json(text, source) if kind == "json" else read_csv(text, source)


def read_file(path: str | Path) -> TableRead:
    p = Path(path)
    text = p.read_text(encoding="utf-8-sig")
    kind = (
        "json" if p.suffix.lower() in (".json", ".jsonl") else "csv" if p.suffix.lower() in (".csv", ".tsv") else None
    )
    return read_text(text, str(p), kind)


# -- writing ----------------------------------------------------------------------


def _cell(state: State, fname: str) -> str:
    value = getattr(state, fname)
    if fname in JSON_CELLS:
        return json.dumps(value, ensure_ascii=False) if value else ""
    return str(value)


def write_csv(states: list[State], raw: bool = False) -> str:
    """The named-header layout with snake_case headers (every field). Cells a spreadsheet
    would run as formulas get a leading ``'`` (:func:`workbench.io.spreadsheet.neutralise`)
    unless ``raw``; only a raw file reads back exactly."""
    out = io.StringIO(newline="")
    # CSV's own line ending: the csv module quotes a cell holding any character of the
    # terminator, so with "\n" alone a carriage return in a cell would break its row
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(EXPORT_COLUMNS)
    for s in states:
        w.writerow(spreadsheet.row((_cell(s, f) for f in EXPORT_COLUMNS), raw=raw))
    return out.getvalue()


def write_json(states: list[State]) -> str:
    return json.dumps([s.document() for s in states], ensure_ascii=False, indent=2) + "\n"
