"""DecisionTableScreen: a bot's decision table, live: browse, filter, edit, import, export, try.

Every edit goes through :class:`~workbench.runtime.editing.BotEditor` (as REST's and the CLI's
do) to the bot's decision table, so an edit persists in the store and the running
conversation uses it at its next turn. Blocking calls (building the engine,
writes, imports, ranking) run in thread workers that post messages; the rows
are added to the DataTable in batches by an exclusive worker that yields to the
event loop between batches, so 10,000 states load and filter without freezing
the screen, and a new filter cancels the one still running.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from workbench.engines.decision_table.editing import FORM_FIELDS
from workbench.engines.decision_table.state_view import matching_note
from workbench.engines.decision_table.ties import tie_note
from workbench.runtime.editing import BotEditor
from workbench.widgets.ranking_view import RankingView

if TYPE_CHECKING:
    from workbench.engines.decision_table.model import State
    from workbench.screens.table_import import ImportChoice

#: rows added to the DataTable between two yields to the event loop
BATCH = 500
#: how much of a long cell the table shows (the detail pane shows all)
CELL = 48
COLUMNS = (
    ("state", "state"),
    ("class", "class"),
    ("order", "order"),
    ("max", "max"),
    ("match", "matched by"),
    ("bubble", "bubble"),
    ("action", "action"),
    ("next", "next"),
)


def _short(text: str, width: int = CELL) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class StateRow:
    """One state as the table shows it, and the lower-case text a filter searches."""

    name: str
    cells: tuple[str, ...]
    haystack: str


def state_row(s: Any) -> StateRow:
    if s.analyzer:
        match = s.analyzer
    elif s.queries:
        match = f"{len(s.queries)} quer{'y' if len(s.queries) == 1 else 'ies'}: {s.queries[0]}"
    else:
        match = ""
    nexts = [t for _, t in s.targets()]
    cells = (
        s.state,
        s.evaluation_class,
        str(s.execution_order),
        str(s.max_state_count or ""),
        _short(match),
        _short(s.bubble),
        s.action,
        _short(", ".join(dict.fromkeys(nexts)), 32),
    )
    hay = " ".join(
        [
            s.state,
            s.evaluation_class,
            s.analyzer,
            *s.queries,
            s.bubble,
            s.action,
            *s.action_input.keys(),
            *s.action_input.values(),
            s.success_value,
            s.failure_value,
        ]
    ).lower()
    return StateRow(s.state, cells, hay)


def matches(rows: list[StateRow], text: str) -> list[StateRow]:
    """The rows whose text holds every word of ``text`` (case-insensitive); all rows for no words."""
    words = text.lower().split()
    if not words:
        return list(rows)
    return [r for r in rows if all(w in r.haystack for w in words)]


def state_detail(s: Any) -> Table:
    table = Table(box=None, show_header=False, expand=True, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name in FORM_FIELDS:
        value = getattr(s, name)
        if name == "queries":
            value = "\n".join(value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k} → {v}" for k, v in value.items())
        if value not in ("", None):
            table.add_row(name, Text(str(value)))
    return table


class DecisionTableScreen(Screen[None]):
    """All the states of one decision-table bot, with a try-an-utterance box."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="dt.close", tooltip="Back to the chat (from a box: back to the table)"),
        Binding("a", "add", "Add", id="dt.add", tooltip="Add a state"),
        Binding("e", "edit", "Edit", id="dt.edit", tooltip="Edit the highlighted state"),
        Binding("delete", "delete", "Delete", id="dt.delete", tooltip="Delete the highlighted state"),
        Binding("i", "import_table", "Import", id="dt.import", tooltip="Load states from a CSV or JSON file"),
        Binding("x", "export_table", "Export", id="dt.export", tooltip="Write the table to a CSV or JSON file"),
        Binding("slash", "focus_filter", "Filter", id="dt.filter", tooltip="Filter the states by any text"),
        Binding("t", "focus_try", "Try", id="dt.try", tooltip="Rank the states for an utterance and see why"),
        Binding(
            "b",
            "break_on_state",
            "Break",
            id="dt.break_on_state",
            tooltip="Hold the bot's turn when it enters the highlighted state (again: remove the breakpoint)",
        ),
        Binding(
            "w",
            "write_back",
            "Write back",
            id="dt.write_back",
            tooltip="Write the store's table back to the task's table file, in its layout (a diff to confirm first)",
        ),
    ]

    # -- messages from the workers ---------------------------------------------------
    class Loaded(Message):
        def __init__(self, table: Any, threshold: float | None, states: list[Any]) -> None:
            super().__init__()
            self.table = table
            self.threshold = threshold
            self.states = states

    class Saved(Message):
        def __init__(self, state: Any, created: bool, warnings: list[str]) -> None:
            super().__init__()
            self.state = state
            self.created = created
            self.warnings = warnings

    class Deleted(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class Imported(Message):
        def __init__(self, count: int, replace: bool, skipped: int) -> None:
            super().__init__()
            self.count = count
            self.replace = replace
            self.skipped = skipped

    class Exported(Message):
        def __init__(self, path: Path, count: int, fmt: str) -> None:
            super().__init__()
            self.path = path
            self.count = count
            self.fmt = fmt

    class Ranked(Message):
        def __init__(self, text: str, ranking: Any) -> None:
            super().__init__()
            self.text = text
            self.ranking = ranking

    class SourceChecked(Message):
        """How the store's table compares with the task's table file (``plan``: a WriteBack or
        None when the bot has no file); ``confirm``: show the diff to write it."""

        def __init__(self, plan: Any, confirm: bool = False) -> None:
            super().__init__()
            self.plan = plan
            self.confirm = confirm

    class WrittenBack(Message):
        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    class Failed(Message):
        """A worker could not do ``what``; ``error`` says why, for a person."""

        def __init__(self, what: str, error: str) -> None:
            super().__init__()
            self.what = what
            self.error = error

    def __init__(
        self, task: Any, bot: str, data: dict[str, Any] | None = None, editor: BotEditor | None = None
    ) -> None:
        super().__init__()
        self.wb_task = task
        self.bot = bot
        #: every edit goes through it (validated, stored, announced to the runner)
        self.editor = editor or BotEditor(task)
        #: variables the try box evaluates with (task data, the person's data)
        self.data = dict(data or {})
        self.table: Any = None
        self.threshold: float | None = None
        self._rows: list[StateRow] = []
        self._states: dict[str, Any] = {}
        self._shown = 0

    @property
    def states_total(self) -> int:
        """How many states the table has (0 until it is loaded)."""
        return len(self._rows)

    @property
    def rows_shown(self) -> int:
        """How many rows the last finished fill shows (a fill still running is not counted)."""
        return self._shown

    # -- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="dt-toolbar"):
            yield Input(placeholder="Filter: any words of a state's name, rule, queries, bubble…", id="dt-filter")
            yield Static("loading…", id="dt-count")
        yield Static("", id="dt-source")
        with Horizontal(id="dt-body"):
            yield DataTable(id="dt-states", cursor_type="row", zebra_stripes=True)
            with Vertical(id="dt-side"):
                yield Static("Try an utterance", classes="dt-side-title")
                yield Input(placeholder="e.g. I forgot my password", id="dt-try")
                with VerticalScroll(id="dt-ranking-scroll"):
                    yield RankingView("Type above: every state is scored and each match says why.", id="dt-ranking")
                yield Static("State", classes="dt-side-title")
                with VerticalScroll(id="dt-detail-scroll"):
                    yield Static("", id="dt-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"workbench · decision table · {self.bot}"
        table = self.query_one("#dt-states", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        table.focus()
        self.load()

    # -- loading -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="dt-load", name="load-decision-table")
    def load(self) -> None:
        """Build (or reuse) the bot's engine and read every state, off the UI thread."""
        try:
            table = self.editor.table(self.bot)
            threshold = self.wb_task.engine(self.bot).match_threshold()
            states = table.list()
        except Exception as exc:  # shown to the person, never a traceback
            self.post_message(self.Failed(f"open the decision table of {self.bot}", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Loaded(table, threshold, states))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.table = message.table
        self.threshold = message.threshold
        self._states = {s.state: s for s in message.states}
        self._rows = [state_row(s) for s in message.states]
        self.refill(self.query_one("#dt-filter", Input).value)
        self._rerank()  # typed before the table was ready, or re-ranked after an import
        self.check_source()

    def _rerank(self) -> None:
        """Rank what the Try box holds again (after an edit, its ranking is stale)."""
        tried = self.query_one("#dt-try", Input).value
        if tried.strip() and self.table is not None:
            self.rank(tried)

    # -- the table file ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="dt-source", name="check-table-file")
    def check_source(self, confirm: bool = False) -> None:
        """Compare the store's table with the task's table file (and, with ``confirm``, offer the diff)."""
        try:
            plan = self.editor.plan_table_write_back(self.bot)
        except Exception as exc:
            self.post_message(self.Failed("compare the table with its file", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.SourceChecked(plan, confirm))

    @on(SourceChecked)
    def _source_checked(self, message: SourceChecked) -> None:
        plan = message.plan
        line = self.query_one("#dt-source", Static)
        store = getattr(self.wb_task.spec, "storage", "the store")
        if plan is None:
            line.update(f"Edits are stored in {store}; this bot's table has no file to write them back to.")
            line.set_class(False, "-differs")
        elif plan.changed:
            line.update(
                f"Edits live in the store ({store}), not in {plan.path.name}: a clean checkout would not have them."
                " w writes them back to the file (a diff to confirm first)."
            )
            line.set_class(True, "-differs")
        else:
            line.update(f"The table is the same as {plan.path.name}; edits are stored in {store} (w writes them back).")
            line.set_class(False, "-differs")
        if not message.confirm:
            return
        if plan is None or not plan.changed:
            self.notify("Nothing to write: the file already holds this table.")
            return
        from workbench.screens.diff_confirm import DiffConfirmScreen

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.write_back(plan)

        self.app.push_screen(DiffConfirmScreen(f"Write the table back to {plan.path}?", plan.diff()), confirmed)

    def action_write_back(self) -> None:
        if self.table is not None:
            self.check_source(confirm=True)

    @work(thread=True, exit_on_error=False, group="dt-write", name="write-table-back")
    def write_back(self, plan: Any) -> None:
        try:
            self.editor.write_table_back(self.bot, plan)
        except Exception as exc:  # the file changed, or cannot be written: said, nothing lost
            self.post_message(self.Failed(f"write {plan.path.name}", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.WrittenBack(plan.path))

    @on(WrittenBack)
    def _written_back(self, message: WrittenBack) -> None:
        self.notify(f"Wrote the table to {message.path}: a clean checkout now starts from it.")
        self.check_source()

    @on(Input.Changed, "#dt-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.table is not None:
            self.refill(event.value)

    @work(exclusive=True, exit_on_error=False, group="dt-rows", name="fill-states")
    async def refill(self, text: str) -> None:
        """Show the rows matching ``text``, in batches; a newer filter cancels this one."""
        rows = matches(self._rows, text)
        table = self.query_one("#dt-states", DataTable)
        keep = self.highlighted_name()
        table.clear()
        self._count(0, len(rows), loading=True)
        for start in range(0, len(rows), BATCH):
            for r in rows[start : start + BATCH]:
                table.add_row(*r.cells, key=r.name)
            self._count(min(start + BATCH, len(rows)), len(rows), loading=True)
            await asyncio.sleep(0)  # let keys, a newer filter and repaints in
        self._shown = len(rows)
        self._count(len(rows), len(rows))
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        self._show_detail()

    def _count(self, added: int, total: int, loading: bool = False) -> None:
        everything = len(self._rows)
        text = f"{total:,} of {everything:,} states" if total != everything else f"{everything:,} states"
        if loading and added < total:
            text += f" (showing {added:,}…)"
        self.query_one("#dt-count", Static).update(text)

    # -- the highlighted state -------------------------------------------------------------
    def highlighted_name(self) -> str | None:
        table = self.query_one("#dt-states", DataTable)
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # the cursor is past the rows (a clear in progress)
            return None

    @on(DataTable.RowHighlighted, "#dt-states")
    def _show_detail(self) -> None:
        name = self.highlighted_name()
        state = self._states.get(name or "")
        self.query_one("#dt-detail", Static).update(state_detail(state) if state is not None else "")

    @on(DataTable.RowSelected, "#dt-states")
    def _selected(self) -> None:
        self.action_edit()

    # -- editing ------------------------------------------------------------------------------
    def action_add(self) -> None:
        if self.table is None:
            return
        from workbench.screens.state_form import StateFormScreen

        def saved(s: State | None) -> None:
            if s is not None:
                self.save(s)

        self.app.push_screen(StateFormScreen(None, self._states), saved)

    def action_edit(self) -> None:
        name = self.highlighted_name()
        if self.table is None or name is None:
            return
        from workbench.screens.state_form import StateFormScreen

        def saved(s: State | None) -> None:
            if s is not None:
                self.save(s)

        self.app.push_screen(StateFormScreen(self._states[name], self._states), saved)

    @work(thread=True, exit_on_error=False, group="dt-write", name="save-state")
    def save(self, state: Any) -> None:
        try:
            done = self.editor.save_state(self.bot, state)
        except ValueError as exc:  # the form checks first; the table has the last word
            self.post_message(self.Failed(f"save state {state.state}", str(exc)))
            return
        except Exception as exc:  # shown to the person, never lost in a worker
            self.post_message(self.Failed(f"save state {state.state}", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Saved(done.state, done.created, done.warnings))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        s = message.state
        row = state_row(s)
        self._states[s.state] = s
        table = self.query_one("#dt-states", DataTable)
        if message.created:
            self._rows.append(row)
            if matches([row], self.query_one("#dt-filter", Input).value):
                table.add_row(*row.cells, key=row.name)
                self._shown += 1
                table.move_cursor(row=table.row_count - 1)
        else:
            self._rows = [row if r.name == s.state else r for r in self._rows]
            if s.state in table.rows:
                for (key, _), value in zip(COLUMNS, row.cells, strict=False):
                    table.update_cell(s.state, key, value, update_width=True)
        self._count(self._shown, self._shown)
        self._show_detail()
        verb = "added" if message.created else "saved"
        self.notify(
            f"State {s.state} {verb} in the store; the conversation uses it from its next turn"
            " (w writes the table back to its file)."
        )
        for w in message.warnings:
            self.notify(w, title=f"State {s.state}", severity="warning", timeout=8)
        self._rerank()
        self.check_source()

    def action_delete(self) -> None:
        name = self.highlighted_name()
        if self.table is None or name is None:
            return
        from workbench.screens.confirm import ConfirmScreen

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.delete(name)

        self.app.push_screen(ConfirmScreen(f"Delete state {name!r}? Other states may lead to it."), confirmed)

    @work(thread=True, exit_on_error=False, group="dt-write", name="delete-state")
    def delete(self, name: str) -> None:
        try:
            self.editor.delete_state(self.bot, name)
        except Exception as exc:
            self.post_message(self.Failed(f"delete state {name}", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Deleted(name))

    @on(Deleted)
    def _deleted(self, message: Deleted) -> None:
        name = message.name
        self._states.pop(name, None)
        self._rows = [r for r in self._rows if r.name != name]
        table = self.query_one("#dt-states", DataTable)
        if name in table.rows:
            table.remove_row(name)
            self._shown -= 1
        self._count(self._shown, self._shown)
        self._show_detail()
        self.notify(f"State {name} deleted from the store (w writes the table back to its file).")
        self._rerank()
        self.check_source()

    # -- import / export ---------------------------------------------------------------------
    def action_import_table(self) -> None:
        if self.table is None:
            return
        from workbench.screens.table_import import ImportTableScreen

        def chosen(choice: ImportChoice | None) -> None:
            if choice is not None:
                self.import_states(choice)

        self.app.push_screen(ImportTableScreen(), chosen)

    @work(thread=True, exit_on_error=False, group="dt-write", name="import-states")
    def import_states(self, choice: Any) -> None:
        try:
            n = self.editor.import_states(self.bot, choice.read.states, replace=choice.replace)
        except Exception as exc:
            self.post_message(self.Failed("import the states", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Imported(n, choice.replace, choice.read.rejected))

    @on(Imported)
    def _imported(self, message: Imported) -> None:
        how = "replaced the table with" if message.replace else "loaded"
        skipped = f"; {message.skipped} defective row(s) skipped" if message.skipped else ""
        self.notify(f"Import {how} {message.count} state(s){skipped}.")
        self.load()

    def action_export_table(self) -> None:
        if self.table is None:
            return
        from workbench.screens.path_prompt import PathPrompt

        default = f"{self.bot}_table.csv"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.export(path)

        self.app.push_screen(PathPrompt("Export the table to (.csv or .json):", default), chosen)

    @work(thread=True, exit_on_error=False, group="dt-write", name="export-table")
    def export(self, path: Path) -> None:
        fmt = "json" if path.suffix.lower() == ".json" else "csv"
        try:
            text = self.editor.export_table(self.bot, fmt)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.post_message(self.Failed(f"write {path}", exc.strerror or str(exc)))
            return
        self.post_message(self.Exported(path, len(self.table), fmt))

    @on(Exported)
    def _exported(self, message: Exported) -> None:
        self.notify(f"Exported {message.count} state(s) to {message.path} ({message.fmt}).")

    # -- try an utterance ---------------------------------------------------------------------
    @on(Input.Changed, "#dt-try")
    @on(Input.Submitted, "#dt-try")
    def _try_changed(self, event: Input.Changed | Input.Submitted) -> None:
        text = event.value
        if not text.strip():
            self.query_one("#dt-ranking", RankingView).note(
                "Type above: every state is scored and each match says why."
            )
            return
        if self.table is not None:
            self.rank(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dt-rank", name="rank-utterance")
    def rank(self, text: str) -> None:
        try:
            ranking = self.table.rank(text, self.data, limit=10, explain=True)
        except Exception as exc:
            self.post_message(self.Failed("rank the utterance", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Ranked(text, ranking))

    @on(Ranked)
    def _ranked(self, message: Ranked) -> None:
        if message.text != self.query_one("#dt-try", Input).value:
            return  # typed on since: a newer ranking is coming
        r = message.ranking
        heading = f"{len(r.candidates)} match(es) · {r.evaluated} of {r.considered} states evaluated"
        tie = tie_note(r.candidates, self._execution_order)
        found = self.table.threshold() if self.table is not None else None
        source = {"source": found.source, "detail": found.detail} if found is not None else {}
        note = matching_note({"retrieval": r.retrieval, "threshold_source": source})
        self.query_one("#dt-ranking", RankingView).show(r.candidates, self.threshold, heading, tie=tie, note=note)

    def _execution_order(self, name: str) -> int | None:
        state = self._states.get(name)
        return state.execution_order if state is not None else None

    # -- the rest ---------------------------------------------------------------------------------
    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.notify(f"Could not {message.what}: {message.error}", severity="error", timeout=10)
        if self.table is None:
            self.query_one("#dt-count", Static).update("not loaded")

    def action_break_on_state(self) -> None:
        from workbench.screens.breakpoints import toggle_breakpoint

        name = self.highlighted_name()
        if name is not None:
            toggle_breakpoint(self, self.editor.runner, "state", name, self.bot)

    def action_focus_filter(self) -> None:
        self.query_one("#dt-filter", Input).focus()

    def action_focus_try(self) -> None:
        self.query_one("#dt-try", Input).focus()

    def action_close(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#dt-states", DataTable).focus()
            return
        self.dismiss(None)
