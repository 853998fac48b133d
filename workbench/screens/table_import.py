"""ImportTableScreen: check a table file, show its problems by row and column, load on confirmation.

Checking reads the file with :func:`~workbench.engines.decision_table.table_io.read_file`
in a worker; nothing is loaded until the person confirms, and then only the valid rows.
The screen is dismissed with an :class:`ImportChoice`; the caller loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from workbench.engines.decision_table.table_io import TableRead

#: problems listed in full (the rest are counted)
SHOWN = 200


@dataclass
class ImportChoice:
    read: TableRead
    #: replace the whole table instead of adding to it (states with the same name are replaced either way)
    replace: bool


def report(read: TableRead) -> Text:
    """What a check found: counts, then every error and warning with its place in the file."""
    text = Text()
    n, errs, warns = len(read.states), len(read.errors), len(read.warnings)
    text.append(f"{read.source} ({read.layout} layout): {n} valid state(s)", style="bold")
    if read.rejected:
        text.append(f", {read.rejected} row(s) rejected", style="bold")
    text.append("\n")
    if not read.problems:
        text.append("no problems found\n")
    for p in (read.errors + read.warnings)[:SHOWN]:
        mark = "✗ error  " if p.severity == "error" else "! warning "
        text.append(mark, style="bold" if p.severity == "error" else "italic")
        text.append(f"{p}\n")
    if errs + warns > SHOWN:
        text.append(f"... and {errs + warns - SHOWN} more\n", style="italic")
    return text


class ImportTableScreen(ModalScreen[ImportChoice | None]):
    """Type a path, check it, then load the valid states (or cancel)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="table_import.cancel", tooltip="Close without importing")]

    class Checked(Message):
        """A file was read (``read``) or could not be (``error``)."""

        def __init__(self, path: str, read: TableRead | None, error: str | None = None) -> None:
            super().__init__()
            self.path = path
            self.read = read
            self.error = error

    def __init__(self, default: str = "") -> None:
        super().__init__()
        self.default = default
        self.read: TableRead | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="table-import", classes="wb-modal"):
            yield Label("Import states from a CSV (any starchat layout) or JSON file", classes="wb-modal-title")
            with Horizontal(id="import-path-row"):
                yield Input(self.default, placeholder="path/to/table.csv", id="import-path")
                yield Button("Check", id="import-check")
            with VerticalScroll(id="import-report-scroll"):
                yield Static(
                    "Type a path and press Enter to check the file; nothing is loaded yet.", id="import-report"
                )
            yield Checkbox("Replace the whole table (otherwise states are added or updated)", id="import-replace")
            with Horizontal(classes="wb-modal-buttons"):
                yield Button("Load", id="import-load", variant="primary", disabled=True)
                yield Button("Cancel", id="import-cancel")

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    @on(Input.Submitted, "#import-path")
    @on(Button.Pressed, "#import-check")
    def _check(self) -> None:
        path = self.query_one("#import-path", Input).value.strip()
        if not path:
            self.notify("Type the path of a table file first.", severity="warning")
            return
        self.read = None
        self.query_one("#import-load", Button).disabled = True
        self.query_one("#import-report", Static).update(f"checking {path}…")
        self.check(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="table-import", name="check-table-file")
    def check(self, path: str) -> None:
        from workbench.engines.decision_table.table_io import UNREADABLE, read_file

        read = read_file(Path(path).expanduser())
        if read.layout == UNREADABLE:  # missing, not a regular file, too large, not UTF-8
            self.post_message(self.Checked(path, None, "; ".join(str(p) for p in read.problems)))
            return
        self.post_message(self.Checked(path, read))

    @on(Checked)
    def _checked(self, message: Checked) -> None:
        if message.path != self.query_one("#import-path", Input).value.strip():
            return  # the path changed since: a stale check
        status = self.query_one("#import-report", Static)
        load = self.query_one("#import-load", Button)
        if message.read is None:
            status.update(Text(f"✗ {message.error}", style="bold"))
            load.disabled = True
            return
        self.read = message.read
        status.update(report(message.read))
        n = len(message.read.states)
        load.disabled = n == 0
        if message.read.errors:
            load.label = f"Load the {n} valid state(s), skip {message.read.rejected} row(s)"
        else:
            load.label = f"Load {n} state(s)"

    @on(Button.Pressed, "#import-load")
    def _load(self) -> None:
        if self.read is not None and self.read.states:
            self.dismiss(ImportChoice(self.read, self.query_one("#import-replace", Checkbox).value))

    @on(Button.Pressed, "#import-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
