"""What-if replay speed: 1,000 stored conversations replayed against the bot as it is now.

N scripted helpdesk conversations (a decision table with a knowledge base; 3 to 5 turns
each) are stored through the real runner, then replayed as `workbench replay TASK` does
(workbench/testing/replay.py: a scratch store with copies of the table and the knowledge
base, the real runner, each person's turn waited for), once unchanged and once after a
bubble was edited. Reported: turns and conversations per second, and that the unchanged
replay says ``same`` for every conversation and the edited one ``diverged`` for those
that reach the edited state.

    .venv/bin/python benchmarks/replay.py [--conversations 1000] [--sample helpdesk] [--concurrency 32]

The same through the command line (after the conversations are stored):

    .venv/bin/workbench replay TASK --json report.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conversations import make_conversations, sample_dir  # noqa: E402

from workbench.runtime.editing import BotEditor  # noqa: E402
from workbench.store import open_store  # noqa: E402
from workbench.task import load_task  # noqa: E402
from workbench.testing.replay import Replayer  # noqa: E402


async def run(conversations: int, sample: str, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wb-replay-bench-") as tmp:
        root = sample_dir(sample, Path(tmp))
        store = open_store(root / "replay-bench.db")
        task = load_task(root)
        task.use_store(store)
        t0 = time.perf_counter()
        ids, turns = await make_conversations(task, store, conversations, sample)
        made = time.perf_counter() - t0
        print(f"stored {len(ids)} conversations ({turns} turns) in {made:.1f} s ({turns / made:.0f} turns/s live)")

        for label in ("unchanged", "after a bubble edit"):
            if label != "unchanged":
                BotEditor(task).update_state("desk", "account_locked", {"bubble": "Locked out? Call 800 111 111."})
            report = await Replayer(root, store, concurrency=concurrency).run(ids)
            summary = report.to_json()
            print(
                f"replay {label}: {summary['conversations']} conversations, {report.turns} turns in "
                f"{report.seconds:.1f} s = {report.turns / report.seconds:.0f} turns/s, "
                f"{len(report.results) / report.seconds:.0f} conversations/s; "
                f"{summary['same']} same, {summary['diverged']} diverged, {summary['skipped']} skipped"
            )
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--sample", default="helpdesk", choices=["helpdesk"])
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; concurrency {args.concurrency}")
    asyncio.run(run(args.conversations, args.sample, args.concurrency))


if __name__ == "__main__":
    main()
