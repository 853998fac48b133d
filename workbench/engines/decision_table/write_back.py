"""Writing a table's states back to the file it was imported from, in that file's layout.

Edits made in the TUI, over REST or with `workbench table import` live in the store; the
table file in the task directory is what a clean checkout (a colleague, CI running
`workbench test`) starts from. :func:`plan_write_back` computes the file's new text and
a unified diff to show before anything is written; :meth:`WriteBack.apply` writes it.

The file keeps its layout: its header (column names, order and spelling), its line
endings, and every row whose state did not change, byte for byte. A changed state's row
is rewritten in place, a deleted state's row is removed, new states are appended. A
field the layout has no column for (an analyzer in starchat's 7-column 2016 layout)
gets a column at the end, so nothing an edit made is lost. A JSON table is written as
a list in the file's order, new states last.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workbench.engines.decision_table.model import State
from workbench.engines.decision_table.table_io import (
    JSON_CELLS,
    POSITIONAL,
    TableRead,
    _csv_rows,
    _layout_of,
    state_from_cells,
)
from workbench.io import files


class FileChanged(RuntimeError):
    """The table file changed between showing the diff and writing: nothing was written."""


@dataclass
class WriteBack:
    """What writing the table back would do: the file, its text now and after, and the diff."""

    path: Path
    old: str
    new: str
    #: the byte-order mark the file starts with ("" when none): kept in front of the new text
    bom: str = ""

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self, context: int = 2) -> str:
        """A unified diff of the file (empty when nothing changes)."""
        lines = difflib.unified_diff(
            self.old.splitlines(keepends=True),
            self.new.splitlines(keepends=True),
            fromfile=f"{self.path.name} (the file)",
            tofile=f"{self.path.name} (the store's table)",
            n=context,
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    @property
    def digest(self) -> str:
        """The SHA-256 of the new content (what the table records as its source)."""
        return hashlib.sha256((self.bom + self.new).encode("utf-8")).hexdigest()

    def apply(self) -> None:
        """Write the new text (to a temporary file first, then renamed over the old one).
        Raises :class:`FileChanged` when the file is no longer what the diff was made from."""
        now = files.read_text(self.path, files.DATA_LIMIT, "decision table") if self.path.exists() else ""
        now = now.removeprefix("\ufeff")
        if now != self.old:
            raise FileChanged(f"{self.path} changed since the diff was made; look at the new diff first")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(self.bom + self.new)
            if self.path.exists():
                os.chmod(tmp, self.path.stat().st_mode & 0o777)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def plan_write_back(path: Path, states: list[State]) -> WriteBack:
    """The file at ``path`` rewritten to hold ``states`` (the store's table, in its order)."""
    old = files.read_text(path, files.DATA_LIMIT, "decision table").removeprefix("\ufeff")
    with path.open("rb") as fh:
        bom = "\ufeff" if fh.read(3) == "\ufeff".encode() else ""
    if path.suffix.lower() in (".json", ".jsonl") or old.lstrip().startswith(("[", "{")):
        return WriteBack(path, old, _json(old, states), bom)
    return WriteBack(path, old, _csv(old, states), bom)


def _json(old: str, states: list[State]) -> str:
    try:
        before = json.loads(old)
    except ValueError:
        before = []
    items = before.get("states", []) if isinstance(before, dict) else before
    order = {str(o.get("state")): i for i, o in enumerate(items) if isinstance(o, dict)}
    ranked = sorted(states, key=lambda s: (order.get(s.state, len(order)),))
    body = [s.document() for s in ranked]
    out = {"states": body} if isinstance(before, dict) else body
    return json.dumps(out, ensure_ascii=False, indent=2) + "\n"


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _cell(state: State, fname: str, quoted_target: bool) -> str:
    value = getattr(state, fname)
    if fname in JSON_CELLS:
        return json.dumps(value, ensure_ascii=False) if value else ""
    if fname in ("success_value", "failure_value") and quoted_target and value:
        return json.dumps(value, ensure_ascii=False)  # starchat 2016 writes them JSON-quoted
    return str(value)


def _csv(text: str, states: list[State]) -> str:
    newline = _newline(text)
    rows = _csv_rows(text, TableRead("<file>", "csv")) or []
    layout = _layout_of(rows[0][1]) if rows else None
    if rows and layout is not None:
        header: list[str] | None = list(rows[0][1])
        columns = dict(layout[0])
        body = rows[1:]
    elif rows and len(rows[0][1]) in POSITIONAL:
        header = None
        columns = dict(enumerate(POSITIONAL[len(rows[0][1])]))
        body = rows
    else:  # an empty or unreadable file: the named layout of every field
        header = list(POSITIONAL[12])
        columns = dict(enumerate(header))
        body = []
    by_name = {s.state: s for s in states}
    # a field some state sets that the layout has no column for gets one at the end
    default = State.model_validate({"state": "x"})
    for fname in POSITIONAL[12]:
        if fname not in columns.values() and any(getattr(s, fname) != getattr(default, fname) for s in states):
            columns[max(columns) + 1 if columns else 0] = fname
            if header is not None:
                header.append(fname)
    width = max(columns) + 1
    lines = text.splitlines(keepends=True)
    starts = [line for line, _ in body] + [len(lines) + 1]
    quoted = _targets_quoted(body, columns)

    def record(cells: list[str]) -> str:
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator=newline).writerow(cells)
        return out.getvalue()

    def cells_of(state: State, was: list[str] | None = None) -> list[str]:
        """The row's cells; a target cell keeps the quoting it had (the file's usual one if new)."""
        cells = [""] * width
        for i, fname in columns.items():
            before = was[i].strip() if was is not None and i < len(was) else ""
            cells[i] = _cell(state, fname, before.startswith('"') if before else quoted)
        return cells

    out: list[str] = []
    if rows and header is not None:
        grew = len(header) != len(rows[0][1])
        out.append(
            record(header) if grew else "".join(lines[rows[0][0] - 1 : (body[0][0] if body else len(lines) + 1) - 1])
        )
    written: set[str] = set()
    for k, (line_no, cells) in enumerate(body):
        raw = "".join(lines[line_no - 1 : starts[k + 1] - 1])
        padded = cells + [""] * (width - len(cells))
        name = next((padded[i].strip() for i, f in columns.items() if f == "state" and i < len(padded)), "")
        if not name:
            out.append(raw)  # a blank line or a comment-like row: kept as it was
            continue
        state = by_name.get(name)
        if state is None or name in written:
            if state is None and state_from_cells({f: padded[i] for i, f in columns.items()})[0] is None:
                out.append(raw)  # a defective row the import left out: the store never had it
            continue  # deleted since (or a duplicate the import rejected)
        written.add(name)
        if _same(state, padded, cells_of(state, cells), columns):
            out.append(raw if raw.endswith(("\n", "\r")) else raw + newline)
        else:
            out.append(record(cells_of(state, cells)))
    for s in states:
        if s.state not in written:
            out.append(record(cells_of(s)))
    result = "".join(out)
    if text and not text.endswith(("\n", "\r")) and result.endswith(newline) and result[: -len(newline)] == text:
        result = result[: -len(newline)]
    return result


def _same(state: State, cells: list[str], written: list[str], columns: dict[int, str]) -> bool:
    """Whether a row of the file holds ``state``: its cells as this module would write them
    (cheap, and true for most rows), else the state they read as (JSON spacing, quoting)."""
    if all(cells[i] == written[i] for i in columns):
        return True
    before, _ = state_from_cells({f: cells[i] for i, f in columns.items()})
    return before is not None and before == state


def _targets_quoted(body: list[tuple[int, list[str]]], columns: dict[int, str]) -> bool:
    """Whether the file mostly writes success/failure values JSON-quoted (starchat's 2016 layout)."""
    targets = [i for i, f in columns.items() if f in ("success_value", "failure_value")]
    cells = [c[i].strip() for _, c in body for i in targets if i < len(c) and c[i].strip()]
    return sum(c.startswith('"') for c in cells) * 2 > len(cells)
