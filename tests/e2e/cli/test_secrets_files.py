"""Issue 8 item 9 through the CLI: the store and every export are readable by their owner
only (0600, even under a permissive umask), and `workbench new` keeps secrets, the store
and exports out of git."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import copy_sample
from support.cli import LineReader, popen_cli, run_cli


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    """Subprocesses started inside inherit ``mask`` (0: everything world-readable by default)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_the_store_and_its_wal_files_are_0600_while_a_chat_runs(tmp_path) -> None:
    task = copy_sample("echo", tmp_path)
    with umask(0):
        proc = popen_cli("chat", str(task), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = LineReader(proc.stdout)
        assert proc.stdin is not None
        proc.stdin.write("hello there\n")
        proc.stdin.flush()
        out.wait_for("hello there", timeout=30)  # the reply is committed: the WAL files exist now
        data = task / "data"
        files = {p.name: mode(p) for p in data.iterdir()}
        assert files == {"workbench.db": 0o600, "workbench.db-wal": 0o600, "workbench.db-shm": 0o600}
        assert mode(data) == 0o700
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(30)


def test_secrets_a_store_readable_by_others_is_tightened_when_opened(tmp_path) -> None:
    task = copy_sample("echo", tmp_path)
    assert run_cli("chat", str(task), input="one\n").returncode == 0
    db = task / "data" / "workbench.db"
    db.chmod(0o644)
    assert run_cli("chat", str(task), input="two\n").returncode == 0
    assert mode(db) == 0o600


def test_secrets_exports_are_0600(tmp_path) -> None:
    task = copy_sample("helpdesk", tmp_path)
    with umask(0):
        assert run_cli("chat", str(task), input="hello\n").returncode == 0
        res = run_cli("export", str(task))
        assert res.returncode == 0, res.stderr
        table = tmp_path / "table.csv"
        res = run_cli("table", "export", str(task), str(table))
        assert res.returncode == 0, res.stderr
        as_json = tmp_path / "table.json"
        as_json.write_text("[]")
        as_json.chmod(0o644)  # an existing file written over is tightened too
        assert run_cli("table", "export", str(task), str(as_json)).returncode == 0
    exports = task / "exports"
    written = sorted(exports.rglob("*"))
    assert {p.name for p in written if p.is_file()} >= {"conversations.jsonl"}
    assert len([p for p in written if p.suffix == ".json"]) == 1
    assert {p.relative_to(exports).as_posix(): mode(p) for p in written} == {
        p.relative_to(exports).as_posix(): 0o700 if p.is_dir() else 0o600 for p in written
    }
    assert mode(exports) == 0o700
    assert (mode(table), mode(as_json)) == (0o600, 0o600)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_secrets_workbench_new_keeps_secrets_the_store_and_exports_out_of_git(tmp_path) -> None:
    target = tmp_path / "mytask"
    res = run_cli("new", str(target))
    assert res.returncode == 0, res.stderr
    subprocess.run(["git", "init", "-q", str(target)], check=True, timeout=30)
    for name in (".env", "data/workbench.db", "data/workbench.db-wal", "exports/conversations.jsonl"):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_text("x")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=target,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    untracked = sorted(line[3:] for line in status.splitlines())
    assert untracked == [".gitignore", "task.yml", "tests/basic.yml", "worlds.py"]

    # --force into a folder with its own .gitignore: its lines stay, ours are added once
    other = tmp_path / "other"
    other.mkdir()
    (other / ".gitignore").write_text("*.log\ndata/\n")
    assert run_cli("new", str(other), "--force").returncode == 0
    assert run_cli("new", str(other), "--force").returncode == 0
    lines = (other / ".gitignore").read_text().splitlines()
    assert lines == ["*.log", "data/", ".env", "exports/"]
