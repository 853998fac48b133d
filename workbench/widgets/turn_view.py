"""TurnView: what one turn did, bot by bot, with what changed since the turn before highlighted.

For each bot: the engine's own account of the turn (states entered, slots set and cleared,
a fallback, a failed form, errors: workbench/engines/turn_facts.py), then every value of
its state that differs from the end of the previous turn (added in green, removed in red,
changed in yellow), and whether a developer set the state by hand in this turn.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

STYLES = {"added": "bold green", "removed": "bold red", "changed": "bold yellow"}


def facts_text(facts: Any) -> Text:
    """A bot's turn facts as lines (nothing notable: a dim line saying so)."""
    out = Text()
    lines: list[tuple[str, str]] = []
    if facts.entered:
        lines.append((f"entered {' → '.join(facts.entered)}", "bold"))
    if facts.slots_set:
        lines.append((f"set {', '.join(facts.slots_set)}", "green"))
    if facts.slots_cleared:
        lines.append((f"cleared {', '.join(facts.slots_cleared)}", "red"))
    if facts.fallback:
        lines.append(("nothing matched: a fallback answered", "bold yellow"))
    if facts.form_failed:
        lines.append((f"form failed: {facts.form_failed}", "bold red"))
    for e in facts.errors:
        lines.append((f"✗ {e}", "bold red"))
    if not lines:
        return Text("nothing entered, set or cleared", style="dim")
    for i, (line, style) in enumerate(lines):
        out.append(("\n" if i else "") + line, style=style)
    return out


def turn_renderable(turn: Any, facts: dict[str, Any]) -> Group:
    """Every bot of a :class:`~workbench.runtime.timeline.TimelineTurn`: facts and changes."""
    parts: list[Any] = []
    if not turn.bots:
        parts.append(Text("no bot state in this conversation", style="italic"))
    for bot, at in turn.bots.items():
        head = Text(bot, style="bold reverse")
        if at.by_hand:
            head.append("  state set by hand in this turn", style="bold")
        if at.trace is None:
            head.append("  (did not speak)", style="dim")
        parts.append(head)
        if bot in facts:
            parts.append(facts_text(facts[bot]))
        if at.state is None:
            parts.append(Text("state not known at this turn", style="italic"))
        elif not at.changes:
            parts.append(Text("state unchanged since the turn before", style="dim"))
        else:
            changes = Text()
            for i, c in enumerate(at.changes):
                changes.append(("\n" if i else "") + c.describe(), style=STYLES.get(c.kind, ""))
            parts.append(Text("changed since the turn before:", style="dim"))
            parts.append(changes)
        parts.append(Text(""))
    return Group(*parts)


class TurnView(VerticalScroll):
    """A scrollable :func:`turn_renderable`."""

    def compose(self):
        yield Static("", id="turn-view-body")

    def show(self, turn: Any, facts: dict[str, Any]) -> None:
        self.query_one("#turn-view-body", Static).update(turn_renderable(turn, facts))
