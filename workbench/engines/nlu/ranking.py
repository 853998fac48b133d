"""Intent ranking behind one small interface, so other rankers (sentence embeddings) plug in.

A ranker is fitted on (text, intent) examples and ranks intents for a text
with scores in 0..1. The default, ``bm25``, is retrieval over the task's index
(collection ``nlu:<bot>``): the nearest examples vote for their intents, each
with its normalised score to the 4th power (so one close example outweighs many
loose ones), and an intent's score, its confidence, is what its best example
scored. On BANKING77 the vote reaches 86% top-1 where the single nearest
example reaches 82% (``benchmarks/nlu.py``; k and the power were chosen on a
held-out part of the training split).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.engines.nlu.data import Example
from workbench.index.base import Document, Index


@dataclass
class IntentScore:
    intent: str
    score: float
    #: the example that earned the score, when the ranker knows it
    example: str | None = None
    #: what ordered the ranking, when it is not the score (the examples' vote)
    votes: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"intent": self.intent, "score": round(self.score, 4)}
        if self.example is not None:
            out["example"] = self.example
        if self.votes is not None:
            out["votes"] = round(self.votes, 4)
        return out


class IntentRanker:
    """The interface: ``fit`` once on the examples, then ``rank`` texts."""

    name = "abstract"

    def fit(self, examples: Sequence[Example]) -> None:
        raise NotImplementedError

    def rank(self, text: str, k: int = 10) -> list[IntentScore]:
        """Intents best first, at most ``k``, scores in 0..1."""
        raise NotImplementedError


class IndexRanker(IntentRanker):
    """Nearest examples from a retrieval index vote; an intent scores as its best example."""

    name = "bm25"

    def __init__(self, index: Index, collection: str, neighbours: int = 20, power: float = 4.0) -> None:
        self.index = index
        self.collection = collection
        #: how many nearest examples vote (1: the single nearest example decides)
        self.neighbours = neighbours
        #: a vote weighs the example's score to this power
        self.power = power
        self._texts: dict[str, str] = {}

    def fit(self, examples: Sequence[Example]) -> None:
        # the index may outlive this process; a rebuild keeps it equal to the file (a shared
        # index swaps the whole collection at once, so other processes never see it half done)
        docs = [
            Document(id=str(i), text=ex.text, group=ex.intent, fields={"intent": ex.intent})
            for i, ex in enumerate(examples)
        ]
        self._texts = {d.id: d.text for d in docs}
        self.index.rebuild(self.collection, docs)

    def rank(self, text: str, k: int = 10) -> list[IntentScore]:
        if not text.strip():
            return []
        hits = self.index.search(self.collection, text, k=max(self.neighbours, 1))
        best: dict[str, IntentScore] = {}
        for hit in hits:
            intent = hit.group or hit.fields.get("intent")
            if intent is None:
                continue
            entry = best.get(intent)
            if entry is None:
                entry = best[intent] = IntentScore(intent, float(hit.score), self._texts.get(hit.id), 0.0)
            elif hit.score > entry.score:
                entry.score, entry.example = float(hit.score), self._texts.get(hit.id)
            entry.votes = (entry.votes or 0.0) + float(hit.score) ** self.power
        ranked = sorted(best.values(), key=lambda s: (-(s.votes or 0.0), -s.score))
        return ranked[:k]


#: name -> factory(index, collection, **options); add one with :func:`register_ranker`
RANKERS: dict[str, Callable[..., IntentRanker]] = {"bm25": IndexRanker}


def register_ranker(name: str, factory: Callable[..., IntentRanker]) -> None:
    """Make a ranker selectable by name (``ranker:`` in a form bot's config)."""
    RANKERS[name] = factory


def make_ranker(name: str, index: Index, collection: str, **options: Any) -> IntentRanker:
    if name not in RANKERS:
        raise KeyError(f"unknown intent ranker {name!r}; known: {', '.join(sorted(RANKERS))}")
    return RANKERS[name](index, collection, **options)
