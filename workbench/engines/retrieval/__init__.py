"""Matching a person's words: BM25 and sentence embeddings fused, and a calibrated "no match".

Decision-table states, NLU intents and knowledge-base questions share this package
(docs/retrieval.md): ``config`` (the ``retrieval:`` keys), ``embedder`` (the model,
loaded lazily in the background), ``retriever`` (vectors, ranking, threshold),
``fusion`` (how the scores combine, chosen by measurement), ``calibration`` (the
threshold by cross-validation) and ``events`` (progress for whoever shows it).
Nothing heavy is imported here: numpy loads with the first retriever, torch with
the model.
"""

from workbench.engines.retrieval.config import MODES, Retrieval, RetrievalConfig, resolve

__all__ = ["MODES", "Retrieval", "RetrievalConfig", "resolve"]
