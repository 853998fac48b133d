"""Intent ranking behind one small interface, so other rankers plug in.

A ranker is fitted on (text, intent) examples and ranks intents for a text
with scores in 0..1. Two come with workbench:

* ``retrieval`` (the default): the shared hybrid retrieval of
  workbench/engines/retrieval/ (BM25 and sentence embeddings fused, a calibrated
  threshold, docs/retrieval.md); its ``mode`` comes from the ``retrieval:`` keys.
  Until the embedding model is loaded, and in ``bm25`` mode, it answers as ``bm25``.
  94% top-1 on BANKING77 (``benchmarks/nlu.py``).
* ``bm25``: retrieval over the task's index (collection ``nlu:<bot>``): the nearest
  examples vote for their intents, each with its normalised score to the 4th power
  (so one close example outweighs many loose ones), and an intent's score, its
  confidence, is what its best example scored. On BANKING77 the vote reaches 86%
  top-1 where the single nearest example reaches 82% (k and the power were chosen
  on a held-out part of the training split).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.engines.nlu.data import Example
from workbench.index.base import Document, Index

if TYPE_CHECKING:
    from workbench.engines.retrieval.calibration import Threshold
    from workbench.engines.retrieval.config import Retrieval
    from workbench.store.base import Store


@dataclass
class IntentScore:
    intent: str
    score: float
    #: the example that earned the score, when the ranker knows it
    example: str | None = None
    #: what ordered the ranking, when it is not the score (the examples' vote)
    votes: float | None = None
    #: the example's cosine and BM25 scores, when hybrid retrieval ranked it
    cosine: float | None = None
    bm25: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"intent": self.intent, "score": round(self.score, 4)}
        if self.example is not None:
            out["example"] = self.example
        if self.votes is not None:
            out["votes"] = round(self.votes, 4)
        if self.cosine is not None:
            out["cosine"] = round(self.cosine, 4)
        if self.bm25 is not None:
            out["bm25"] = round(self.bm25, 4)
        return out


class IntentRanker:
    """The interface: ``fit`` once on the examples, then ``rank`` texts."""

    name = "abstract"

    def fit(self, examples: Sequence[Example]) -> None:
        raise NotImplementedError

    def rank(self, text: str, k: int = 10) -> list[IntentScore]:
        """Intents best first, at most ``k``, scores in 0..1."""
        raise NotImplementedError

    def threshold(self) -> Threshold | None:
        """The confidence an intent needs, when the ranker chooses it (None: the NLU's own)."""
        return None

    def status(self) -> dict[str, Any] | None:
        """For the trace: how the last texts were ranked (None: nothing to say)."""
        return None


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

    def rank(self, text: str, k: int = 10, exclude: str | None = None) -> list[IntentScore]:
        """``exclude``: an example id left out (held out while calibrating)."""
        if not text.strip():
            return []
        hits = self.index.search(self.collection, text, k=max(self.neighbours, 1) + (exclude is not None))
        hits = [h for h in hits if h.id != exclude][: max(self.neighbours, 1)]
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


class RetrievalRanker(IntentRanker):
    """The shared hybrid retrieval over the examples; BM25's vote answers until it can."""

    name = "retrieval"

    def __init__(
        self,
        index: Index,
        collection: str,
        *,
        store: Store,
        settings: Retrieval,
        default_threshold: float,
        fixed_threshold: float | None = None,
    ) -> None:
        from workbench.engines.retrieval.retriever import HybridRetriever

        self.bm25 = IndexRanker(index, collection)
        self.retriever = HybridRetriever(
            store,
            index,
            collection,
            settings,
            default_threshold=default_threshold,
            fixed_threshold=fixed_threshold,
            bm25_rank=self._bm25_top,
        )

    def fit(self, examples: Sequence[Example]) -> None:
        from workbench.engines.retrieval.retriever import Example as Doc

        self.bm25.fit(examples)
        self.retriever.reset(Doc(str(i), ex.text, ex.intent) for i, ex in enumerate(examples))

    def _bm25_top(self, text: str, exclude: str | None) -> tuple[str | None, float]:
        ranked = self.bm25.rank(text, k=1, exclude=exclude)
        return (ranked[0].intent, ranked[0].score) if ranked else (None, 0.0)

    def rank(self, text: str, k: int = 10) -> list[IntentScore]:
        matches = self.retriever.rank(text, k)
        if matches is None:
            return self.bm25.rank(text, k)
        return [IntentScore(m.group, m.score, m.example, None, m.cosine, m.bm25) for m in matches]

    def threshold(self) -> Threshold:
        return self.retriever.threshold()

    def status(self) -> dict[str, Any]:
        return self.retriever.status()


#: name -> factory(index, collection, **options); add one with :func:`register_ranker`
RANKERS: dict[str, Callable[..., IntentRanker]] = {"bm25": IndexRanker, "retrieval": RetrievalRanker}


def register_ranker(name: str, factory: Callable[..., IntentRanker]) -> None:
    """Make a ranker selectable by name (``ranker:`` in a form bot's config)."""
    RANKERS[name] = factory


def make_ranker(name: str, index: Index, collection: str, **options: Any) -> IntentRanker:
    """``options`` go to the ranker; those of the ``retrieval`` ranker (``store``, ``settings``,
    thresholds) are dropped for rankers that do not take them."""
    if name not in RANKERS:
        raise KeyError(f"unknown intent ranker {name!r}; known: {', '.join(sorted(RANKERS))}")
    factory = RANKERS[name]
    if factory is not RetrievalRanker:
        options = {k: v for k, v in options.items() if k not in RETRIEVAL_OPTIONS}
    return factory(index, collection, **options)


RETRIEVAL_OPTIONS = ("store", "settings", "default_threshold", "fixed_threshold")
