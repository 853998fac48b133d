"""BotEditor: the one path for edits of decision tables and knowledge bases (TUI, REST, CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import copy_sample

from workbench.engines.capabilities import KnowledgeBot, SlotBot, TableBot, bots_with
from workbench.runtime.editing import BotEditor, NoSuchBot
from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task


@pytest.fixture
def helpdesk(tmp_path: Path):
    task = load_task(copy_sample("helpdesk", tmp_path))
    store = open_store(tmp_path / "edit.db")
    task.use_store(store)
    yield task
    store.close()


def test_capabilities_are_asked_of_the_engine_class_without_building_it(tmp_path: Path) -> None:
    helpdesk = load_task(copy_sample("helpdesk", tmp_path))
    restaurant = load_task(copy_sample("restaurant", tmp_path))
    assert bots_with(helpdesk, TableBot) == ["desk"] and bots_with(helpdesk, KnowledgeBot) == ["desk"]
    assert bots_with(helpdesk, SlotBot) == []
    assert bots_with(restaurant, SlotBot) == ["booking"] and bots_with(restaurant, TableBot) == []
    assert helpdesk._engines == {} and restaurant._engines == {}  # nothing was built


def test_every_edit_is_stored_and_announced(helpdesk) -> None:
    runner = Runner(helpdesk, helpdesk.store)
    events = []
    runner.subscribe(lambda e: events.append((e.kind, e.fields)))
    editor = BotEditor(helpdesk, runner)
    saved = editor.save_state("desk", {"state": "opening_hours", "bubble": "9 to 5", "success_value": "nowhere"})
    assert saved.created and saved.warnings and "nowhere" in saved.warnings[0]
    assert editor.update_state("desk", "opening_hours", {"bubble": "8 to 8"}).bubble == "8 to 8"
    assert editor.delete_state("desk", "opening_hours") is True
    assert editor.delete_state("desk", "opening_hours") is False  # nothing to announce
    qa = editor.add_qa("desk", {"question": "when are you open", "answer": "9 to 5"})
    assert editor.update_qa("desk", qa.id, {"verified": True}).verified
    assert editor.delete_qa("desk", qa.id)
    kinds = [(f["what"], f["action"]) for k, f in events if k == "edited"]
    assert kinds == [
        ("state", "create"),
        ("state", "update"),
        ("state", "delete"),
        ("qa", "create"),
        ("qa", "update"),
        ("qa", "delete"),
    ]
    # the store has what the editor said: a fresh table on the same store sees the deletion
    assert helpdesk.store.documents("decision_table:desk").read(["opening_hours"]) == []


def test_a_tool_asking_for_what_a_bot_cannot_do_gets_a_clear_error(tmp_path: Path) -> None:
    task = load_task(copy_sample("restaurant", tmp_path))
    task.use_store(open_store(tmp_path / "r.db"))
    editor = BotEditor(task)
    with pytest.raises(NoSuchBot, match="has no decision table"):
        editor.table("booking")
    with pytest.raises(NoSuchBot, match="no bot named 'ghost'"):
        editor.table("ghost")
    assert editor.table_bots() == []


def test_a_knowledge_base_is_started_on_demand_and_the_bot_consults_it(tmp_path: Path) -> None:
    root = copy_sample("helpdesk", tmp_path)
    text = (root / "task.yml").read_text()
    (root / "task.yml").write_text("\n".join(line for line in text.splitlines() if "knowledge_base:" not in line))
    task = load_task(root)
    task.use_store(open_store(tmp_path / "kb.db"))
    editor = BotEditor(task)
    assert editor.knowledge_base("desk") is None
    editor.add_qa("desk", {"question": "do you sell gift cards", "answer": "Yes, at the desk.", "verified": True})
    assert task.engine("desk").knowledge_base() is not None
    hit = task.engine("desk").knowledge_base().answer("do you sell gift cards")
    assert hit is not None and hit.qa.answer == "Yes, at the desk."
