"""What is computed once stays computed: vectors in the store (a restart encodes nothing), the
parsed analyzers, and the on-disk index stamped with the table revision it mirrors."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.retrieval import counting, real_model, service  # noqa: F401  (real_model: a fixture)

from workbench.engines.decision_table import compiled
from workbench.engines.decision_table.model import State
from workbench.engines.decision_table.table import DecisionTable
from workbench.engines.retrieval.config import Retrieval
from workbench.engines.retrieval.embedder import embeddings
from workbench.engines.retrieval.retriever import Example, HybridRetriever
from workbench.index.base import open_task_index
from workbench.index.embedded import EmbeddedIndex
from workbench.store import open_store

EXAMPLES = [
    Example("1", "what are your opening hours", "hours"),
    Example("2", "when do you open", "hours"),
    Example("3", "how do I get a refund", "refund"),
    Example("4", "I want my money back", "refund"),
    Example("5", "what are your opening hours", "hours_again"),  # the same text: one vector
]


def _started(store, model) -> HybridRetriever:
    retriever = HybridRetriever(
        store, EmbeddedIndex(), "nlu:bot", Retrieval(mode="hybrid"), default_threshold=0.3, model=model
    )
    retriever.reset(EXAMPLES)
    assert retriever.wait(120)
    return retriever


@pytest.mark.usefixtures("real_model")
def test_vectors_are_encoded_once_and_not_again_after_a_restart(tmp_path: Path) -> None:
    first = counting(embeddings())
    store = open_store(tmp_path / "t.db")
    retriever = _started(store, service(lambda: first))
    assert sorted(first.texts) == sorted({e.text for e in EXAMPLES})  # every distinct text, once
    assert retriever.rank("when are you open?")[0].group == "hours"
    store.close()

    second = counting(embeddings())  # a new process: a new model, the same store file
    again = open_store(tmp_path / "t.db")
    restarted = _started(again, service(lambda: second))
    assert second.texts == []
    assert restarted.rank("I'd like a refund please")[0].group == "refund"
    assert second.texts == ["I'd like a refund please"]  # only the query
    restarted.rank("I'd like a refund please")
    assert len(second.texts) == 1  # queries are remembered too
    # an edit encodes only its new text
    restarted.update([Example("6", "where can I park", "parking")])
    assert second.texts[1:] == ["where can I park"]
    assert restarted.wait(60)  # its calibration finishes before the store closes
    again.close()


def _table(path: Path) -> tuple[DecisionTable, object]:
    store = open_store(path)
    return DecisionTable(store, open_task_index("embedded", store.path), "desk"), store


def test_a_restarted_table_neither_parses_nor_reindexes_what_it_kept(tmp_path: Path, monkeypatch) -> None:
    states = [State(state=f"a{i}", analyzer=f'bor(keyword("word{i}"))') for i in range(15)]
    states += [State(state=f"s{i}", queries=[f"question number {i}"]) for i in range(15)]
    table, store = _table(tmp_path / "t.db")
    table.import_states(states)
    assert table.rank("word7 please").candidates[0].state == "a7"
    table.index.close()
    store.close()

    parsed: list[str] = []
    written: list[str] = []
    real_parse = compiled.parse
    monkeypatch.setattr(compiled, "parse", lambda text: parsed.append(text) or real_parse(text))
    monkeypatch.setattr(EmbeddedIndex, "upsert", lambda self, c, docs: written.extend(d.id for d in docs))
    again, store = _table(tmp_path / "t.db")
    assert len(again) == 30 and parsed == [] and written == []
    assert again.rank("word12").candidates[0].state == "a12"
    assert again.rank("question number 3").candidates[0].state == "s3"
    # an edit made while it was down (another process) is caught up, that state alone
    other = open_store(tmp_path / "t.db")
    DecisionTable(other, None, "desk").update("s3", {"queries": ["a different question"]})
    other.close()
    again.index.close()
    store.close()
    third, store = _table(tmp_path / "t.db")
    assert third.get("s3").queries == ["a different question"]
    assert written == ["s3\x1f0"] and parsed == []
    store.close()
