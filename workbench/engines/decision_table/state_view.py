"""What a live state panel shows of a decision-table conversation, from its state and last trace.

:func:`state_view` reads the engine state (``current``, ``traversed``, ``counts``,
``data``, ``pending``, ``turns``) and the trace of the last turn (``route``,
``candidates``, ``unfilled``, ``actions``, ``kb``, ``errors``); the table, when
given, adds each visited state's ``max_state_count`` and the template variables
of the states the last turn entered (or of the current state). Nothing here renders: the TUI does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.engines.decision_table.templates import VARIABLE

#: traversed states a view keeps (the most recent ones)
TRAVERSED_SHOWN = 20


@dataclass
class CandidateRow:
    state: str
    score: float
    by: str
    why: list[str] = field(default_factory=list)
    #: the state the turn went to
    chosen: bool = False
    #: reached the engine's threshold (None when the threshold is not known)
    passed: bool | None = None


@dataclass
class VisitRow:
    """How often a state was reached in the conversation, against its limit (0: none)."""

    state: str
    count: int
    max_state_count: int = 0

    @property
    def exhausted(self) -> bool:
        return bool(self.max_state_count) and self.count >= self.max_state_count


@dataclass
class VariableRow:
    """A ``%name%`` in a state's bubble or action_input, and its value now (None: unfilled)."""

    name: str
    value: Any = None
    #: the state using it
    state: str = ""
    #: where it is used: bubble, action_input
    used_in: str = "bubble"

    @property
    def filled(self) -> bool:
        return self.value is not None


@dataclass
class StateView:
    bot: str
    current: str | None
    turn: int
    #: how the last turn was decided: match, button, form, knowledge_base, fallback_state, no_answer...
    route: str | None = None
    threshold: float | None = None
    #: where the threshold came from and how the queries were matched, for people
    matching: str = ""
    #: the quick reply that named the next state, when one did
    button: str | None = None
    #: the states entered in the last turn, in order
    entered: list[str] = field(default_factory=list)
    candidates: list[CandidateRow] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    variables: list[VariableRow] = field(default_factory=list)
    #: variables the last turn could not fill (removed from what was said)
    unfilled: list[str] = field(default_factory=list)
    traversed: list[str] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    #: what the conversation waits for: buttons or a form, with its options or fields
    pending: dict[str, Any] | None = None
    knowledge_base: dict[str, Any] | None = None
    #: the knowledge base's closest Q/As on a turn the table did not answer (id, question,
    #: score, verified, answered), and the score one needs to answer
    kb_candidates: list[dict[str, Any]] = field(default_factory=list)
    kb_threshold: float | None = None
    #: which of equally scored candidates won, and why (None: no tie)
    tie: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _variables_of(state: Any) -> list[tuple[str, str]]:
    """(name, where) of every ``%name%`` in a State's bubble and action_input, first use first."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    texts = [("bubble", state.bubble)] + [("action_input", v) for v in state.action_input.values()]
    for where, text in texts:
        for name in VARIABLE.findall(text or ""):
            if name not in seen:
                seen.add(name)
                found.append((name, where))
    return found


def _lookup(name: str, sources: list[Mapping[str, Any]]) -> Any:
    for source in sources:
        if name in source:
            return source[name]
        # dotted names reach into nested data (user.email)
        value: Any = source
        for part in name.split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            else:
                value = None
                break
        if value is not None:
            return value
    return None


def matching_note(trace: Mapping[str, Any]) -> str:
    """One line from a turn's trace: how the queries were matched and where the threshold came from
    (empty when BM25 matched, as configured, against the default threshold: nothing to add)."""
    parts = []
    retrieval = trace.get("retrieval") or {}
    source = trace.get("threshold_source") or {}
    if retrieval.get("mode", "bm25") == "bm25" and not retrieval.get("wanted") and source.get("source") != "auto":
        return ""
    if retrieval.get("mode"):
        mode = f"matched by {retrieval['mode']}"
        if retrieval.get("wanted"):
            mode += f" ({retrieval['wanted']} once ready: {retrieval.get('why', '')})"
        parts.append(mode)
    if source.get("detail"):
        parts.append(f"threshold {source.get('source')}: {source['detail']}")
    return "; ".join(parts)


def state_view(
    bot: str,
    state: Mapping[str, Any] | None,
    trace: Mapping[str, Any] | None = None,
    table: Any = None,
    variables: Mapping[str, Any] | None = None,
    threshold: float | None = None,
) -> StateView:
    """The panel's view of one bot's conversation.

    ``table`` (a :class:`~workbench.engines.decision_table.table.DecisionTable`)
    supplies limits and template variables; ``variables`` is the task's and the
    person's data, looked up after the conversation's own ``data``.
    """
    st = dict(state or {})
    tr = dict(trace or {})
    if tr.get("engine") not in (None, "decision_table"):
        tr = {}  # another engine's trace says nothing about this table
    current = st.get("current")
    data = dict(st.get("data") or {})
    threshold = tr.get("threshold", threshold)
    analyzer_threshold = tr.get("analyzer_threshold", threshold)
    entered = list(tr.get("states") or [])
    chosen = entered[0] if entered and tr.get("route") == "match" else None
    candidates = []
    for c in tr.get("candidates") or []:
        score = float(c.get("score") or 0.0)
        bar = analyzer_threshold if c.get("by") == "analyzer" else threshold
        candidates.append(
            CandidateRow(
                state=str(c.get("state")),
                score=score,
                by=str(c.get("by") or ""),
                why=list(c.get("why") or []),
                chosen=c.get("state") == chosen,
                passed=None if bar is None else score >= float(bar),
            )
        )
    counts = {str(k): int(v) for k, v in (st.get("counts") or {}).items()}
    visits = []
    for name, count in counts.items():
        limit = 0
        if table is not None:
            s = table.get(name)
            limit = s.max_state_count if s is not None else 0
        visits.append(VisitRow(name, count, limit))
    visits.sort(key=lambda v: (not v.exhausted, -v.count, v.state))
    rows: list[VariableRow] = []
    if table is not None:
        sources = [data, variables or {}]
        for name in dict.fromkeys(entered or ([current] if current else [])):
            s = table.get(name)
            if s is not None:
                rows += [VariableRow(var, _lookup(var, sources), name, where) for var, where in _variables_of(s)]
    traversed = list(st.get("traversed") or [])[-TRAVERSED_SHOWN:]
    tie = None
    if table is not None and candidates:
        from workbench.engines.decision_table.ties import tie_note

        def order(name: str) -> int | None:
            found = table.get(name)
            return found.execution_order if found is not None else None

        tie = tie_note(candidates, order)
    return StateView(
        bot=bot,
        current=current,
        turn=int(st.get("turns") or 0),
        route=tr.get("route"),
        threshold=threshold,
        matching=matching_note(tr),
        button=tr.get("button") or None,
        entered=entered,
        candidates=candidates,
        data=data,
        variables=rows,
        unfilled=list(tr.get("unfilled") or []),
        traversed=traversed,
        visits=visits,
        pending=st.get("pending"),
        knowledge_base=tr.get("kb"),
        kb_candidates=[dict(c) for c in tr.get("kb_candidates") or []],
        kb_threshold=tr.get("kb_threshold"),
        tie=tie,
        actions=list(tr.get("actions") or []),
        errors=list(tr.get("errors") or []),
    )
