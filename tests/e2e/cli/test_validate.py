"""`workbench validate` in a subprocess: exit 2 with file:line and key and no traceback for a
broken task, 0 for a valid one (warnings printed), a clear message where there is no task."""

from __future__ import annotations

import pytest
from support import copy_sample, write_task
from support.cli import run_cli
from support.task_files import BROKEN, GOOD


@pytest.mark.parametrize(("name", "text", "line", "key", "words"), BROKEN[:4], ids=[b[0] for b in BROKEN[:4]])
def test_validate_cli_exits_2_with_file_line_and_no_traceback(tmp_path, name, text, line, key, words) -> None:
    root = tmp_path / name
    root.mkdir()
    (root / "task.yml").write_text(text)
    res = run_cli("validate", str(root))
    assert res.returncode == 2, res
    assert f"task.yml:{line}:" in res.stderr
    if key:
        assert key in res.stderr
    assert words in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_validate_cli_exits_0_on_a_valid_task(tmp_path) -> None:
    root = write_task(tmp_path / "ok", GOOD)
    res = run_cli("validate", str(root))
    assert res.returncode == 0, res.stderr
    assert "ok" in res.stdout and "chat" in res.stdout
    assert not (root / "data").exists()  # validating opens no store


def test_validate_cli_accepts_parlai_config_with_warnings(tmp_path) -> None:
    root = copy_sample("overworld_demo", tmp_path)
    (root / "task.yml").unlink()
    res = run_cli("validate", str(root))
    assert res.returncode == 0, res.stderr
    assert "warning:" in res.stderr and "additional_args.page_id" in res.stderr
    assert "parlai" in res.stdout


def test_validate_cli_says_there_is_no_task_file(tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_cli("validate", str(empty))
    assert res.returncode == 2
    assert "no task file here" in res.stderr and "task.yml" in res.stderr
    assert "Traceback" not in res.stderr
