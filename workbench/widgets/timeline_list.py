"""TimelineList: the turns of a conversation, one line each, for the step screen.

Each line is the turn's number and what opened it; ``✎`` marks a turn in which a developer
set a bot's state by hand, ``→`` the states or forms it entered (from the engines'
turn facts). Highlighting a line is how the step screen moves to that turn.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Label, ListItem, ListView

#: the longest opening text a line shows
LINE = 40


class TurnItem(ListItem):
    def __init__(self, number: int, line: Text) -> None:
        super().__init__(Label(line, markup=False))
        self.number = number


def turn_line(turn: Any, entered: list[str]) -> Text:
    """One turn of a :class:`~workbench.runtime.timeline.Timeline` as a line."""
    text = Text()
    text.append(f"{turn.number:>3} ", style="bold")
    summary = turn.summary()
    text.append(summary if len(summary) <= LINE else summary[: LINE - 1] + "…")
    if any(b.by_hand for b in turn.bots.values()):
        text.append(" ✎", style="bold")
    if entered:
        text.append(f"\n    → {', '.join(entered)}", style="dim")
    return text


class TimelineList(ListView):
    """A ListView of :class:`TurnItem` (its ``index`` is the turn shown)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, initial_index=None, **kwargs)
        self.numbers: list[int] = []

    async def show(self, turns: list[Any], entered: dict[int, list[str]]) -> None:
        """Replace the lines with ``turns`` (``entered``: turn number -> states entered)."""
        await self.clear()
        self.numbers = [t.number for t in turns]
        await self.extend(TurnItem(t.number, turn_line(t, entered.get(t.number, []))) for t in turns)

    def position(self, number: int) -> int | None:
        return self.numbers.index(number) if number in self.numbers else None
