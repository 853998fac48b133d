"""What keeping every turn's engine state costs (the debugger's state history, store migration 4).

For each sample task, N scripted conversations are run through the real runner into a fresh
SQLite store. Reported per history entry (one per bot turn): the JSON size of the state
kept, the bytes the history adds to the file (its size against the same file with the
history deleted, both vacuumed), and the time of one turn's commit (two messages and the
state) alone and in a group commit of 64, with the history against the same store with
history inserts switched off (a trigger that ignores them), best of 3 interleaved runs.

    .venv/bin/python benchmarks/state_history.py [--conversations 300] [--commits 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conversations import make_conversations, sample_dir  # noqa: E402

from workbench.message import Message  # noqa: E402
from workbench.store import Commit, Record, open_store  # noqa: E402
from workbench.task import load_task  # noqa: E402

#: timing runs of each kind (the best one is reported)
ROUNDS = 3


def _file_bytes(path: Path) -> int:
    return path.stat().st_size


def _commits(states: list[dict], cids: list[str], n: int) -> list[Commit]:
    out = []
    for i in range(n):
        cid = cids[i % len(cids)]
        records = [
            Record(Message(text=f"message {i}", id="you"), agent="you"),
            Record(Message(text=f"reply {i}", id="bot"), agent="bot", role="bot", trace={"turn": i}),
        ]
        out.append(Commit(records={cid: records}, states=[(cid, "bot", states[i % len(states)])]))
    return out


def _time_commits(path: Path, states: list[dict], n: int, batch: int, history: bool) -> float:
    """Microseconds per turn committed in batches of ``batch``."""
    store = open_store(path)
    if not history:
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TRIGGER IF NOT EXISTS no_history BEFORE INSERT ON state_history BEGIN SELECT RAISE(IGNORE); END"
        )
        conn.commit()
        conn.close()
    cids = [store.new_conversation("bench", f"p{i}") for i in range(50)]
    commits = _commits(states, cids, n)
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        store.commit_many(commits[i : i + batch])
    elapsed = time.perf_counter() - t0
    store.close()
    return elapsed / n * 1e6


async def measure(sample: str, conversations: int, commits: int, tmp: Path) -> dict[str, float]:
    root = sample_dir(sample, tmp)
    db = tmp / f"{sample}.db"
    store = open_store(db)
    task = load_task(root)
    task.use_store(store)
    ids, turns = await make_conversations(task, store, conversations, sample)
    history = [h for cid in ids for h in store.state_history(cid)]
    states = [h.state for h in history]
    store.close()
    conn = sqlite3.connect(db)
    (rows, json_bytes) = conn.execute("SELECT count(*), sum(length(state)) FROM state_history").fetchone()
    conn.execute("PRAGMA journal_mode=DELETE")  # the whole file in one place, WAL folded in
    conn.execute("VACUUM")
    with_history = _file_bytes(db)
    conn.execute("DELETE FROM state_history")
    conn.commit()
    conn.execute("VACUUM")
    without = _file_bytes(db)
    conn.close()
    figures = {
        "conversations": len(ids),
        "turns": turns,
        "history_rows": rows,
        "json_bytes_per_row": json_bytes / rows,
        "file_bytes_per_row": (with_history - without) / rows,
        "file_mb_with": with_history / 1e6,
        "file_mb_without": without / 1e6,
    }
    for batch in (1, 64):
        # interleaved, best of ROUNDS: other work on the machine slows some runs, never speeds one up
        on, off = [], []
        for r in range(ROUNDS):
            on.append(_time_commits(tmp / f"{sample}-on-{batch}-{r}.db", states, commits, batch, history=True))
            off.append(_time_commits(tmp / f"{sample}-off-{batch}-{r}.db", states, commits, batch, history=False))
        figures[f"commit_us_batch{batch}_with"] = min(on)
        figures[f"commit_us_batch{batch}_without"] = min(off)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--samples", default="helpdesk,restaurant")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, sqlite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="wb-history-bench-") as tmp:
        for sample in args.samples.split(","):
            f = asyncio.run(measure(sample, args.conversations, args.commits, Path(tmp)))
            print(
                f"\n{sample}: {f['conversations']} conversations, {f['turns']} turns, "
                f"{f['history_rows']} history entries (greetings included)"
            )
            print(f"  state JSON kept per entry:   {f['json_bytes_per_row']:8.0f} bytes")
            print(
                f"  file bytes per entry:        {f['file_bytes_per_row']:8.0f} bytes "
                f"(file {f['file_mb_with']:.2f} MB with history, {f['file_mb_without']:.2f} MB without)"
            )
            for batch in (1, 64):
                on, off = f[f"commit_us_batch{batch}_with"], f[f"commit_us_batch{batch}_without"]
                print(
                    f"  commit per turn, batch {batch:>2}:    {on:8.1f} µs with history, {off:8.1f} µs without "
                    f"({on - off:+.1f} µs, {on / off * 100 - 100:+.0f}%)"
                )


if __name__ == "__main__":
    main()
