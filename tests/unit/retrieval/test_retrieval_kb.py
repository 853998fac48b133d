"""The knowledge base with hybrid retrieval: paraphrases find their question, filters still hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.retrieval import real_model  # noqa: F401  (the session's model, a fixture)

from workbench.engines.knowledge_base import KnowledgeBase
from workbench.engines.retrieval.config import Retrieval
from workbench.index.embedded import EmbeddedIndex
from workbench.store import open_store

pytestmark = pytest.mark.usefixtures("real_model")

QAS = [
    {"question": "what are your opening hours", "answer": "Nine to five, Monday to Friday.", "verified": True},
    {"question": "thank you", "answer": "You're welcome!", "verified": True},
    {"question": "where is the shop", "answer": "Main Street 1.", "verified": True},
    {"question": "can I pay by card", "answer": "Yes, every card.", "verified": False},
]


def _kb(tmp_path: Path, mode: str) -> tuple[KnowledgeBase, object]:
    store = open_store(tmp_path / f"{mode}.db")
    kb = KnowledgeBase(store, EmbeddedIndex(), "desk", retrieval=Retrieval(mode=mode))
    kb.add_many(QAS)
    return kb, store


def test_a_paraphrase_finds_its_question_where_words_alone_do_not(tmp_path: Path) -> None:
    words, store = _kb(tmp_path, "bm25")
    assert words.answer("when are you open?") is None  # BM25: too little in common to answer
    store.close()

    kb, store = _kb(tmp_path, "hybrid")
    assert kb.retriever is not None and kb.retriever.wait(60)
    hits = kb.search("when are you open?", k=3)
    assert hits[0].qa.question == "what are your opening hours"
    assert hits[0].score > 2 * hits[1].score and hits[0].cosine is not None and hits[0].bm25 is not None
    answer = kb.answer("when are you open?")
    assert answer is not None and answer.qa.answer.startswith("Nine to five")
    assert kb.status() == {"mode": "hybrid"}
    # nothing close: no answer
    assert kb.answer("what's the weather like on mars") is None
    store.close()


def test_filters_and_edits_reach_hybrid_search(tmp_path: Path) -> None:
    kb, store = _kb(tmp_path, "hybrid")
    assert kb.retriever is not None and kb.retriever.wait(60)
    # unverified Q/As are never answers
    assert kb.answer("do you take credit cards") is None
    assert kb.search("do you take credit cards", k=1)[0].qa.question == "can I pay by card"
    assert kb.search("do you take credit cards", k=1, filters={"verified": True})[0].qa.question != "can I pay by card"
    added = kb.add({"question": "is there parking nearby", "answer": "Behind the shop.", "verified": True})
    assert kb.answer("can I park near the shop").qa.id == added.id
    kb.delete(added.id)
    assert all(h.qa.id != added.id for h in kb.search("can I park near the shop"))
    assert kb.retriever.wait(60)
    store.close()
