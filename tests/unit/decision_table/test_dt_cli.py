"""`workbench table import|export|check`, run in process (typer's CliRunner): exit codes,
row/column errors, no tracebacks. (In a subprocess: tests/e2e/cli/test_table_cli.py.)"""

from __future__ import annotations

import json

import pytest
from support import STARCHAT
from typer.testing import CliRunner

from workbench.cli.table_cmd import app
from workbench.engines.decision_table.table import DecisionTable
from workbench.store import open_store

runner = CliRunner()
OLD = STARCHAT / "sample_state_machine_specification_2016.csv"
DOC = STARCHAT / "decision_table_starchat_doc.csv"


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def states_in(task_dir) -> list[str]:
    store = open_store(task_dir / "data" / "workbench.db")
    try:
        return DecisionTable(store, None, "desk").names()
    finally:
        store.close()


def test_check_reports_every_defect_and_exits_2(helpdesk):
    r = run("check", helpdesk, OLD)
    assert r.exit_code == 2
    out = r.output
    assert "row 4, column 5 (action_input (R))" in out and "forgot_password" in out
    assert "row 10, column 2 (queries (T,I)), character 37" in out and "call_operator" in out
    assert "9 valid state(s), 2 defective row(s)" in out
    assert "Traceback" not in out
    assert not (helpdesk / "data").exists()  # check alone writes nothing


def test_check_load_keeps_the_valid_rows(helpdesk):
    r = run("check", helpdesk, OLD, "--load", "--replace")
    assert r.exit_code == 2
    assert "loaded 9 state(s)" in r.output
    assert len(states_in(helpdesk)) == 9


@pytest.mark.parametrize("name", ["sample_state_machine_specification.csv", "decision_table_starchat_doc.csv"])
def test_check_clean_files_exit_0(helpdesk, name):
    r = run("check", helpdesk, STARCHAT / name)
    assert r.exit_code == 0, r.output


def test_check_warns_about_a_button_to_an_unknown_state(helpdesk):
    r = run("check", helpdesk, DOC)
    assert r.exit_code == 0 and "warning" in r.output


def test_import_refuses_defective_files_unless_skip_invalid(helpdesk):
    r = run("import", helpdesk, OLD)
    assert r.exit_code == 2 and "nothing was imported" in r.output
    assert not (helpdesk / "data").exists()
    r = run("import", helpdesk, OLD, "--skip-invalid")
    assert r.exit_code == 0, r.output
    assert "2 defective row(s) skipped" in r.output
    # seeded from task.yml first (12 states), then the 9 valid rows added or updated
    assert len(states_in(helpdesk)) == 12


def test_import_then_export_round_trip(helpdesk, tmp_path):
    assert run("import", helpdesk, DOC, "--replace").exit_code == 0
    out = tmp_path / "out.json"
    r = run("export", helpdesk, out)
    assert r.exit_code == 0, r.output
    exported = json.loads(out.read_text())
    assert [s["state"] for s in exported][:3] == ["help", "hello", "hello2"] and len(exported) == 22
    csv_out = tmp_path / "out.csv"
    assert run("export", helpdesk, csv_out).exit_code == 0
    assert run("check", helpdesk, csv_out).exit_code == 0
    r = run("export", helpdesk, "-", "--format", "json")
    assert json.loads(r.stdout)[0]["state"] == "help"


def test_bad_usage_exits_2_with_a_message(helpdesk, tmp_path):
    r = run("import", helpdesk, tmp_path / "missing.csv")
    assert r.exit_code == 2 and "no such file" in r.output
    r = run("import", tmp_path / "nowhere", DOC)
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = run("import", helpdesk, DOC, "--bot", "ghost")
    assert r.exit_code == 2 and "no decision_table bot named 'ghost'" in r.output
    r = run("export", helpdesk, tmp_path / "x.txt", "--format", "xml")
    assert r.exit_code == 2
