"""StatePanel: a decision-table bot, live during a chat.

It shows the current state, the candidates and scores of the last turn with why
they matched, the conversation's data and the current state's template
variables (unfilled ones marked), the traversed states and each state's visits
against its ``max_state_count``. It is fed the runner's ``state`` events as
replaceable messages (see :class:`~workbench.widgets.bot_panel.BotPanel`), so a
burst of turns renders once. The view itself is computed headless by
:func:`~workbench.engines.decision_table.state_view.state_view`.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from workbench.widgets.bot_panel import BotPanel
from workbench.widgets.ranking_view import RankingView, kb_candidates


def _value(v: Any) -> str:
    return v if isinstance(v, str) else repr(v)


class StatePanel(BotPanel):
    """The live state of one decision-table bot in the conversation the chat shows."""

    TITLE = "Table"

    def compose(self) -> ComposeResult:
        yield Static("waiting for the bot's first turn…", id="sp-summary", classes="panel-section")
        yield Label("Candidates of the last turn", classes="panel-heading")
        yield RankingView("", id="sp-candidates", classes="panel-section")
        yield Label("Data and template variables", classes="panel-heading")
        yield Static("", id="sp-data", classes="panel-section")
        yield Label("Traversed states", classes="panel-heading")
        yield Static("", id="sp-traversed", classes="panel-section")
        yield Label("Visits (against max_state_count)", classes="panel-heading")
        yield Static("", id="sp-visits", classes="panel-section")

    def show(self) -> None:
        variables = {**(self.wb_task.spec.data or {}), **self.data}
        self.view = self.engine.state_view(self.state, self.trace, variables)
        self.render_view(self.view)

    # -- rendering ---------------------------------------------------------------------
    def render_view(self, v: Any) -> None:
        summary = Text()
        summary.append("state ", style="dim")
        summary.append(v.current or "(none yet)", style="bold")
        summary.append(f"   turn {v.turn}", style="dim")
        if v.route:
            summary.append(f"   route {v.route}", style="dim")
        if v.button:
            summary.append(f" (button {v.button!r})", style="dim")
        if v.entered:
            summary.append("\nentered " + " → ".join(v.entered))
        if v.pending:
            kind = v.pending.get("kind")
            if kind == "buttons":
                opts = ", ".join(f"{k} → {t}" for k, t in (v.pending.get("options") or {}).items())
                summary.append(f"\nwaiting for a button: {opts}")
            elif kind == "form":
                fields = ", ".join(f"{k} ({t})" for k, t in (v.pending.get("fields") or {}).items())
                summary.append(f"\nwaiting for a form: {fields}")
        if v.knowledge_base:
            answered = v.knowledge_base
            summary.append(f"\nknowledge base answered: {answered.get('question')!r} (score {answered.get('score')})")
        for a in v.actions:
            outcome = "ok" if a.get("ok") else f"failed {a.get('error', '')}".strip()
            summary.append(f"\naction {a.get('action')} in {a.get('state')}: {outcome}")
        for e in v.errors:
            summary.append(f"\n✗ {e}", style="bold")
        self.query_one("#sp-summary", Static).update(summary)

        ranking = self.query_one("#sp-candidates", RankingView)
        kb = [kb_candidates(v.kb_candidates, v.kb_threshold)] if v.route == "knowledge_base" or v.kb_candidates else []
        if v.candidates:
            chosen = next((c.state for c in v.candidates if c.chosen), None)
            ranking.show(v.candidates, v.threshold, chosen=chosen, tie=v.tie, extra=kb, note=v.matching)
        elif kb:
            # no state scored: the knowledge base was asked, answered or missed
            ranking.show([], v.threshold, extra=kb, note=v.matching)
        else:
            ranking.note(
                "no ranking in the last turn (a greeting, a button, a form answer)" if v.turn else "no turn yet"
            )

        data = Table(box=None, show_header=False, pad_edge=False)
        data.add_column("name", style="bold", no_wrap=True)
        data.add_column("value", overflow="fold")
        for k, val in v.data.items():
            data.add_row(k, _value(val))
        if not v.data:
            data.add_row(Text("no data yet", style="italic"), "")
        parts: list[Any] = [data]
        if v.variables:
            tv = Table(box=None, show_header=False, pad_edge=False)
            tv.add_column("variable", no_wrap=True)
            tv.add_column("value", overflow="fold")
            for row in v.variables:
                shown = Text(_value(row.value)) if row.filled else Text("unfilled", style="bold italic")
                tv.add_row(f"%{row.name}% ({row.state} {row.used_in})", shown)
            parts += [Text("template variables of the states entered:", style="dim"), tv]
        if v.unfilled:
            parts.append(
                Text("unfilled in the last turn (removed from the reply): " + ", ".join(v.unfilled), style="bold")
            )
        self.query_one("#sp-data", Static).update(Group(*parts))

        self.query_one("#sp-traversed", Static).update(" → ".join(v.traversed) if v.traversed else "none yet")

        visits = Table(box=None, show_header=False, expand=True, pad_edge=False)
        visits.add_column("state", no_wrap=True)
        visits.add_column("count", justify="right", no_wrap=True)
        for row in v.visits:
            limit = f"{row.count} / {row.max_state_count}" if row.max_state_count else f"{row.count} / ∞"
            visits.add_row(
                Text(row.state, style="bold" if row.exhausted else ""),
                Text(limit + ("  exhausted" if row.exhausted else ""), style="bold" if row.exhausted else ""),
            )
        self.query_one("#sp-visits", Static).update(visits if v.visits else "none yet")
