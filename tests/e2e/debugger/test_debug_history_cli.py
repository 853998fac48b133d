"""`workbench history prune`: old engine-state history goes by count or age; current states stay."""

from __future__ import annotations

from pathlib import Path

from support import copy_sample
from support.cli import run_cli

from workbench.store import open_store


def test_prune_by_count_then_by_age(tmp_path: Path) -> None:
    root = copy_sample("helpdesk", tmp_path)
    assert run_cli("chat", str(root), input="my account is locked\nbye\nExcellent\n").returncode == 0
    db = root / "data" / "workbench.db"
    store = open_store(db)
    cid = store.conversations()[0]["id"]
    assert len(store.state_history(cid)) == 4  # the greeting and three turns
    store.close()
    done = run_cli("history", "prune", str(root), "--keep", "1")
    assert done.returncode == 0 and "pruned 3 state history entries" in done.stdout, done.stderr
    done = run_cli("history", "prune", str(root), "--older-than", "0")
    assert done.returncode == 0 and "pruned 1 state history entry" in done.stdout
    store = open_store(db)
    try:
        assert store.state_history(cid) == [] and store.state(cid, "desk")["current"] == "excellent_feedback"
    finally:
        store.close()
    done = run_cli("history", "prune", str(root))
    assert done.returncode == 2 and "say what to prune" in done.stderr
    assert run_cli("history", "prune", str(root), "--keep", "-1").returncode == 2
