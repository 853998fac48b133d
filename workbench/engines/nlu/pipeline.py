"""The NLU a bot uses: a ranker for intents, rules for entities, a fallback intent."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

from workbench.engines.nlu.data import NLUData
from workbench.engines.nlu.entities import EntityExtractor
from workbench.engines.nlu.notation import parse_notation
from workbench.engines.nlu.parse import Parse
from workbench.engines.nlu.ranking import IntentRanker, IntentScore, make_ranker
from workbench.index.base import Index

if TYPE_CHECKING:
    from workbench.engines.retrieval.config import Retrieval
    from workbench.store.base import Store

DEFAULT_FALLBACK_INTENT = "nlu_fallback"
#: the confidence an intent needs when neither task.yml nor the ranker says otherwise
DEFAULT_THRESHOLD = 0.3


def _normal(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!?")


class NLU:
    """Understands a message: the ranked intents, the chosen one and the entities.

    The index is filled on first use (``collection`` ``nlu:<bot>``), so building
    an NLU costs nothing until someone talks. An utterance written exactly as
    an example gets that example's intent with confidence 1.
    """

    def __init__(
        self,
        data: NLUData,
        index: Index | None = None,
        collection: str = "nlu:bot",
        ranker: str | IntentRanker = "bm25",
        threshold: float | None = DEFAULT_THRESHOLD,
        fallback_intent: str = DEFAULT_FALLBACK_INTENT,
        today: dt.date | None = None,
        ranker_options: dict[str, Any] | None = None,
        store: Store | None = None,
        retrieval: Retrieval | None = None,
    ) -> None:
        """``threshold`` None: the ranker's threshold (the ``retrieval`` ranker calibrates one),
        else :data:`DEFAULT_THRESHOLD`. ``store`` and ``retrieval`` are what the ``retrieval``
        ranker needs (the vector cache, the merged ``retrieval:`` keys)."""
        self.data = data
        self.index = index
        self.collection = collection
        self.threshold = threshold
        self.fallback_intent = fallback_intent
        self.today = today
        self.extractor = EntityExtractor(data.entities)
        self._ranker_spec = ranker
        #: the retrieval settings the ``retrieval`` ranker runs with (None for other rankers)
        self.retrieval_settings = retrieval if ranker == "retrieval" and store is not None else None
        self._ranker_options = dict(ranker_options or {})
        if store is not None and retrieval is not None:
            self._ranker_options.setdefault("store", store)
            self._ranker_options.setdefault("settings", retrieval)
            self._ranker_options.setdefault("default_threshold", DEFAULT_THRESHOLD)
            self._ranker_options.setdefault("fixed_threshold", threshold)
        self._ranker: IntentRanker | None = None
        self._lock = threading.Lock()
        self._exact: dict[str, str] = {}
        for ex in data.examples:
            self._exact.setdefault(_normal(ex.text), ex.intent)

    @property
    def ranker(self) -> IntentRanker | None:
        """The fitted ranker (fitted on first use); None without examples."""
        if self._ranker is None and self.data.examples:
            with self._lock:
                if self._ranker is None:
                    if isinstance(self._ranker_spec, IntentRanker):
                        ranker = self._ranker_spec
                    else:
                        if self.index is None:
                            raise RuntimeError("intent ranking needs an index; give the NLU the task's index")
                        ranker = make_ranker(self._ranker_spec, self.index, self.collection, **self._ranker_options)
                    ranker.fit(self.data.examples)
                    self._ranker = ranker
        return self._ranker

    def current_threshold(self) -> dict[str, Any]:
        """The confidence an intent needs now, and where it came from (for the trace)."""
        ranker = self._ranker
        chosen = ranker.threshold() if ranker is not None else None
        if chosen is not None:
            return chosen.to_dict()
        if self.threshold is not None:
            return {"value": self.threshold, "source": "task", "detail": "fallback_intent_threshold in task.yml"}
        return {"value": DEFAULT_THRESHOLD, "source": "default", "detail": "the default"}

    def parse(self, text: str, today: dt.date | None = None) -> Parse:
        """Notation (``/intent{...}``) as written; anything else ranked and extracted."""
        noted = parse_notation(text)
        if noted is not None:
            return noted
        parse = Parse(text=text)
        parse.entities = self.extractor.extract(text, today or self.today)
        if not self.data.examples:
            parse.source = "none"
            return parse
        exact = self._exact.get(_normal(text))
        ranker = self.ranker
        ranking = ranker.rank(text, k=10) if ranker else []
        if exact is not None:
            ranking = [IntentScore(exact, 1.0, text)] + [s for s in ranking if s.intent != exact]
        parse.ranking = ranking
        threshold = self.current_threshold()
        parse.threshold = threshold
        if ranker is not None:
            parse.retrieval = ranker.status()
        if ranking and ranking[0].score >= threshold["value"]:
            parse.intent, parse.confidence = ranking[0].intent, ranking[0].score
        else:
            parse.intent = self.fallback_intent
            parse.confidence = ranking[0].score if ranking else 0.0
            parse.fallback = True
        return parse
