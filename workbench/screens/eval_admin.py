"""EvalAdminScreen: a study's progress, ratings (with charts), agreement, workers and
threads, and its export. Statistics are computed in a worker thread."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from workbench.widgets.rating_chart import RatingChart


class EvalAdminScreen(Screen):
    CSS_PATH = "eval.tcss"
    BINDINGS = [
        Binding("escape", "close", "Back", id="evaladmin.close", tooltip="Back to the chat"),
        Binding("r", "reload", "Reload", id="evaladmin.reload", tooltip="Compute the statistics again"),
        Binding("x", "export", "Export", id="evaladmin.export", tooltip="Export threads, ratings and the HTML report"),
    ]

    def __init__(self, study: Any) -> None:
        super().__init__()
        self.study = study
        self.stats: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="admin-summary", markup=False)
        with TabbedContent(id="admin-tabs"):
            with TabPane("Progress", id="tab-progress"):
                yield DataTable(id="progress-topics", cursor_type="row")
                yield DataTable(id="progress-workers", cursor_type="row")
            with TabPane("Ratings", id="tab-ratings"):
                yield VerticalScroll(DataTable(id="ratings-table", cursor_type="row"), id="ratings-box")
            with TabPane("Agreement", id="tab-agreement"):
                yield DataTable(id="alpha-table", cursor_type="row")
                yield DataTable(id="workers-table", cursor_type="row")
            with TabPane("Threads", id="tab-threads"):
                with Horizontal():
                    yield DataTable(id="threads-table", cursor_type="row")
                    yield VerticalScroll(
                        Static("Highlight a thread to read it.", id="thread-text", markup=False), id="thread-view"
                    )
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval", name="statistics")
    def load(self) -> None:
        from workbench.evaluation.statistics import compute

        stats = compute(self.study)
        progress = self.study.progress()
        threads = self.study.threads()
        self.app.call_from_thread(self._show, stats, progress, threads)

    def _show(self, stats: Any, progress: Any, threads: list) -> None:
        from workbench.evaluation.report import fmt, fmt_ci
        from workbench.evaluation.statistics import reading

        self.stats = stats
        self.query_one("#admin-summary", Static).update(
            f"{self.study.name}: {stats.threads} thread(s), {stats.done} rated"
        )

        def fill(table_id: str, columns: tuple[str, ...], rows: list[tuple], keys: list[str] | None = None) -> None:
            table = self.query_one(table_id, DataTable)
            table.clear(columns=True)
            table.add_columns(*columns)
            for i, row in enumerate(rows):
                # cells are text, never markup: topics, names and questions come from files and people
                table.add_row(*(Text(str(c)) for c in row), key=keys[i] if keys else None)

        states = ("chatting", "rating", "done")
        fill(
            "#progress-topics",
            ("topic", *states),
            [(t, *(c.get(s, 0) for s in states)) for t, c in progress.per_topic.items()],
        )
        fill(
            "#progress-workers",
            ("worker", *states),
            [(p, *(c.get(s, 0) for s in states)) for p, c in progress.per_person.items()],
        )
        fill(
            "#ratings-table",
            ("question", "bot", "n", "mean", "95% interval"),
            [
                (r.question.question + (" (each message)" if r.per_turn else ""), r.bot, r.n, fmt(r.mean), fmt_ci(r.ci))
                for r in stats.questions
            ],
        )
        box = self.query_one("#ratings-box", VerticalScroll)
        for old in box.query(RatingChart):
            old.remove()
        for r in stats.questions:
            if r.distribution and r.n:
                box.mount(RatingChart(f"{r.question.question} ({r.bot})", r.distribution))
        fill(
            "#alpha-table",
            ("question", "level", "alpha", "units", "raters", "reading"),
            [
                (a.question.question, a.level, fmt(a.alpha, 3), a.units, a.raters, a.note or reading(a.alpha))
                for a in stats.alphas
            ],
        )
        fill(
            "#workers-table",
            ("worker", "threads", "ratings", "pairs", "exact agreement", "alpha without them"),
            [
                (w.person, w.threads, w.ratings, w.pairs, fmt(w.agreement), fmt(w.alpha_without, 3))
                for w in stats.workers
            ],
        )
        fill(
            "#threads-table",
            ("thread", "topic", "bot", "worker", "status"),
            [(t.id, t.topic, t.bot, t.person, t.status) for t in threads],
            keys=[t.id for t in threads],
        )

    @on(DataTable.RowHighlighted, "#threads-table")
    def _thread(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value:
            self.read_thread(event.row_key.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-thread", name="read-thread")
    def read_thread(self, thread_id: str) -> None:
        rows = self.study.transcript(thread_id)
        ratings = self.study.ratings(thread_id)
        lines = []
        for row in rows:
            act = row.get("act") or {}
            kind = "seed" if (act.get("meta") or {}).get("seed") else row["role"]
            lines.append(f"[{row['seq']}] {kind} {act.get('id', '')}: {row.get('text') or ''}")
        lines.append("")
        lines.append("Ratings:")
        for r in ratings:
            where = "thread" if r.seq == 0 else f"message {r.seq}"
            lines.append(f"  {r.question} ({where}, {r.person}): {r.value}")
        self.app.call_from_thread(self.query_one("#thread-text", Static).update, "\n".join(lines))

    @work(thread=True, exit_on_error=False, group="eval", name="export")
    def action_export(self) -> None:
        from workbench.evaluation.export import export_study, write_atomic
        from workbench.evaluation.report import render_html

        folder = self.study.task.path("exports") / "evaluation"
        summary = export_study(self.study, folder)
        write_atomic(folder / "report.html", render_html(self.study))
        self.app.call_from_thread(
            self.notify, f"Exported {summary.threads} thread(s) and report.html to {folder}", title="Export"
        )
