"""Edits reach every instance: two loads of the helpdesk task stand for two `workbench serve`
instances. On PostgreSQL with a shared index on osmem-server, the second instance finds the
shared collections up to date (no rebuild), and a table or knowledge-base edit made through one
reaches the other at its next turn. With SQLite and each process's own embedded index (the
`--workers` shape), the same edits arrive through the store's revisions."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import copy_sample
from support.search_servers import prefix

from workbench.runtime.editing import BotEditor
from workbench.task import load_task

#: content words only: osmem drops more stop words at indexing than its analysis reports
QUESTION = "Sunday deliveries"


def _helpdesk(tmp_path: Path, index_yaml: str | None) -> Path:
    task = copy_sample("helpdesk", tmp_path)
    if index_yaml is not None:
        yml = task / "task.yml"
        yml.write_text(yml.read_text(encoding="utf-8") + index_yaml, encoding="utf-8")
    return task


def _answer(task, question: str) -> list[str]:
    kb = task.engine("desk").knowledge_base()
    return [hit.qa.answer for hit in kb.search(question, k=3) if hit.score >= 0.8]


@pytest.mark.parametrize("shape", ["postgres+osmem", "sqlite+embedded"])
def test_scale_edits_on_one_instance_reach_the_other(shape: str, tmp_path: Path, monkeypatch, request) -> None:
    if shape == "postgres+osmem":
        osmem = request.getfixturevalue("osmem")
        monkeypatch.setenv("WORKBENCH_STORE_URL", request.getfixturevalue("pg_url"))
        root = _helpdesk(tmp_path, f"index:\n  opensearch: {{url: '{osmem.url}', index_prefix: {prefix()}}}\n")
    else:
        root = _helpdesk(tmp_path, None)
    first, second = load_task(root), load_task(root)
    try:
        editor = BotEditor(first)
        table = editor.table("desk")
        states = len(table)
        if shape == "postgres+osmem":
            # the second instance starts on the collections the first one built: nothing is rebuilt
            sent = second.index.record()
            second.engine("desk")
            assert not [p for m, p, _ in sent if m == "PUT" and p.count("/") == 1], sent
        else:
            second.engine("desk")
        assert len(second.engine("desk").table) == states
        assert _answer(second, QUESTION) == []

        editor.add_qa("desk", {"question": QUESTION, "answer": "Yes, from 10 to 4."})
        editor.save_state("desk", {"state": "sunday", "queries": ["sunday opening hours"], "bubble": "We open at 10."})

        # the other instance's next search and next turn see both
        assert _answer(second, QUESTION) == ["Yes, from 10 to 4."]
        other = second.engine("desk").table
        assert other.sync() and "sunday" in other and len(other) == states + 1
        assert other.search_scores("sunday opening hours")["sunday"][0] == pytest.approx(1.0, abs=0.05)
        assert editor.delete_qa("desk", first.engine("desk").knowledge_base().search(QUESTION)[0].qa.id)
        assert _answer(second, QUESTION) == []
    finally:
        for task in (first, second):
            if task._index is not None:
                task.index.close()
            task.store.close()
