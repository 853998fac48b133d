"""The headless side of the decision-table tools: the state form (every problem with its
place), targets missing from the table, and the live state view of a turn."""

from __future__ import annotations

import pytest
from support import copy_sample

from workbench.engines.decision_table.editing import (
    StateFormError,
    form_fields,
    missing_targets,
    pointer,
    state_from_form,
)
from workbench.engines.decision_table.model import State
from workbench.engines.decision_table.state_view import state_view
from workbench.store import open_store
from workbench.task import load_task


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
