"""`workbench replay` as a subprocess: conversations made with `workbench chat`, replayed
unchanged (`same`, exit 0), then after a bubble or a query of the table was edited
(`diverged at turn K` with the two replies, exit 1), and bad usage (exit 2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import copy_sample
from support.cli import run_cli

from workbench.runtime.editing import BotEditor
from workbench.store import open_store
from workbench.task import load_task


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    """A helpdesk copy with two conversations stored by `workbench chat`."""
    root = copy_sample("helpdesk", tmp_path)
    for lines in ("my account is locked\nbye\n", "What are your opening hours?\nI forgot my password\n"):
        done = run_cli("chat", str(root), input=lines)
        assert done.returncode == 0, done.stderr
    return root


def _ids(out: str) -> list[tuple[str, str]]:
    return re.findall(r"^(\w+) (same|diverged at turn \d+)", out, flags=re.M)


def test_an_unchanged_bot_replays_the_same(desk: Path, tmp_path: Path) -> None:
    done = run_cli("replay", str(desk), "--json", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert [status for _, status in _ids(done.stdout)] == ["same", "same"]
    assert "2 conversation(s): 2 same, 0 diverged, 0 skipped" in done.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["same"] == 2 and report["turns"] == 4 and len(report["results"]) == 2


def test_an_edited_bubble_diverges_and_exits_1(desk: Path, tmp_path: Path) -> None:
    table = desk / "decision_table.csv"
    table.write_text(
        table.read_text().replace("If your account is locked you need to call", "Locked out? Call"), encoding="utf-8"
    )
    done = run_cli("replay", str(desk), "--json", str(tmp_path / "r.json"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert [status for _, status in _ids(done.stdout)] == ["diverged at turn 1", "same"]
    assert "    you:  my account is locked" in done.stdout
    assert "    then: If your account is locked you need to call our customer service at 800 000 000" in done.stdout
    assert "    now:  Locked out? Call our customer service at 800 000 000" in done.stdout
    first = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert first["status"] == "diverged" and first["diverged_at"] == 1 and first["said"] == "my account is locked"


def test_an_edited_query_diverges_and_one_conversation_can_be_named(desk: Path) -> None:
    task = load_task(desk)
    store = open_store(task.store_path)
    task.use_store(store)
    try:
        BotEditor(task).save_state(
            "desk", {"state": "opening_hours", "queries": ["What are your opening hours?"], "bubble": "Always open."}
        )
        second = store.conversations(limit=1)[0]["id"]
    finally:
        store.close()
    done = run_cli("replay", str(desk), "--conversation", second)
    assert done.returncode == 1, done.stdout + done.stderr
    assert _ids(done.stdout) == [(second, "diverged at turn 1")]
    assert "    now:  Always open." in done.stdout
    done = run_cli("replay", str(desk), "--last", "1")
    assert done.returncode == 1 and _ids(done.stdout) == [(second, "diverged at turn 1")]


def test_bad_usage_exits_2(desk: Path) -> None:
    for args, said in (
        (("--conversation", "nope"), "no conversation 'nope'"),
        (("--since", "last tuesday"), "expected a date such as 2024-06-01"),
        (("--last", "0"), "--last expects a number of conversations of at least 1"),
        (("--last", "1", "--conversation", "x"), "does not go with --last or --since"),
    ):
        done = run_cli("replay", str(desk), *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert said in done.stderr
    assert run_cli("replay", str(desk), "--since", "2999-01-01").returncode == 0
