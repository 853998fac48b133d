"""SlotPanel: a form bot, live during a chat, and setting a slot by hand to try a path.

Each slot with its value, the message that filled it and how, whether it is
required and why, the requested slot marked; the form's turns against
``max_turns``; how the last message was understood (intent ranking, entities
with their spans). The view is computed headless by
:func:`~workbench.engines.form.live_panel.live_panel`; setting a slot goes
through the form engine (``set_slot``/``clear_slot``) and
:meth:`Runner.set_bot_state <workbench.runtime.runner.Runner.set_bot_state>`, so the
running conversation continues from it at its next turn.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Label, Static

from workbench.widgets.bot_panel import BotPanel
from workbench.widgets.ranking_view import indented, score_bar


def _value(v: Any) -> Text:
    if v is None:
        return Text("—", style="dim")
    return Text(v if isinstance(v, str) else repr(v))


def slot_lines(rows: list[Any]) -> Group:
    """Each slot as ``name  value`` on one line, how it was filled and whether it is required on
    the next, indented: words wrap whole at any width (a table's columns would break them)."""
    width = max(len(r.name) for r in rows)
    parts: list[Any] = []
    for r in rows:
        line = Text()
        line.append("▶ " if r.requested else "  ", style="bold")
        line.append(r.name.ljust(width), style="bold reverse" if r.requested else "bold")
        line.append("  ")
        line.append_text(_value(r.value))
        details: list[str] = []
        if r.by == "hand":
            details.append("set by hand")
        elif r.message is not None:
            details.append(f"#{r.message} {r.text!r}" if r.text else f"#{r.message}")
        if r.how and r.by != "hand":
            details.append(r.how)
        details.append(r.why or ("required" if r.required else "not required"))
        parts += [line, indented([" · ".join(details)], "" if r.required else "dim")]
    return Group(*parts)


class SlotPanel(BotPanel):
    """The slots of one form bot in the conversation the chat shows."""

    TITLE = "Slots"

    class SetSlotRequested(Message):
        """The developer asked to set or clear a slot: the screen asks which, then calls
        :meth:`SlotPanel.apply` (a widget never opens a screen itself)."""

        def __init__(self, panel: SlotPanel, rows: list[Any], requested: str | None) -> None:
            super().__init__()
            self.panel = panel
            self.rows = rows
            self.requested = requested

    class BreakOnSlotRequested(Message):
        """The developer asked to hold the bot's turn when a slot is set or cleared: the screen
        asks the details (the requested slot first) and adds the breakpoint to its runner."""

        def __init__(self, panel: SlotPanel, requested: str | None) -> None:
            super().__init__()
            self.panel = panel
            self.requested = requested

    def compose(self) -> ComposeResult:
        yield Static("waiting for the bot's first turn…", id="slot-summary", classes="panel-section")
        yield Label("Slots (▶ requested)", classes="panel-heading")
        yield Static("", id="slot-rows", classes="panel-section")
        yield Label("The last message", classes="panel-heading")
        yield Static("", id="slot-nlu", classes="panel-section")
        yield Label("Decisions of the last turn", classes="panel-heading")
        yield Static("", id="slot-decisions", classes="panel-section")

    def show(self) -> None:
        self.view = self.engine.slot_view(self.state, self.trace, self.bot)
        self.render_view(self.view)

    # -- rendering ---------------------------------------------------------------------
    def render_view(self, v: Any) -> None:
        p = v.slots
        summary = Text()
        if p.form:
            summary.append("form ", style="dim")
            summary.append(p.form, style="bold")
            summary.append("   requested ", style="dim")
            summary.append(p.requested_slot or "—", style="bold")
            limit = f"{p.turns} of {p.max_turns}" if p.max_turns else f"{p.turns}"
            summary.append(f"   turn {limit}", style="dim")
        else:
            summary.append("no form active", style="bold")
            if p.outcome:
                summary.append(
                    f"   last: {p.outcome.get('form')} {p.outcome.get('result')}"
                    f" after {p.outcome.get('turns')} turn(s)",
                    style="dim",
                )
        for r in p.rules:
            changes = []
            if r.get("need"):
                changes.append(f"needs {', '.join(r['need'])}")
            if r.get("lose"):
                changes.append(f"drops {', '.join(r['lose'])}")
            summary.append(
                f"\nrule {r.get('slot')}={r.get('value')!r}: {'; '.join(changes) or 'no change'}", style="italic"
            )
        self.query_one("#slot-summary", Static).update(summary)

        self.query_one("#slot-rows", Static).update(slot_lines(p.rows) if p.rows else "no slots")

        u = v.understanding
        if u is None:
            self.query_one("#slot-nlu", Static).update("no message understood yet")
        else:
            head = Text()
            head.append(repr(u.text or ""), style="italic")
            head.append(" → intent ")
            head.append(str(u.intent), style="bold")
            head.append(f" {u.confidence:.2f} ({u.source})")
            if u.fallback:
                head.append("  below the threshold: fallback", style="bold")
            if u.error:
                head.append(f"\n✗ {u.error}", style="bold")
            ranking = Table(box=None, show_header=False, expand=True, pad_edge=False)
            ranking.add_column("intent", ratio=1, overflow="fold")
            ranking.add_column("score", no_wrap=True)
            for s in u.ranking[:5]:
                ranking.add_row(str(s.get("intent")), score_bar(float(s.get("score") or 0.0)))
            entities = Table(box=None, show_header=False, expand=True, pad_edge=False)
            entities.add_column("entity", no_wrap=True)
            entities.add_column("value", overflow="fold")
            for e in u.entities:
                name = e.get("entity", "")
                if e.get("role"):
                    name += f" ({e['role']})"
                span = f"[{e.get('start')}:{e.get('end')}] {e.get('text')!r} " if e.get("start") is not None else ""
                entities.add_row(
                    name, Text(f"{e.get('value')!r}  ") + Text(f"{span}{e.get('extractor', '')}", style="dim")
                )
            parts: list[Any] = [head]
            if u.ranking:
                parts.append(ranking)
            parts.append(entities if u.entities else Text("no entities", style="dim"))
            self.query_one("#slot-nlu", Static).update(Group(*parts))

        decisions = Text("\n".join(v.decisions) if v.decisions else "none")
        for r in v.rejected:
            decisions.append(f"\nrejected {r.get('slot')}={r.get('value')!r}: {r.get('reason')}", style="bold")
        self.query_one("#slot-decisions", Static).update(decisions)

    # -- setting a slot by hand ----------------------------------------------------------
    def action_set_slot(self) -> None:
        """Ask which slot to set or clear, then apply it to the running conversation."""
        if self.engine is None or self.view is None or self.conversation_id is None:
            self.notify("The slot panel has no conversation yet.", severity="warning")
            return
        self.post_message(self.SetSlotRequested(self, self.view.slots.rows, self.view.slots.requested_slot))

    def action_break_on_slot(self) -> None:
        """Ask for a breakpoint on one of the bot's slots (workbench/runtime/debugger.py)."""
        requested = self.view.slots.requested_slot if self.view is not None else None
        self.post_message(self.BreakOnSlotRequested(self, requested))

    @work(exclusive=True, exit_on_error=False, group="slot-panel-set", name="set-slot-by-hand")
    async def apply(self, slot: str, value: Any) -> None:
        """Set (or with None, clear) ``slot`` in the live conversation; the bot sees it next turn."""
        runner, cid = self.runner, self.conversation_id
        if runner is None or cid is None:
            return
        current = runner.bot_state(cid, self.bot) or self.engine.initial_state()
        try:
            new = (
                self.engine.set_slot(current, slot, value)
                if value is not None
                else self.engine.clear_slot(current, slot)
            )
        except KeyError as exc:
            self.notify(str(exc.args[0]), severity="error")
            return
        live = await runner.set_bot_state(cid, self.bot, new)
        if not live:
            self.feed(cid, new, None)  # no live bot: the runner's event may reach no chat
        what = f"{slot} = {value!r}" if value is not None else f"{slot} cleared"
        where = "the conversation continues from it" if live else "stored; the bot will load it when it next speaks"
        self.notify(f"{what} by hand: {where}.")
