"""A knowledge base mirrored in an index that outlives the process (on disk beside the store):
a restart reuses it, catches it up with what changed meanwhile, and rebuilds it only when the
stamp is not its own (workbench/engines/mirror.py)."""

from __future__ import annotations

from pathlib import Path

from workbench.engines.knowledge_base import KnowledgeBase
from workbench.index.base import open_task_index
from workbench.index.embedded import EmbeddedIndex
from workbench.store import open_store

QAS = [
    {"question": "what are your opening hours", "answer": "9 to 5", "verified": True},
    {"question": "how do I get a refund", "answer": "Within 14 days", "verified": True},
]


def _opened(db: Path):
    store = open_store(db)
    index = open_task_index("embedded", store.path)
    assert index.persistent
    return store, index, KnowledgeBase(store, index, "desk")


def _closed(store, index) -> None:
    index.close()
    store.close()


def test_a_restart_reuses_the_index_and_catches_up_with_edits_made_meanwhile(tmp_path: Path, monkeypatch) -> None:
    store, index, kb = _opened(tmp_path / "kb.db")
    kb.add_many(QAS)
    assert kb.search("refund")[0].qa.answer == "Within 14 days"
    _closed(store, index)

    # another process edits the store while this one is down (no index of its own)
    other = open_store(tmp_path / "kb.db")
    added = KnowledgeBase(other, EmbeddedIndex(), "desk", sync=False).add(
        {"question": "is there a mobile app", "answer": "Not yet", "verified": True}
    )
    other.close()

    rebuilt: list[str] = []
    written: list[str] = []
    real_upsert = EmbeddedIndex.upsert
    monkeypatch.setattr(EmbeddedIndex, "rebuild", lambda self, c, docs, **kw: rebuilt.append(c))

    def upsert(self, collection, docs):
        docs = list(docs)
        written.extend(d.id for d in docs)
        return real_upsert(self, collection, docs)

    monkeypatch.setattr(EmbeddedIndex, "upsert", upsert)
    store, index, kb = _opened(tmp_path / "kb.db")
    assert rebuilt == [] and written == [added.id]  # only what changed, no rebuild
    assert kb.search("mobile app")[0].qa.answer == "Not yet"
    assert kb.search("opening hours")[0].qa.answer == "9 to 5"
    _closed(store, index)


def test_an_index_stamped_for_another_store_is_rebuilt(tmp_path: Path) -> None:
    store, index, kb = _opened(tmp_path / "kb.db")
    kb.add_many(QAS)
    _closed(store, index)
    # the store file is replaced by a new one (same path, so the same index folder)
    (tmp_path / "kb.db").unlink()
    for extra in tmp_path.glob("kb.db-*"):
        if extra.is_file():
            extra.unlink()
    store, index, kb = _opened(tmp_path / "kb.db")
    assert len(kb) == 0 and index.count("knowledge_base:desk") == 0  # nothing of the old one answers
    assert kb.search("refund") == []
    _closed(store, index)
