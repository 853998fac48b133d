"""RankingView: states ranked for an utterance, each with its score and why its rule matched."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

BAR = 10


def score_bar(score: float) -> Text:
    """A 0..1 score as a bar and a number, so a ranking reads at a glance."""
    filled = max(0, min(BAR, round(score * BAR)))
    text = Text("█" * filled + "░" * (BAR - filled) + " ")
    text.append(f"{score:.2f}", style="bold")
    return text


def _field(c: Any, name: str, default: Any = None) -> Any:
    return c.get(name, default) if isinstance(c, dict) else getattr(c, name, default)


def ranking_table(candidates: Iterable[Any], threshold: float | None = None, chosen: str | None = None) -> Table:
    """Candidates (``Candidate``, ``CandidateRow`` or their dicts), each on a line with its score
    bar, then why it matched, indented: it reads in a narrow side panel."""
    table = Table(expand=True, box=None, pad_edge=False, show_edge=False, show_header=False)
    table.add_column("rank", width=3, justify="right")
    table.add_column("state", ratio=1, overflow="fold")
    table.add_column("score", width=BAR + 6, no_wrap=True)
    for i, c in enumerate(candidates, 1):
        state = str(_field(c, "state"))
        score = float(_field(c, "score", 0.0) or 0.0)
        by = str(_field(c, "by", "") or "")
        why = list(_field(c, "why", []) or [])
        extracted = _field(c, "extracted", None) or {}
        passed = _field(c, "passed", None)
        if passed is not None:  # the view already compared it with its own bar
            below = not passed
        else:  # a state matched by its queries needs the threshold plus its offset
            offset = float(_field(c, "offset", 0.0) or 0.0) if by == "search" else 0.0
            below = threshold is not None and score < threshold + offset
        name = Text(state, style="dim" if below else "bold")
        if chosen and state == chosen:
            name.append("  ← chosen", style="italic")
        table.add_row(f"{i}", name, score_bar(score), style="dim" if below else None)
        reasons = Text(f"{by}: " if by else "", style="italic")
        reasons.append("\n".join(why) if why else "(no reason recorded)")
        if extracted:
            reasons.append("\nextracted " + ", ".join(f"{k}={v!r}" for k, v in extracted.items()), style="italic")
        table.add_row("", reasons, "", style="dim")
    return table


class RankingView(Static):
    """Shows a ranking; :meth:`show` replaces it, :meth:`note` says why there is none."""

    def show(
        self,
        candidates: list[Any],
        threshold: float | None = None,
        heading: str = "",
        chosen: str | None = None,
        note: str = "",
    ) -> None:
        """``note``: where the threshold came from and how the states were matched."""
        parts: list[Any] = []
        if heading:
            parts.append(Text(heading, style="bold"))
        if candidates:
            parts.append(ranking_table(candidates, threshold, chosen))
            if threshold is not None:
                parts.append(Text(f"threshold {threshold:.2f}: dimmed states are below it", style="dim"))
            if note:
                parts.append(Text(note, style="dim"))
        else:
            parts.append(Text("no state scored above 0", style="italic"))
        self.update(Group(*parts))

    def note(self, text: str) -> None:
        self.update(Text(text, style="italic"))
