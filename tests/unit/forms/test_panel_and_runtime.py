"""The slot panel's headless API, a form surviving a restart of the runtime, the sample's tests."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from support import SAMPLES
from support.engines import PIZZA

from workbench.engines.form import clear_slot, set_slot, slot_panel
from workbench.message import Message
from workbench.store import open_store
from workbench.task.loader import load_task
from workbench.testing.conversation import discover, run_tests

RESTAURANT = SAMPLES / "restaurant"


def test_panel_lists_slots_with_provenance_requirement_and_turns(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "large"}')
    chat.say("1 Road")
    panel = chat.engine.panel(chat.state)
    assert (panel.form, panel.requested_slot, panel.turns, panel.max_turns) == ("pizza", "drink", 1, 4)
    rows = {r.name: r for r in panel.rows}
    assert [r.name for r in panel.rows][:3] == ["size", "address", "drink"]  # the asking order first
    assert (
        rows["size"].value == "large"
        and rows["size"].message == 1
        and rows["size"].text == '/order_pizza{"size": "large"}'
    )
    assert rows["size"].how == "from_entity size (notation)" and rows["size"].by == "user"
    assert rows["address"].how == "from_text" and rows["address"].message == 2
    assert rows["drink"].required and rows["drink"].requested and rows["drink"].why == "needed: rule size=large"
    assert not rows["topping"].required and rows["topping"].why == "not needed: rule size=large"
    assert rows["time"].why == "not a slot of form 'pizza'"
    assert panel.rules == [{"slot": "size", "value": "large", "need": ["drink"], "lose": ["topping"]}]
    assert panel.to_dict()["rows"][0]["name"] == "size"


def test_setting_a_slot_by_hand_changes_the_path(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "large"}')
    before = chat.state
    after = chat.engine.set_slot(before, "size", "small")
    assert before["slots"]["size"] == "large"  # a new state; the old one is untouched
    assert after["filled"]["size"]["by"] == "hand"
    rows = {r.name: r for r in chat.engine.panel(after).rows}
    assert rows["topping"].required and not rows["drink"].required
    chat.state = after
    assert chat.say("/chitchat")[-1] == "Which topping?"
    cleared = chat.engine.clear_slot(chat.state, "size")
    assert cleared["slots"]["size"] is None and "size" not in cleared["filled"]
    with pytest.raises(KeyError):
        chat.engine.set_slot(chat.state, "colour", "red")


def test_panel_functions_work_on_plain_state(build):
    chat = build(PIZZA)
    state = set_slot(chat.state, "topping", "ham", chat.engine.forms)
    panel = slot_panel(state, chat.engine.forms)
    assert panel.form is None and all(not r.required for r in panel.rows)
    assert clear_slot(state, "topping")["slots"]["topping"] is None


def test_a_form_survives_a_restart(tmp_path: Path):
    """The engine state is in the store: a new runtime on the same file resumes the form."""
    from workbench.engines.base import Context

    task_dir = tmp_path / "restaurant"
    shutil.copytree(RESTAURANT, task_dir, ignore=shutil.ignore_patterns("data"))
    db = tmp_path / "workbench.db"

    task = load_task(task_dir)
    store = open_store(db)
    engine = task.engine("booking")
    ctx = Context(conversation_id="conv", bot="booking", registry=task.registry, task=task)
    turn = engine.step(engine.initial_state(), Message(text="I'm looking for a restaurant"), ctx)
    turn = engine.step(turn.state, Message(text="cheap"), ctx)
    cid = store.new_conversation(person="p", task="restaurant")
    from workbench.store import Commit

    store.commit(Commit(states=[(cid, "booking", turn.state)]))
    store.close()

    again = load_task(task_dir)  # another process: a new task, engine and store
    store2 = open_store(db)
    state = store2.state(cid, "booking")
    assert state["form"] == "restaurant" and state["requested_slot"] == "cuisine" and state["slots"]["price"] == "low"
    engine2 = again.engine("booking")
    turn = engine2.step(
        state,
        Message(text="mexican please"),
        Context(conversation_id=cid, bot="booking", registry=again.registry, task=again),
    )
    assert [m.text for m in turn.replies] == ["Where?"]
    store2.close()


def test_the_sample_conversation_tests_pass():
    task = load_task(RESTAURANT)
    tests = discover(task)
    assert len(tests) >= 20 and len({t.name for t in tests}) == len(tests)
    results = asyncio.run(run_tests(task, tests))
    failures = [(r.name, r.failure) for r in results if not r.ok]
    assert failures == []
