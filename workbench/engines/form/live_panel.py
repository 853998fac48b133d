"""The live slot panel's headless side, beyond :mod:`workbench.engines.form.panel`.

:func:`slot_panel` there lists the slots; the panel also shows how the last
message was understood (intent ranking and entities with their spans), which is
in the turn's trace, not in the state: :func:`understanding_of` reads it.
:func:`value_from_text` turns what a developer types to set a slot by hand into
a value (``2`` a number, ``true`` a boolean, anything else text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.engines.form.panel import SlotPanel

if TYPE_CHECKING:
    from workbench.engines.form.engine import FormEngine


@dataclass
class Understanding:
    """How the last message was understood."""

    text: str | None = None
    intent: str | None = None
    confidence: float = 0.0
    #: [{intent, score, example?}] best first
    ranking: list[dict[str, Any]] = field(default_factory=list)
    #: [{entity, value, start, end, text, extractor, role?, group?}]
    entities: list[dict[str, Any]] = field(default_factory=list)
    #: nlu, notation (``/intent{...}``) or none
    source: str | None = None
    #: the best intent scored under the threshold: the intent is the fallback one
    fallback: bool = False
    error: str | None = None


@dataclass
class LivePanel:
    """Everything the slot panel shows: the slots and the last message's understanding."""

    bot: str
    slots: SlotPanel
    understanding: Understanding | None = None
    #: the decisions of the last turn, in order (``ask cuisine``, ``form 'x' finished``...)
    decisions: list[str] = field(default_factory=list)
    #: values the last turn rejected: [{slot, value, reason, how}]
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def form_trace(trace: Mapping[str, Any] | None, bot: str | None = None) -> dict[str, Any] | None:
    """The form engine's trace in ``trace``: itself, or (in a chain) the named or only form bot's."""
    if not trace:
        return None
    if trace.get("engine") == "form":
        return dict(trace)
    nested = trace.get("traces")
    if isinstance(nested, Mapping):
        forms = {k: v for k, v in nested.items() if isinstance(v, Mapping) and v.get("engine") == "form"}
        if bot in forms:
            return dict(forms[bot])
        if len(forms) == 1:
            return dict(next(iter(forms.values())))
    return None


def understanding_of(trace: Mapping[str, Any] | None) -> Understanding | None:
    """The understanding of the message a form turn answered (None: the turn had no message)."""
    parse = (form_trace(trace) or {}).get("parse")
    if not isinstance(parse, Mapping):
        return None
    return Understanding(
        text=parse.get("text"),
        intent=parse.get("intent"),
        confidence=float(parse.get("confidence") or 0.0),
        ranking=list(parse.get("ranking") or []),
        entities=list(parse.get("entities") or []),
        source=parse.get("source"),
        fallback=bool(parse.get("fallback")),
        error=parse.get("error"),
    )


def live_panel(
    engine: FormEngine,
    state: Mapping[str, Any] | None,
    trace: Mapping[str, Any] | None = None,
    bot: str | None = None,
) -> LivePanel:
    """The slot panel of a form bot (a :class:`~workbench.engines.form.engine.FormEngine`)."""
    ft = form_trace(trace, bot) or {}
    return LivePanel(
        bot=bot or engine.bot,
        slots=engine.panel(dict(state or {})),
        understanding=understanding_of(ft),
        decisions=list(ft.get("decisions") or []),
        rejected=list(ft.get("rejected") or []),
    )


def value_from_text(text: str) -> Any:
    """A slot value from what a person typed: a JSON number, boolean, list or object, else the text.

    ``""`` and ``null`` mean no value (clear the slot). Quotes keep a number as text: ``"2"``.
    """
    stripped = text.strip()
    if not stripped or stripped == "null":
        return None
    if stripped[0] in '-0123456789[{"' or stripped in ("true", "false"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            pass
    return stripped
