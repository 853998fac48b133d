"""KnowledgeBaseScreen: browse, search and filter a bot's Q/As; add, edit, verify, delete.

Every change goes through :class:`~workbench.runtime.editing.BotEditor` (as REST's do) to
the bot's :class:`~workbench.engines.knowledge_base.KnowledgeBase`: it is in the store and
the index at once, so the next turn of a conversation already answers from it. A bot
without a knowledge base gets an empty one here, which it consults from then on. Searching
ranks by the question's retrieval score; without a search every Q/A is listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from workbench.engines.knowledge_base import DOCTYPES
from workbench.runtime.editing import BotEditor
from workbench.widgets.ranking_view import score_bar

if TYPE_CHECKING:
    from workbench.engines.knowledge_base import QA

CELL = 56
VERIFIED = [("any", "any"), ("verified", "yes"), ("unverified", "no")]


def _short(text: str, width: int = CELL) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def qa_detail(qa: Any, score: float | None) -> Table:
    table = Table(box=None, show_header=False, expand=True, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in qa.to_dict().items():
        if value not in ("", None):
            table.add_row(key, Text(str(value)))
    if score:
        table.add_row("score", score_bar(score))
    return table


class KnowledgeBaseScreen(Screen[None]):
    """The Q/As of one bot's knowledge base."""

    BINDINGS = [
        Binding(
            "escape", "close", "Back", id="kb.close", tooltip="Back to the chat (from the search box: back to the list)"
        ),
        Binding("n", "add", "Add", id="kb.add", tooltip="Add a Q/A"),
        Binding("e", "edit", "Edit", id="kb.edit", tooltip="Edit the highlighted Q/A"),
        Binding("v", "toggle_verified", "Verify", id="kb.verify", tooltip="Mark the highlighted Q/A verified or not"),
        Binding("delete", "delete", "Delete", id="kb.delete", tooltip="Delete the highlighted Q/A"),
        Binding("slash", "focus_search", "Search", id="kb.search", tooltip="Search the questions"),
    ]

    class Opened(Message):
        def __init__(self, kb: Any) -> None:
            super().__init__()
            self.kb = kb

    class Listed(Message):
        def __init__(self, query: tuple, hits: list[Any]) -> None:
            super().__init__()
            self.query = query
            self.hits = hits

    class Changed(Message):
        """A write finished: ``note`` says what happened."""

        def __init__(self, note: str) -> None:
            super().__init__()
            self.note = note

    class Failed(Message):
        def __init__(self, what: str, error: str) -> None:
            super().__init__()
            self.what = what
            self.error = error

    def __init__(self, task: Any, bot: str, editor: BotEditor | None = None) -> None:
        super().__init__()
        self.wb_task = task
        self.bot = bot
        self.editor = editor or BotEditor(task)
        self.kb: Any = None
        self._hits: dict[str, Any] = {}

    def listed(self) -> list[Any]:
        """The Q/As the list shows now, in its order."""
        return [hit.qa for hit in self._hits.values()]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="kb-toolbar"):
            yield Input(placeholder="Search the questions (empty: list every Q/A)", id="kb-search")
            yield Select(VERIFIED, value="any", allow_blank=False, id="kb-verified")
            yield Select(
                [("any doctype", "any"), *[(d, d) for d in DOCTYPES]], value="any", allow_blank=False, id="kb-doctype"
            )
            yield Static("loading…", id="kb-count")
        with Horizontal(id="kb-body"):
            yield DataTable(id="kb-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="kb-side"):
                yield Static("", id="kb-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"workbench · knowledge base · {self.bot}"
        table = self.query_one("#kb-table", DataTable)
        # the score first: a search ranks by it, and long questions and answers must not push it
        # out of view
        for key, label in (
            ("score", "score"),
            ("question", "question"),
            ("verified", "verified"),
            ("answer", "answer"),
            ("doctype", "doctype"),
            ("state", "state"),
        ):
            table.add_column(label, key=key)
        table.focus()
        self.open()

    # -- loading and querying --------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-open", name="open-knowledge-base")
    def open(self) -> None:
        try:
            kb = self.editor.knowledge_base(self.bot, create=True)
        except Exception as exc:
            self.post_message(self.Failed(f"open the knowledge base of {self.bot}", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Opened(kb))

    @on(Opened)
    def _opened(self, message: Opened) -> None:
        self.kb = message.kb
        self.requery()

    def current_query(self) -> tuple:
        verified = self.query_one("#kb-verified", Select).value
        doctype = self.query_one("#kb-doctype", Select).value
        return (
            self.query_one("#kb-search", Input).value.strip(),
            None if verified == "any" else verified == "yes",
            None if doctype == "any" else str(doctype),
        )

    @on(Input.Changed, "#kb-search")
    @on(Select.Changed)
    def requery(self) -> None:
        if self.kb is not None:
            self.query_kb(self.current_query())

    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-query", name="query-knowledge-base")
    def query_kb(self, query: tuple) -> None:
        text, verified, doctype = query
        try:
            hits = self.kb.browse(text, verified=verified, doctype=doctype)
        except Exception as exc:
            self.post_message(self.Failed("search the knowledge base", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Listed(query, hits))

    @on(Listed)
    def _listed(self, message: Listed) -> None:
        if message.query != self.current_query():
            return  # the search changed since: a newer list is coming
        table = self.query_one("#kb-table", DataTable)
        keep = self.highlighted_id()
        table.clear()
        self._hits = {}
        searched = bool(message.query[0])
        for hit in message.hits:
            qa = hit.qa
            self._hits[qa.id] = hit
            table.add_row(
                score_bar(hit.score) if searched else "",
                _short(qa.question),
                "yes" if qa.verified else "no",
                _short(qa.answer),
                qa.doctype,
                qa.state,
                key=qa.id,
            )
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        total = len(self.kb) if self.kb is not None else 0
        count = f"{len(message.hits)} of {total} Q/As"
        if searched:
            count += ", best first by score"
        self.query_one("#kb-count", Static).update(count)
        self._show_detail()

    def highlighted_id(self) -> str | None:
        table = self.query_one("#kb-table", DataTable)
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    @on(DataTable.RowHighlighted, "#kb-table")
    def _show_detail(self) -> None:
        hit = self._hits.get(self.highlighted_id() or "")
        self.query_one("#kb-detail", Static).update(qa_detail(hit.qa, hit.score) if hit else "")

    @on(DataTable.RowSelected, "#kb-table")
    def _selected(self) -> None:
        self.action_edit()

    # -- writing -----------------------------------------------------------------------------
    def action_add(self) -> None:
        if self.kb is None:
            return
        from workbench.screens.qa_form import QAFormScreen

        def added(qa: QA | None) -> None:
            if qa is not None:
                self.write("add", qa)

        self.app.push_screen(QAFormScreen(None), added)

    def action_edit(self) -> None:
        hit = self._hits.get(self.highlighted_id() or "")
        if hit is None:
            return
        from workbench.screens.qa_form import QAFormScreen

        def edited(qa: QA | None) -> None:
            if qa is not None:
                self.write("update", qa)

        self.app.push_screen(QAFormScreen(hit.qa), edited)

    def action_toggle_verified(self) -> None:
        hit = self._hits.get(self.highlighted_id() or "")
        if hit is not None:
            self.write("verify", hit.qa)

    def action_delete(self) -> None:
        hit = self._hits.get(self.highlighted_id() or "")
        if hit is None:
            return
        from workbench.screens.confirm import ConfirmScreen

        question = _short(hit.qa.question, 60)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.write("delete", hit.qa)

        self.app.push_screen(ConfirmScreen(f"Delete the Q/A {question!r}?"), confirmed)

    @work(thread=True, exit_on_error=False, group="kb-write", name="write-knowledge-base")
    def write(self, what: str, qa: Any) -> None:
        from workbench.engines.knowledge_base import KnowledgeBaseError

        try:
            if what == "add":
                saved = self.editor.add_qa(self.bot, qa)
                note = f"Q/A {saved.id} added."
            elif what == "update":
                saved = self.editor.update_qa(self.bot, qa.id, qa.to_dict())
                note = f"Q/A {saved.id} saved."
            elif what == "verify":
                saved = self.editor.update_qa(self.bot, qa.id, {"verified": not qa.verified})
                note = f"Q/A {saved.id} {'verified' if saved.verified else 'no longer verified'}."
            else:
                self.editor.delete_qa(self.bot, qa.id)
                note = f"Q/A {qa.id} deleted."
        except (KnowledgeBaseError, KeyError, ValueError) as exc:
            self.post_message(self.Failed(f"{what} the Q/A", str(exc)))
            return
        self.post_message(self.Changed(note))

    @on(Changed)
    def _changed(self, message: Changed) -> None:
        self.notify(message.note)
        self.requery()

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.notify(f"Could not {message.what}: {message.error}", severity="error", timeout=10)
        if self.kb is None:
            self.query_one("#kb-count", Static).update("not loaded")

    def action_focus_search(self) -> None:
        self.query_one("#kb-search", Input).focus()

    def action_close(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#kb-table", DataTable).focus()
            return
        self.dismiss(None)
