"""Reading and writing tables: the three starchat CSV layouts, JSON, defects by row and column."""

from __future__ import annotations

import pytest
from support import STARCHAT

from workbench.engines.decision_table.table_io import read_csv, read_file, read_json, read_text, write_csv, write_json


def test_2016_layout_reports_its_two_known_defects_and_loads_the_rest():
    read = read_file(STARCHAT / "sample_state_machine_specification_2016.csv")
    assert read.layout.startswith("starchat 2016")
    assert len(read.states) == 9 and read.rejected == 2
    errors = {(p.row, p.column, p.subject): p for p in read.errors}
    assert set(errors) == {(4, 5, "state forgot_password"), (10, 2, "state call_operator")}
    nested = errors[(4, 5, "state forgot_password")]
    assert nested.key == "action_input (R)" and "is an object" in nested.message
    broken = errors[(10, 2, "state call_operator")]
    assert broken.key == "queries (T,I)" and "not valid JSON" in broken.message and broken.char == 37
    assert "row 10" in str(broken) and "column 2 (queries (T,I))" in str(broken) and "character 37" in str(broken)
    # JSON-quoted transitions of the 2016 layout are unquoted
    by_name = {s.state: s for s in read.states}
    assert by_name["account_locked"].success_value == "any_further"
    assert by_name["further_details_access_question"].failure_value == "dont_understand"
    assert by_name["further_details_access_question"].queries == ["cannot access account", "problem access account"]


def test_11_column_layout_loads_despite_its_header_names():
    read = read_file(STARCHAT / "sample_state_machine_specification.csv")
    assert read.ok, [str(p) for p in read.errors]
    assert read.layout == "starchat (11 columns)"
    names = [s.state for s in read.states]
    assert names[:3] == ["start", "test_state", "further_details_access_question"]
    fd = read.states[2]
    assert fd.analyzer.startswith("or(and(")
    assert fd.state_data == {"verification": "did you mean you can't access to your account?"}
    assert fd.action == "show_buttons" and fd.action_input["None of the above"] == "start"
    spgl = next(s for s in read.states if s.state == "send_password_generation_link")
    assert "%link%" in spgl.action_input["template"]
    # a button names a state the sample never defines: a warning, not an error
    assert any("specify_problem" in p.message for p in read.warnings)


def test_named_header_layout_with_multiline_cells_and_evaluation_class():
    read = read_file(STARCHAT / "decision_table_starchat_doc.csv")
    assert read.ok, [str(p) for p in read.errors]
    assert read.layout.startswith("named header")
    assert len(read.states) == 22
    by_name = {s.state: s for s in read.states}
    assert "\n" in by_name["quickstart"].bubble and "<li>docker</li>" in by_name["quickstart"].bubble
    assert by_name["help"].evaluation_class == "default"
    assert by_name["hello"].evaluation_class == "default"  # empty cell
    # a list of one mapping (as this file writes show_buttons input) is read as the mapping
    assert by_name["standalone_install"].action_input == {
        "Excellent": "excellent_feedback",
        "Terrible": "terrible_feedback",
    }
    # rows after a multi-line cell keep the right row number and report their line
    assert by_name["thanks_email"].bubble == "Thanks for providing email"


def test_analyzer_errors_give_row_column_and_character():
    text = 'state,analyzer,bubble\nok,"bor(vOneKeyword(""a""))",A\nbad,"band(vOneKeyword(""a""), oops(""b""))",B\n'
    read = read_csv(text, "t.csv")
    assert [s.state for s in read.states] == ["ok"]
    (p,) = read.errors
    assert (p.row, p.key, p.column, p.char) == (3, "analyzer", 2, 24)
    assert "unknown function 'oops'" in p.message


def test_row_and_line_differ_after_multiline_cells_and_duplicates_are_errors():
    text = 'state,bubble,max_state_count\na,"line one\nline two",0\nb,B,many\na,again,0\n'
    read = read_csv(text, "t.csv")
    problems = {(p.row, p.line, p.key): p.message for p in read.errors}
    assert problems[(3, 4, "max_state_count")].startswith("expected a whole number")
    assert "already defined in row 2" in problems[(4, 5, "state")]


def test_positional_file_without_header_and_an_unknown_layout():
    row = 'start,1,0,,,"Hi",,,,,\n'
    read = read_csv(row, "p.csv")
    assert read.layout.startswith("positional (11") and read.states[0].bubble == "Hi"
    bad = read_csv("a,b,c\n", "x.csv")
    assert not bad.states and "match no known layout" in bad.errors[0].message


def test_json_round_trip_and_errors():
    read = read_file(STARCHAT / "decision_table_starchat_doc.csv")
    again = read_json(write_json(read.states), "t.json")
    assert again.ok and [s.document() for s in again.states] == [s.document() for s in read.states]
    camel = read_json(
        '[{"state": "a", "executionOrder": 2, "actionInput": {"k": "v"}, "successValue": "b"}, {"state": "b"}]'
    )
    assert camel.ok and camel.states[0].execution_order == 2 and camel.states[0].action_input == {"k": "v"}
    bad = read_json('[{"state": "a", "colour": "red"}, {"bubble": "no name"}, 3]', "t.json")
    msgs = {(p.row, p.key) for p in bad.errors}
    assert msgs == {(1, "colour"), (2, "state"), (3, "state")}
    broken = read_json('[{"state": ', "t.json")
    assert broken.errors and broken.errors[0].line == 1


@pytest.mark.parametrize("name", ["sample_state_machine_specification.csv", "decision_table_starchat_doc.csv"])
def test_csv_export_reads_back_identically(name):
    read = read_file(STARCHAT / name)
    again = read_text(write_csv(read.states), "export.csv")
    assert again.ok
    assert [s.document() for s in again.states] == [s.document() for s in read.states]
