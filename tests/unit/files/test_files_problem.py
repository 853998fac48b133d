"""One Problem for every loader, reader and validator: its fields, how it reads, and that each
reader reports in it (task files, forms, NLU data, tables, knowledge bases, the state form)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.engines.decision_table.editing import StateFormError, form_fields, state_from_form
from workbench.engines.decision_table.table_io import read_csv, read_json, state_from_json
from workbench.engines.form.spec import load_forms
from workbench.engines.knowledge_base.kb import parse_qa
from workbench.engines.nlu.data import load_nlu
from workbench.problems import Problem, TaskError
from workbench.task.loader import load_task


def test_the_positional_order_and_the_text_of_a_key_problem() -> None:
    p = Problem("task.yml", 4, "bots.desk.table", "no such file")
    assert (p.file, p.line, p.key, p.message, p.severity) == ("task.yml", 4, "bots.desk.table", "no such file", "error")
    assert str(p) == "task.yml:4: bots.desk.table: no such file"
    assert str(Problem("task.yml", None, None, "empty")) == "task.yml: empty"
    assert str(Problem("task.yml", 2, None, "a NUL", column=7)) == "task.yml:2:7: a NUL"


def test_the_text_of_a_record_problem() -> None:
    cell = Problem("t.csv", 11, "queries (T,I)", "not valid JSON", column=2, row=10, char=37, subject="state x")
    assert str(cell) == "t.csv, row 10 (line 11), column 2 (queries (T,I)), character 37 [state x]: not valid JSON"
    named = Problem("kb.csv", key="verified", message="expected true or false", row=3)
    assert str(named) == "kb.csv, row 3, column 'verified': expected true or false"
    assert str(Problem("kb.csv", message="too many cells", row=7)) == "kb.csv, row 7: too many cells"
    assert named.to_dict() == {
        "file": "kb.csv",
        "key": "verified",
        "message": "expected true or false",
        "row": 3,
        "severity": "error",
    }


def test_the_text_of_a_form_problem() -> None:
    assert str(Problem("", 2, "analyzer", "expected ')'", char=14)) == "analyzer, line 2, character 14: expected ')'"


def test_every_reader_reports_problems_in_the_one_shape(tmp_path: Path) -> None:
    found: list[Problem] = []
    (tmp_path / "task.yml").write_text("worlds: 5\n", encoding="utf-8")
    with pytest.raises(TaskError) as info:
        load_task(tmp_path)
    found += info.value.problems
    (tmp_path / "forms.yml").write_text("forms: {f: {max_turns: 0}}\n", encoding="utf-8")
    with pytest.raises(TaskError) as info:
        load_forms(tmp_path / "forms.yml")
    found += info.value.problems
    (tmp_path / "nlu.yml").write_text("intents: 3\n", encoding="utf-8")
    with pytest.raises(TaskError) as info:
        load_nlu(tmp_path / "nlu.yml")
    found += info.value.problems
    found += read_csv("state,execution_order\na,x\n", "t.csv").problems
    found += read_json('[{"state": 1}]', "t.json").problems
    found += state_from_json({"state": "a", "colour": 1})[1]
    found += parse_qa({"question": "q", "answer": "a", "status": 2**70})[1]
    with pytest.raises(StateFormError) as form:
        state_from_form(form_fields(None) | {"state": "s", "max_state_count": "many"})
    found += form.value.errors
    assert len(found) >= 8 and all(type(p) is Problem for p in found), [type(p) for p in found]
