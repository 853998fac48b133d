"""Hybrid matching through the runtime: a decision table, its knowledge base and a form's NLU
answer paraphrases, and every trace says how (both scores, the nearest example, the threshold)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import Person, copy_sample, wait_for, write_task
from support.retrieval import real_model  # noqa: F401  (the session's model, a fixture)

from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task

pytestmark = pytest.mark.usefixtures("real_model")

TABLE = """\
state,execution_order,max_state_count,analyzer,"queries (T,I)",bubble (R),action (R),action_input (R),state_data (R),success_value (R),failure_value (R)
start,1,0,,,Hello! How can I help?,,,,,
refund,1,0,,"[""how do I get a refund"", ""I want my money back""]",Refunds take five days.,,,,,
password,1,0,,"[""I forgot my password"", ""reset my password""]",I sent you a reset link.,,,,,
lost_card,1,0,,"[""I lost my card"", ""my card was stolen""]",Your card is blocked now.,,,,,
"""

KB = """\
id,question,answer,verified
hours,what are your opening hours,"Nine to five, Monday to Friday.",true
parking,is there parking nearby,Behind the shop.,true
"""


async def _chat(task_dir: Path, tmp_path: Path, bot: str, lines: list[str]) -> tuple[list[str], list[dict]]:
    task = load_task(task_dir)
    store = open_store(tmp_path / "rt.db")
    task.use_store(store)
    for retriever in task.engine(bot).retrievers().values():
        assert retriever.wait(120), retriever.waiting_for()
    runner = Runner(task, store)
    person = Person()
    person.session = await runner.connect(person.deliver, person="ann")
    traces = []
    try:
        for line in lines:
            seen = len(person.received)
            person.put(line)
            await wait_for(lambda seen=seen: len(person.received) > seen, 20, what=f"a reply to {line!r}")
            await runner.wait_idle(timeout=10)
            traces.append(store.last_trace(person.session.conversation_id, bot))
    finally:
        await runner.stop(wait=2.0)
        store.close()
    return person.texts, traces


async def test_a_table_and_its_knowledge_base_answer_paraphrases(tmp_path: Path) -> None:
    root = write_task(
        tmp_path / "desk",
        """\
        name: desk
        retrieval: {mode: hybrid}
        bots:
          desk: {engine: decision_table, table: table.csv, knowledge_base: kb.csv}
        worlds:
          help: {type: bot_chat, bot: desk}
        """,
        files={"table.csv": TABLE, "kb.csv": KB},
    )
    texts, traces = await _chat(
        root, tmp_path, "desk", ["I can't remember my password", "when are you open?", "what's the capital of peru"]
    )
    assert "I sent you a reset link." in texts and "Nine to five, Monday to Friday." in texts
    match, kb, nothing = traces
    assert match["route"] == "match" and match["retrieval"] == {"mode": "hybrid"}
    best = match["candidates"][0]
    assert best["state"] == "password" and best["by"] == "search"
    assert best["example"] == "I forgot my password" and best["cosine"] > 0.5 and "bm25" in best
    assert match["threshold_source"]["source"] in ("auto", "default")
    assert kb["route"] == "knowledge_base" and kb["kb"]["question"] == "what are your opening hours"
    assert kb["kb"]["cosine"] > 0.5 and kb["kb"]["retrieval"] == {"mode": "hybrid"}
    assert nothing["route"] == "no_answer"  # nothing close enough: no match, no made-up answer


async def test_a_forms_nlu_understands_paraphrases(tmp_path: Path) -> None:
    root = copy_sample("restaurant", tmp_path)
    text = (root / "task.yml").read_text(encoding="utf-8").replace("    fallback_intent_threshold: 0.3\n", "")
    (root / "task.yml").write_text(text + "retrieval: {mode: hybrid}\n", encoding="utf-8")
    shutil.rmtree(root / "tests")
    _, traces = await _chat(root, tmp_path, "booking", ["I'm starving, any place to grab dinner around here?"])
    parse = traces[0]["parse"]
    assert parse["intent"] == "request_restaurant" and parse["retrieval"] == {"mode": "hybrid"}
    top = parse["ranking"][0]
    assert top["intent"] == "request_restaurant" and top["cosine"] > 0.3 and "bm25" in top and top["example"]
    assert parse["threshold"]["source"] in ("auto", "default") and "value" in parse["threshold"]
