"""Browsing a knowledge base (what its screen lists): everything, by verified and doctype,
and searched with scores."""

from __future__ import annotations

from support import copy_sample

from workbench.store import open_store
from workbench.task import load_task


def test_browse_lists_filters_and_searches(tmp_path) -> None:
    task = load_task(copy_sample("helpdesk", tmp_path))
    task.use_store(open_store(tmp_path / "s.db"))
    kb = task.engine("desk").kb
    everything = kb.browse()
    assert len(everything) == len(kb) and all(h.score == 0 for h in everything)
    unverified = [h.qa.id for h in everything if not h.qa.verified]
    kb.update(everything[0].qa.id, {"verified": False})
    assert [h.qa.id for h in kb.browse(verified=False)] == [everything[0].qa.id, *unverified]
    assert all(h.qa.verified for h in kb.browse(verified=True))
    hits = kb.browse("how long does a refund take")
    assert hits[0].qa.question == "how long does a refund take" and hits[0].score > 0
    assert kb.browse(doctype="hidden") == [h for h in everything if h.qa.doctype == "hidden"]
