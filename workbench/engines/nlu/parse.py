"""What understanding one message produced: the intent, the ranking, the entities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.engines.nlu.entities import Entity
from workbench.engines.nlu.ranking import IntentScore


@dataclass
class Parse:
    text: str
    #: the chosen intent (the fallback intent when the best scored under the threshold)
    intent: str | None = None
    confidence: float = 0.0
    ranking: list[IntentScore] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    #: ``nlu`` (ranked), ``notation`` (``/intent{...}``), ``none`` (no NLU configured)
    source: str = "nlu"
    #: the best intent scored under the threshold
    fallback: bool = False
    #: a notation that could not be read
    error: str | None = None
    #: the confidence the intent needed: value, source (auto, task, default), detail
    threshold: dict[str, Any] | None = None
    #: how the intents were ranked: mode, and (when it is not the one configured) why
    retrieval: dict[str, Any] | None = None

    def values(self, entity: str, role: str | None = None, group: str | None = None) -> list[Any]:
        """Values of ``entity`` with exactly this role and group (None matches none set)."""
        return [e.value for e in self.entities if e.entity == entity and e.role == role and e.group == group]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "ranking": [s.to_dict() for s in self.ranking],
            "entities": [e.to_dict() for e in self.entities],
            "source": self.source,
        }
        if self.fallback:
            out["fallback"] = True
        if self.error:
            out["error"] = self.error
        if self.threshold is not None:
            out["threshold"] = self.threshold
        if self.retrieval is not None:
            out["retrieval"] = self.retrieval
        return out
