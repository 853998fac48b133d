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
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workbench.engines.decision_table.analyzer import AnalyzerError, parse
from workbench.engines.decision_table.model import FIELDS, State, field_for
from workbench.io import files, spreadsheet
from workbench.io.numbers import whole_number
from workbench.io.untrusted import JsonLimits, UntrustedInput, clean_text, parse_json
from workbench.problems import Problem, TaskError

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

#: the layout of a file that could not be read (missing, not a regular file, too large, not UTF-8)
UNREADABLE = "unreadable"

#: a JSON cell (queries, action_input, state_data) and a whole JSON table
CELL_JSON = JsonLimits(max_bytes=1 << 20, max_depth=32)
TABLE_JSON = JsonLimits(max_bytes=files.DATA_LIMIT, max_depth=64)


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


class TableFileError(TaskError, ValueError):
    """A table that cannot be used as it is; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        lines = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        self.args = (f"{len(problems)} problem(s) in the decision table:\n{lines}{more}",)

    def __str__(self) -> str:
        return str(self.args[0])


# -- cells ----------------------------------------------------------------------


def _fault(fname: str, message: str, char: int | None = None) -> Problem:
    """A problem with one field of a state; the reader adds the file, row and column."""
    return Problem("", key=fname, message=message, char=char)


def _json_cell(raw: str, fname: str) -> Any:
    """The value of a JSON cell; raises UntrustedInput (with the place inside the cell)."""
    text = raw.strip()
    if not text:
        return [] if fname == "queries" else {}
    if fname == "queries" and not text.startswith("["):
        return [text]  # one query written without brackets
    return parse_json(text, CELL_JSON, what="cell")


def json_reason(exc: UntrustedInput) -> str:
    """What is wrong with a JSON value whose place is reported separately."""
    # the decoder's "Unterminated string starting at" points at the reported character
    return exc.reason + " this character" if exc.reason.endswith(" at") else exc.reason


def _char_in(raw: str, exc: UntrustedInput) -> int | None:
    """The 1-based character of ``raw`` (a cell) that a JSON error points at."""
    if exc.line is None or exc.column is None:
        return None
    lead = len(raw) - len(raw.lstrip())
    lines = raw.strip().split("\n")
    return lead + sum(len(line) + 1 for line in lines[: exc.line - 1]) + exc.column


def _target_cell(raw: str) -> str:
    """success_value / failure_value: the 2016 layout writes them JSON-quoted."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            value = json.loads(text)
            if isinstance(value, str):
                return value.strip()
        except ValueError:
            pass
    return text


def state_from_cells(cells: dict[str, str]) -> tuple[State | None, list[Problem]]:
    """Build a State from raw text cells: (state, problems naming the field in ``key``)."""
    values: dict[str, Any] = {}
    errors: list[Problem] = []
    for fname, raw in cells.items():
        raw = raw if raw is not None else ""
        if fname in JSON_CELLS:
            try:
                values[fname] = _json_cell(raw, fname)
            except UntrustedInput as exc:
                errors.append(_fault(fname, json_reason(exc), _char_in(raw, exc)))
        elif fname in ("success_value", "failure_value"):
            values[fname] = _target_cell(raw)
        elif fname in ("execution_order", "max_state_count"):
            if raw.strip():
                try:
                    values[fname] = whole_number(raw)
                except ValueError as exc:
                    errors.append(_fault(fname, str(exc)))
        else:
            values[fname] = raw
    return _validated(values, errors)


def _pydantic_faults(exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        fname = loc[0] if loc else "state"
        msg = err["msg"].removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        got = err.get("input")
        if err["type"] != "value_error" and not isinstance(got, (dict, list)):
            msg += f" (got {str(got)[:40]!r})" if isinstance(got, str) else f" (got {got!r})"
        if len(loc) > 1:
            msg = f"{'.'.join(loc[1:])}: {msg}"
        if err["type"] == "missing":
            msg = "required"
        out.append(_fault(fname, msg))
    return out


def _validated(values: dict[str, Any], errors: list[Problem]) -> tuple[State | None, list[Problem]]:
    bad = {e.key for e in errors}
    clean = {k: v for k, v in values.items() if k not in bad}
    try:
        state = State.model_validate(clean)
    except ValidationError as exc:
        return None, errors + _pydantic_faults(exc)
    if state.analyzer:
        try:
            parse(state.analyzer)
        except AnalyzerError as exc:
            errors.append(_fault("analyzer", exc.message, exc.char))
    if errors:
        return None, errors
    return state, errors


def state_from_json(obj: Any) -> tuple[State | None, list[Problem]]:
    """Build a State from a JSON object with snake_case or camelCase keys."""
    if not isinstance(obj, dict):
        return None, [_fault("state", f"expected an object, got {_kind(obj)}")]
    values: dict[str, Any] = {}
    errors: list[Problem] = []
    for key, value in obj.items():
        fname = field_for(key)
        if fname is None:
            errors.append(_fault(str(key), f"unknown field; expected one of: {', '.join(FIELDS)}"))
            continue
        if fname in ("success_value", "failure_value") and isinstance(value, str):
            value = _target_cell(value)
        if fname == "evaluation_class" and value is None:
            value = ""
        values[fname] = value
    if errors:
        return None, errors
    return _validated(values, errors)


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "true or false", int: "a number", float: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


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


def _csv_rows(text: str, result: TableRead) -> list[tuple[int, list[str]]] | None:
    """(line, cells) of every record; None (with the problem) when the CSV is unreadable."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            rows.append((line, [clean_text(cell) for cell in row]))
            line = reader.line_num + 1
    except csv.Error as exc:
        result.problems.append(Problem(result.source, reader.line_num, None, f"unreadable CSV: {exc}"))
        return None
    return rows


@dataclass
class _Columns:
    """How a CSV's columns map to fields."""

    mapping: dict[int, str]
    names: dict[int, str]
    body: list[tuple[int, list[str]]]
    #: the row number of the first body record
    first_row: int

    def column_of(self, fname: str | None) -> int | None:
        return next((i for i, f in self.mapping.items() if f == fname), None)


def _columns(rows: list[tuple[int, list[str]]], result: TableRead) -> _Columns | None:
    """The layout of a CSV (from its header, or its width); None when there is none."""
    first_line, header = rows[0]
    layout = _layout_of(header)
    if layout is None:
        width = len(header)
        if width not in POSITIONAL:
            result.problems.append(
                Problem(
                    result.source,
                    first_line,
                    message=f"no header with a 'state' column, and {width} columns match no known layout "
                    "(7: starchat 2016, 11: with analyzer, 12: with evaluation class)",
                    row=1,
                )
            )
            return None
        result.layout = f"positional ({width} columns, no header)"
        mapping = dict(enumerate(POSITIONAL[width]))
        return _Columns(mapping, dict(mapping), rows, 1)
    mapping, unknown = layout
    if len(header) == 7 and set(mapping.values()) == set(LAYOUT_2016):
        result.layout = "starchat 2016 (7 columns)"
    elif len(header) == 11 and set(mapping.values()) == set(LAYOUT_11):
        result.layout = "starchat (11 columns)"
    else:
        result.layout = f"named header ({len(mapping)} columns)"
    for name in unknown:
        result.problems.append(
            Problem(
                result.source,
                first_line,
                name,
                "unknown column, ignored",
                column=header.index(name) + 1,
                row=1,
                severity="warning",
            )
        )
    return _Columns(mapping, {i: header[i].strip() for i in mapping}, rows[1:], 2)


def read_csv(text: str, source: str = "<csv>") -> TableRead:
    """Read a table in any of starchat's three CSV layouts."""
    if text.startswith("\ufeff"):
        text = text[1:]
    result = TableRead(source, "empty")
    rows = _csv_rows(text, result)
    if rows is None:
        return result
    if not rows:
        result.problems.append(Problem(source, message="the file is empty", severity="warning"))
        return result
    columns = _columns(rows, result)
    if columns is None:
        return result
    seen: dict[str, int] = {}
    named: set[str] = set()
    for offset, (line_no, row) in enumerate(columns.body):
        if any(c.strip() for c in row):
            _read_row(result, columns, columns.first_row + offset, line_no, row, seen, named)
    _check_targets(result, seen, named)
    return result


def _read_row(
    result: TableRead,
    columns: _Columns,
    row_no: int,
    line_no: int,
    row: list[str],
    seen: dict[str, int],
    named: set[str],
) -> None:
    """One CSV record: its state into ``result.states``, or its problems (at their cells)."""
    width = max(columns.mapping) + 1
    if len(row) < width:
        row = row + [""] * (width - len(row))
    cells = {fname: row[i] for i, fname in columns.mapping.items()}
    state, errors = state_from_cells(cells)
    name = cells.get("state", "").strip() or None
    if name:
        named.add(name)

    def at_cell(fault: Problem, fname: str | None, subject: str | None) -> Problem:
        col = columns.column_of(fname)
        key = columns.names.get(col, fault.key) if col is not None else fault.key
        column = col + 1 if col is not None else None
        return replace(fault, file=result.source, row=row_no, line=line_no, key=key, column=column, subject=subject)

    result.problems.extend(at_cell(fault, fault.key, _subject(name)) for fault in errors)
    if state is None:
        result.rejected += 1
        return
    if state.state in seen:
        duplicate = _fault("state", f"state {state.state!r} is already defined in row {seen[state.state]}")
        result.problems.append(at_cell(duplicate, "state", _subject(state.state)))
        result.rejected += 1
        return
    seen[state.state] = row_no
    result.states.append(state)


def _subject(state: str | None) -> str | None:
    return f"state {state}" if state else None


def _check_targets(result: TableRead, rows: dict[str, int], named: Iterable[str] = ()) -> None:
    """Warn about transitions and buttons that name no state of the table (rejected rows count as named)."""
    names = {s.state for s in result.states} | set(named)
    for s in result.states:
        for fname, target in s.targets():
            if target not in names:
                result.problems.append(
                    Problem(
                        result.source,
                        key=fname.split(".")[0],
                        message=f"{fname} names {target!r}, which is not a state of this table",
                        row=rows.get(s.state),
                        subject=_subject(s.state),
                        severity="warning",
                    )
                )


# -- JSON -----------------------------------------------------------------------


def _json_states(text: str, result: TableRead) -> list[Any] | None:
    """The list of state objects in a JSON table; None (with the problem) when there is none."""
    try:
        data = parse_json(text, TABLE_JSON, what="table")
    except UntrustedInput as exc:
        result.problems.append(Problem(result.source, exc.line, None, exc.reason, column=exc.column))
        return None
    if isinstance(data, dict):
        if isinstance(data.get("hits"), list):
            data = [h.get("document", h) if isinstance(h, dict) else h for h in data["hits"]]
        else:
            data = data.get("states", data.get("documents"))
    if not isinstance(data, list):
        result.problems.append(Problem(result.source, message='expected a list of states (or {"states": [...]})'))
        return None
    return data


def read_json(text: str, source: str = "<json>") -> TableRead:
    """A JSON list of states, or ``{"states": [...]}`` / starchat's ``{"hits": [{"document": ...}]}``."""
    result = TableRead(source, "json")
    data = _json_states(text, result)
    if data is None:
        return result
    seen: dict[str, int] = {}
    for i, obj in enumerate(data):
        state, errors = state_from_json(obj)
        name = obj.get("state") if isinstance(obj, dict) and isinstance(obj.get("state"), str) else None
        for fault in errors:
            result.problems.append(replace(fault, file=source, row=i + 1, subject=_subject(name)))
        if state is None:
            result.rejected += 1
            continue
        if state.state in seen:
            result.problems.append(
                Problem(
                    source,
                    key="state",
                    message=f"state {state.state!r} is already defined at item {seen[state.state]}",
                    row=i + 1,
                    subject=_subject(state.state),
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
    """Read a table file (a regular file within :data:`~workbench.io.files.DATA_LIMIT`);
    a file that cannot be read is a TableRead with that one problem."""
    p = Path(path)
    try:
        text = files.read_text(p, files.DATA_LIMIT, "decision table")
    except TaskError as exc:
        return TableRead(str(p), UNREADABLE, problems=list(exc.problems))
    suffix = p.suffix.lower()
    kind = "json" if suffix in (".json", ".jsonl") else "csv" if suffix in (".csv", ".tsv") else None
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
