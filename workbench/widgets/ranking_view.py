"""RankingView: states ranked for an utterance, each with its score and why its rule matched."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group
from rich.padding import Padding
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


def ranking_table(candidates: Iterable[Any], threshold: float | None = None, chosen: str | None = None) -> Group:
    """Candidates (``Candidate``, ``CandidateRow`` or their dicts), each on a line: its rank, its
    score bar and its name; why it matched under it, indented (wrapped lines keep the indent).
    Lines, not a table's columns, so a name or a word is never broken into pieces in a narrow
    panel."""
    parts: list[Any] = []
    for i, c in enumerate(candidates, 1):
        state = str(_field(c, "state"))
        score = float(_field(c, "score", 0.0) or 0.0)
        by = str(_field(c, "by", "") or "")
        why = list(_field(c, "why", []) or [])
        extracted = _field(c, "extracted", None) or {}
        passed = _field(c, "passed", None)
        if passed is not None:  # the view already compared it with its own bar
            below = not passed
        else:
            below = threshold is not None and score < threshold
        line = Text(style="dim" if below else "")
        line.append(f"{i:>2} ")
        line.append_text(score_bar(score))
        line.append("  ")
        line.append(state, style="dim" if below else "bold")
        if chosen and state == chosen:
            line.append("  ← chosen", style="italic")
        parts.append(line)
        reasons = [f"{by}: " + (why[0] if why else "(no reason recorded)"), *why[1:]]
        if extracted:
            reasons.append("extracted " + ", ".join(f"{k}={v!r}" for k, v in extracted.items()))
        parts.append(indented(reasons, "dim italic" if below else "italic"))
    return Group(*parts)


def indented(lines: list[str], style: str = "", by: int = 4) -> Padding:
    """``lines`` under the line before them, indented, their wrapped parts too."""
    return Padding(Text("\n".join(lines), style=style), (0, 0, 0, by))


class RankingView(Static):
    """Shows a ranking; :meth:`show` replaces it, :meth:`note` says why there is none."""

    def show(
        self,
        candidates: list[Any],
        threshold: float | None = None,
        heading: str = "",
        chosen: str | None = None,
        tie: str | None = None,
        extra: list[Any] | None = None,
        note: str = "",
    ) -> None:
        """``tie``: which of equal scores wins and why; ``extra``: more to show under the ranking
        (the knowledge base's candidates); ``note``: where the threshold came from and how the
        states were matched."""
        parts: list[Any] = []
        if heading:
            parts.append(Text(heading, style="bold"))
        if candidates:
            parts.append(ranking_table(candidates, threshold, chosen))
            if tie:
                parts.append(Text(tie, style="bold"))
            if threshold is not None:
                parts.append(Text(f"threshold {threshold:.2f}: dimmed states are below it", style="dim"))
            if note:
                parts.append(Text(note, style="dim"))
        else:
            parts.append(Text("no state scored above 0", style="italic"))
        parts += extra or []
        self.update(Group(*parts))

    def note(self, text: str) -> None:
        self.update(Text(text, style="italic"))


def kb_candidates(rows: list[dict[str, Any]], threshold: float | None = None) -> Group:
    """The knowledge base's closest Q/As for a turn, each with its score bar; which one answered,
    and why the others did not (unverified, below the threshold)."""
    parts: list[Any] = [Text("knowledge base", style="bold")]
    if not rows:
        parts.append(indented(["no Q/A matched the message"], "italic"))
    for i, r in enumerate(rows, 1):
        score = float(r.get("score") or 0.0)
        line = Text(f"{i:>2} ")
        line.append_text(score_bar(score))
        line.append("  ")
        line.append(str(r.get("question") or r.get("id")), style="bold" if r.get("answered") else "")
        if r.get("answered"):
            note = "← answered"
        elif not r.get("verified"):
            note = "unverified: never answers"
        elif threshold is not None and score < threshold:
            note = f"below kb_threshold {threshold:.2f}"
        else:
            note = ""
        if note:
            line.append(f"  {note}", style="italic")
        parts.append(line)
    return Group(*parts)
