"""The headless side of the engine tools, without Textual: the state form, the live state
view, the slot panel's understanding and typed values, a bot's state set in a live
conversation, browsing a knowledge base, and import hygiene."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workbench.engines.decision_table.editing import (
    StateFormError,
    form_fields,
    missing_targets,
    pointer,
    state_from_form,
)
from workbench.engines.decision_table.model import State
from workbench.engines.decision_table.state_view import state_view
from workbench.engines.form.live_panel import live_panel, understanding_of, value_from_text
from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task

from .helpers import copy_sample

HEADLESS = (
    "workbench.engines.decision_table.editing",
    "workbench.engines.decision_table.state_view",
    "workbench.engines.form.live_panel",
    "workbench.engines.knowledge_base",
    "workbench.runtime.runner",
)


def test_new_modules_import_neither_textual_nor_rich() -> None:
    code = (
        "import sys\n"
        f"for m in {HEADLESS!r}: __import__(m)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# -- the state form ------------------------------------------------------------------


def test_a_form_round_trips_a_state() -> None:
    s = State(
        state="ask",
        analyzer='keyword("help")',
        queries=["a", "b"],
        bubble="Hi %name%",
        action="show_buttons",
        action_input={"Yes": "yes_state"},
        max_state_count=2,
    )
    assert state_from_form(form_fields(s)) == s
    assert form_fields(None)["state"] == ""


def test_every_form_problem_is_reported_with_its_place() -> None:
    fields = form_fields(None) | {
        "state": "two words",
        "max_state_count": "many",
        "analyzer": 'band(keyword("a"),\n  keyword("b"',
        "action_input": '{"Yes": ',
        "state_data": "[1, 2]",
    }
    with pytest.raises(StateFormError) as info:
        state_from_form(fields)
    errors = {e.key: e for e in info.value.errors}
    assert set(errors) == {"state", "max_state_count", "analyzer", "action_input", "state_data"}
    a = errors["analyzer"]
    assert (a.line, a.char) == (2, 14) and pointer(a, fields["analyzer"]).endswith("^") and "expected" in a.message
    assert str(a).startswith("analyzer, line 2, character 14:")
    assert errors["action_input"].line == 1 and "not valid JSON" in errors["action_input"].message
    assert "JSON object" in errors["state_data"].message
    assert "usable state name" in errors["state"].message


def test_targets_missing_from_the_table_are_warned_about() -> None:
    s = State(state="a", success_value="b", action="show_buttons", action_input={"Go": "c"})
    assert missing_targets(s, ["a", "b"]) == ["action_input.Go names 'c', which is not a state of the table"]


# -- the live state view -----------------------------------------------------------------


def test_state_view_reads_state_trace_and_table(tmp_path) -> None:
    task = load_task(copy_sample("helpdesk", tmp_path))
    task.use_store(open_store(tmp_path / "s.db"))
    engine = task.engine("desk")
    state = {
        "current": "send_password_generation_link",
        "traversed": ["start", "account_locked", "account_locked"],
        "counts": {"start": 1, "account_locked": 2},
        "data": {"email": "a@b.c"},
        "pending": None,
        "turns": 3,
    }
    trace = {
        "engine": "decision_table",
        "route": "match",
        "threshold": 0.3,
        "states": ["forgot_password"],
        "candidates": [
            {"state": "forgot_password", "score": 1.0, "by": "analyzer", "why": ["found"]},
            {"state": "further_details_access_question", "score": 0.1, "by": "analyzer", "why": []},
        ],
        "unfilled": ["nickname"],
    }
    v = state_view("desk", state, trace, engine.table, {"link": "https://x"}, engine.threshold)
    assert v.current == "send_password_generation_link" and v.turn == 3 and v.route == "match"
    assert [(c.state, c.chosen, c.passed) for c in v.candidates] == [
        ("forgot_password", True, True),
        ("further_details_access_question", False, False),
    ]
    assert v.variables == []  # forgot_password, entered, has no template
    assert v.unfilled == ["nickname"]
    locked = next(r for r in v.visits if r.state == "account_locked")
    assert (locked.count, locked.max_state_count, locked.exhausted) == (2, 2, True)
    assert v.visits[0].state == "account_locked"  # exhausted states first
    # the template variables of every state the turn entered, filled from the data, then the task's
    form = {"engine": "decision_table", "route": "form", "states": ["send_password_generation_link", "any_further"]}
    v = state_view("desk", {**state, "data": {}}, form, engine.table, {"link": "https://x"})
    assert [(r.name, r.value, r.state) for r in v.variables] == [
        ("email", None, "send_password_generation_link"),
        ("link", "https://x", "send_password_generation_link"),
    ]
    assert not v.variables[0].filled and v.candidates == []
    # another engine's trace says nothing; no state yet is fine
    empty = state_view("desk", None, {"engine": "form", "candidates": [{"state": "x"}]})
    assert empty.current is None and empty.candidates == [] and empty.visits == []


# -- the slot panel ----------------------------------------------------------------------


def test_values_typed_by_hand() -> None:
    assert value_from_text("4") == 4 and value_from_text("2.5") == 2.5
    assert value_from_text("true") is True and value_from_text("false") is False
    assert value_from_text('"4"') == "4" and value_from_text(" mexican ") == "mexican"
    assert value_from_text("") is None and value_from_text("null") is None
    assert value_from_text("[1, 2]") == [1, 2] and value_from_text("-x") == "-x"


def test_live_panel_adds_the_last_understanding(tmp_path) -> None:
    task = load_task(copy_sample("restaurant", tmp_path))
    task.use_store(open_store(tmp_path / "s.db"))
    engine = task.engine("booking")
    from workbench.engines.base import Context
    from workbench.message import Message

    turn = engine.step(engine.initial_state(), Message(text="mexican food in london"), Context(bot="booking"))
    panel = live_panel(engine, turn.state, turn.trace, "booking")
    u = panel.understanding
    assert u is not None and u.text == "mexican food in london" and u.ranking
    assert {(e["entity"], e["value"]) for e in u.entities} >= {("cuisine", "mexican"), ("location", "london")}
    assert panel.slots.form == "restaurant" and panel.slots.requested_slot == "price"
    assert panel.decisions
    # a chain's trace holds the form bot's
    assert understanding_of({"engine": "chain", "traces": {"booking": turn.trace}}).intent == u.intent
    assert understanding_of({"engine": "decision_table"}) is None


# -- a bot's state set in a live conversation ------------------------------------------------


async def test_set_bot_state_reaches_the_live_bot_and_the_store(tmp_path) -> None:
    task = load_task(copy_sample("restaurant", tmp_path))
    store = open_store(tmp_path / "s.db")
    task.use_store(store)
    runner = Runner(task, store)
    events = []
    runner.subscribe(lambda ev: events.append(ev) if ev.kind == "state" else None)
    got: list[str] = []
    s = await runner.connect(lambda m: got.append(m.text), person="p")
    try:
        s.put("I'm looking for a restaurant")
        assert await runner.wait_idle([s], timeout=10)
        state = runner.bot_state(s.conversation_id, "booking")
        assert state["requested_slot"] == "price"
        engine = task.engine("booking")
        live = await runner.set_bot_state(s.conversation_id, "booking", engine.set_slot(state, "price", "low"))
        assert live is True
        assert store.state(s.conversation_id, "booking")["slots"]["price"] == "low"
        assert events[-1].fields["by_hand"] is True and events[-1].fields["trace"] is None
        # the next turn starts from the state set by hand: price is not asked again
        s.put("mexican food in london")
        assert await runner.wait_idle([s], timeout=10)
        assert got[-1] == "How many people will you be?"
    finally:
        await runner.stop()
    # no live bot: only the store takes it
    assert await runner.set_bot_state(s.conversation_id, "booking", {"slots": {}}) is False
    assert store.state(s.conversation_id, "booking") == {"slots": {}}
    assert store.last_trace(s.conversation_id, "booking")["engine"] == "form"
    store.close()


# -- browsing a knowledge base --------------------------------------------------------------


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
