"""Understanding users without a model: intents by retrieval over example utterances,
entities by rules (regexes, lookup tables, synonyms, numbers, dates), and Rasa's
``/intent{"entity": "value"}`` notation for tests."""

from workbench.engines.nlu.data import Example, NLUData, load_nlu, nlu_from_dict
from workbench.engines.nlu.entities import Entity, EntityExtractor, EntityRule
from workbench.engines.nlu.notation import is_notation, parse_notation
from workbench.engines.nlu.parse import Parse
from workbench.engines.nlu.pipeline import DEFAULT_FALLBACK_INTENT, NLU
from workbench.engines.nlu.ranking import IndexRanker, IntentRanker, IntentScore, register_ranker

__all__ = [
    "DEFAULT_FALLBACK_INTENT",
    "Entity",
    "EntityExtractor",
    "EntityRule",
    "Example",
    "IndexRanker",
    "IntentRanker",
    "IntentScore",
    "NLU",
    "NLUData",
    "Parse",
    "is_notation",
    "load_nlu",
    "nlu_from_dict",
    "parse_notation",
    "register_ranker",
]
