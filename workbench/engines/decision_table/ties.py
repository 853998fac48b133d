"""Why one state wins when several share the best score.

:meth:`DecisionTable.rank <workbench.engines.decision_table.table.DecisionTable.rank>` orders
equal scores by ``execution_order`` (lower first), then by name; :func:`tie_note` says so in
words for the candidates a turn (or the Try box) ranked, so a person sees which state wins
and why, and what to change to make another one win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def _field(c: Any, name: str) -> Any:
    return c.get(name) if isinstance(c, dict) else getattr(c, name, None)


def tie_note(candidates: Iterable[Any], execution_order: Callable[[str], int | None]) -> str | None:
    """A sentence when the first candidates share the top score (None otherwise).

    ``candidates`` are ranked (best first): ``Candidate``, ``CandidateRow`` or their dicts;
    ``execution_order`` gives a state's (None for a state the table no longer has)."""
    ranked = list(candidates)
    if len(ranked) < 2:
        return None
    top = round(float(_field(ranked[0], "score") or 0.0), 4)
    tied = [c for c in ranked if round(float(_field(c, "score") or 0.0), 4) == top]
    if len(tied) < 2:
        return None
    names = [str(_field(c, "state")) for c in tied]
    orders = {n: execution_order(n) for n in names}
    winner, others = names[0], names[1:]
    if len({orders[n] for n in names}) == 1:
        why = f"they share execution_order {orders[winner]}, so the first by name wins"
    else:
        listed = ", ".join(f"{n} {orders[n]}" for n in names)
        why = f"its execution_order is the lowest ({listed}); a lower execution_order wins a tie"
    return f"tie at {top:.2f}: {winner} wins over {', '.join(others)}: {why}"
