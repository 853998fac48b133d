"""Writing a decision table back to its file in the file's layout (issue 14, point 4), and the
sentence that says which of equally scored states wins."""

from __future__ import annotations

import json
import shutil

import pytest
from support import STARCHAT, copy_sample

from workbench.engines.decision_table.table_io import read_file, read_text
from workbench.engines.decision_table.ties import tie_note
from workbench.engines.decision_table.write_back import FileChanged, plan_write_back
from workbench.runtime.editing import BotEditor
from workbench.task import load_task


def _copy(tmp_path, name: str):
    target = tmp_path / name
    shutil.copy(STARCHAT / name, target)
    return target


@pytest.mark.parametrize(
    "name",
    [
        "sample_state_machine_specification.csv",
        "sample_state_machine_specification_2016.csv",
        "decision_table_starchat_doc.csv",
    ],
)
def test_an_unchanged_table_leaves_the_file_as_it_is(tmp_path, name):
    path = _copy(tmp_path, name)
    plan = plan_write_back(path, read_file(path).states)
    assert not plan.changed and plan.diff() == ""


def test_an_edit_rewrites_its_row_only_and_new_states_come_last(tmp_path):
    path = _copy(tmp_path, "sample_state_machine_specification.csv")
    states = read_file(path).states
    names = [s.state for s in states]
    edited = [
        s.model_copy(update={"bubble": "Changed, with a comma"}) if s.state == "account_locked" else s for s in states
    ]
    edited = [s for s in edited if s.state != "goodbye_question"]
    edited.append(states[0].model_copy(update={"state": "brand_new", "bubble": "New"}))
    plan = plan_write_back(path, edited)
    old_lines, new_lines = plan.old.splitlines(), plan.new.splitlines()
    assert new_lines[0] == old_lines[0]  # the header as written ("queries (T,I)", "bubble (R)"...)
    changed = {line.split(",", 1)[0] for line in set(old_lines) ^ set(new_lines)}
    assert changed == {"account_locked", "goodbye_question", "brand_new"}
    assert new_lines[-1].startswith("brand_new,")
    back = read_text(plan.new, "x", "csv").states
    assert [s.state for s in back] == [n for n in names if n != "goodbye_question"] + ["brand_new"]
    assert back == edited


def test_line_endings_a_bom_and_a_missing_last_newline_are_kept(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffstate,bubble\r\na,A\r\nb,B".encode())
    states = read_file(path).states
    plan = plan_write_back(path, states)
    assert not plan.changed
    plan = plan_write_back(path, [states[0], states[1].model_copy(update={"bubble": "Bee"})])
    plan.apply()
    assert path.read_bytes() == "\ufeffstate,bubble\r\na,A\r\nb,Bee\r\n".encode()


def test_a_field_the_layout_lacks_gets_a_column_and_defective_rows_stay(tmp_path):
    path = _copy(tmp_path, "sample_state_machine_specification_2016.csv")
    read = read_file(path)
    assert read.rejected  # the 2016 sample has rows the import leaves out
    states = [
        s.model_copy(update={"analyzer": 'bor(vOneKeyword("hello"))'}) if s.state == "start" else s for s in read.states
    ]
    plan = plan_write_back(path, states)
    header = plan.new.splitlines()[0]
    assert header.endswith(",analyzer") and header.startswith(plan.old.splitlines()[0])
    for line in plan.old.splitlines()[1:]:
        if line.startswith(("forgot_password,", "call_operator,")):  # defective: kept as written
            assert line in plan.new.splitlines()
    again = read_text(plan.new, "x", "csv")
    assert next(s for s in again.states if s.state == "start").analyzer == 'bor(vOneKeyword("hello"))'
    # success values the file writes JSON-quoted stay quoted in a rewritten row
    account = next(s for s in read.states if s.state == "account_locked")
    plan = plan_write_back(path, [s.model_copy(update={"bubble": "x"}) if s is account else s for s in read.states])
    row = next(line for line in plan.new.splitlines() if line.startswith("account_locked,"))
    assert row.endswith('"""any_further""",')


def test_a_json_table_keeps_its_order(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"state": "b", "bubble": "B"}, {"state": "a", "bubble": "A"}]), encoding="utf-8")
    states = read_file(path).states
    plan = plan_write_back(
        path, [states[1], states[0].model_copy(update={"bubble": "Bee"}), states[0].model_copy(update={"state": "c"})]
    )
    assert [s["state"] for s in json.loads(plan.new)] == ["b", "a", "c"]


def test_the_editor_writes_back_and_the_next_start_finds_nothing_to_import(tmp_path, store):
    task = load_task(copy_sample("helpdesk", tmp_path))
    task.use_store(store)
    editor = BotEditor(task)
    assert not editor.plan_table_write_back("desk").changed
    editor.update_state("desk", "any_further", {"bubble": "Anything else?"})
    plan = editor.plan_table_write_back("desk")
    assert plan.changed and "+any_further," in plan.diff()
    # the file changed under the diff: nothing is written
    path = task.path("decision_table.csv")
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\n", encoding="utf-8")
    with pytest.raises(FileChanged):
        editor.write_table_back("desk", plan)
    path.write_text(original, encoding="utf-8")
    editor.write_table_back("desk", plan)
    assert "Anything else?" in path.read_text(encoding="utf-8")
    assert editor.table("desk").seed(path) is None  # the store already holds the file's content


def test_tie_notes():
    rows = [{"state": "b", "score": 1.0}, {"state": "a", "score": 1.0}, {"state": "c", "score": 0.5}]
    orders = {"a": 2, "b": 1, "c": 0}
    assert tie_note(rows, orders.get) == (
        "tie at 1.00: b wins over a: its execution_order is the lowest (b 1, a 2); a lower execution_order wins a tie"
    )
    same = {"a": 1, "b": 1}
    assert tie_note(rows[:2], same.get).endswith("they share execution_order 1, so the first by name wins")
    assert tie_note(rows[1:], orders.get) is None
    assert tie_note(rows[:1], orders.get) is None
