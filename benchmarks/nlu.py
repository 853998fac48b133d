"""Intent accuracy on BANKING77 and the form engine's turn latency with NLU.

Accuracy: the train split is the intent examples (10,003 utterances, 77
intents), the test split (3,080) is scored by top-1 intent. Two rankings over
the same embedded index are reported: the single nearest example (plain BM25,
about 81% here) and the default ``bm25`` ranker (the 20 nearest examples vote,
weighted by score to the 4th power; chosen on a held-out part of the training
split, never on the test split). With the fallback threshold, the share of
test utterances answered and the accuracy on those is reported too.

Latency: the restaurant sample's form bot (real NLU over the same kind of
index, entity rules, slot mappings, validation) goes through scripted booking
conversations; p50/p99 in milliseconds of one engine ``step``, and of a whole
turn through the runtime: from the person's message put on their channel to
the first reply delivered, with the messages and the new state committed to a
SQLite store on disk first. Also the BANKING77-sized NLU alone (one ``parse``),
the cost a 77-intent bot adds.

    .venv/bin/python benchmarks/nlu.py [--intents DIR] [--turns 3000] [--runtime-turns 300] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.engines.base import Context  # noqa: E402
from workbench.engines.nlu import NLU, NLUData  # noqa: E402
from workbench.engines.nlu.ranking import IndexRanker  # noqa: E402
from workbench.index.embedded import EmbeddedIndex  # noqa: E402
from workbench.message import Message  # noqa: E402

DEFAULT_INTENTS = ROOT / "tests" / "fixtures" / "intents"

CONVERSATIONS = [
    [
        "I'm looking for a restaurant",
        "cheap",
        "mexican please",
        "why do you need to know that",
        "in berlin",
        "we are 6 people",
        "yes",
    ],
    ["book a table for 4 at an italian place", "expensive", "tell me a joke", "Little Snoring", "no thanks"],
    ["I need a hotel", "amsterdam", "2030-07-01", "2030-07-10", "yes", "did that work"],
    ["can you book me a hotel in paris from 1 July 2030 until 3 July 2030", "hello", "qwertyuiop"],
]


def rows(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["text"], r["category"]) for r in csv.DictReader(f)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def accuracy(folder: Path, threshold: float) -> dict:
    train, test = rows(folder / "banking77_train.csv"), rows(folder / "banking77_test.csv")
    data = NLUData()
    for text, intent in train:
        data.add_example(intent, text)
    index = EmbeddedIndex()
    out: dict = {"train": len(train), "test": len(test), "intents": len(data.intents)}
    for label, neighbours in (("nearest_example", 1), ("bm25_vote", 20)):
        ranker = IndexRanker(index, f"nlu:{label}", neighbours=neighbours)
        nlu = NLU(data, ranker=ranker, threshold=threshold)
        t0 = time.perf_counter()
        _ = nlu.ranker  # fit
        fit = time.perf_counter() - t0
        right = answered = right_answered = 0
        times = []
        for text, gold in test:
            t0 = time.perf_counter()
            p = nlu.parse(text)
            times.append((time.perf_counter() - t0) * 1000)
            top = p.ranking[0].intent if p.ranking else None
            right += top == gold
            if not p.fallback:
                answered += 1
                right_answered += p.intent == gold
        out[label] = {
            "top1": right / len(test),
            "answered": answered / len(test),
            "accuracy_when_answered": right_answered / answered if answered else 0.0,
            "index_s": fit,
            "parse_p50_ms": percentile(times, 50),
            "parse_p99_ms": percentile(times, 99),
        }
    out["threshold"] = threshold
    return out


def latency(turns: int) -> dict:
    from workbench.task.loader import load_task

    task = load_task(ROOT / "sample_tasks" / "restaurant")
    engine = task.engine("booking")
    ctx = Context(conversation_id="bench", bot="booking", registry=task.registry, task=task)
    _ = engine.nlu.ranker  # index the examples before timing
    times: list[float] = []
    while len(times) < turns:
        for script in CONVERSATIONS:
            state = engine.initial_state()
            for text in script:
                t0 = time.perf_counter()
                turn = engine.step(state, Message(text=text), ctx)
                times.append((time.perf_counter() - t0) * 1000)
                state = turn.state
    return {
        "turns": len(times),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "mean_ms": statistics.fmean(times),
    }


def runtime_latency(turns: int) -> dict:
    """Message in, first reply out, through the Runner and a store on disk."""
    import asyncio
    import tempfile

    from workbench.runtime.runner import Runner
    from workbench.store import open_store
    from workbench.task.loader import load_task

    async def run(folder: Path) -> list[float]:
        task = load_task(ROOT / "sample_tasks" / "restaurant")
        store = open_store(folder / "bench.db")
        task.use_store(store)
        runner = Runner(task, store)
        times: list[float] = []
        n = 0
        try:
            while len(times) < turns:
                for script in CONVERSATIONS:
                    arrived = asyncio.Event()

                    async def deliver(msg, arrived=arrived):
                        arrived.set()

                    n += 1
                    session = await runner.connect(deliver, person=f"p{n}", channel="bench")
                    await runner.wait_idle(timeout=10)
                    for text in script:
                        arrived.clear()
                        t0 = time.perf_counter()
                        session.put(Message(text=text))
                        await asyncio.wait_for(arrived.wait(), timeout=10)
                        times.append((time.perf_counter() - t0) * 1000)
                        await runner.wait_idle(timeout=10)
        finally:
            await runner.stop(wait=2.0)
            store.close()
        return times

    with tempfile.TemporaryDirectory(prefix="workbench-bench-") as tmp:
        times = asyncio.run(run(Path(tmp)))
    return {
        "turns": len(times),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "mean_ms": statistics.fmean(times),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--intents", type=Path, default=DEFAULT_INTENTS, help="folder with banking77_train.csv and banking77_test.csv"
    )
    ap.add_argument("--turns", type=int, default=3000, help="form-engine turns to time")
    ap.add_argument("--runtime-turns", type=int, default=300, help="turns to time through the runtime and store")
    ap.add_argument("--threshold", type=float, default=0.3, help="fallback intent threshold")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    acc = accuracy(args.intents, args.threshold)
    lat = latency(args.turns)
    rt = runtime_latency(args.runtime_turns)
    if args.json:
        print(json.dumps({"banking77": acc, "form_step": lat, "runtime_turn": rt}, indent=2))
        return 0
    print(f"BANKING77: {acc['train']} examples, {acc['test']} test utterances, {acc['intents']} intents")
    for label, name in (("nearest_example", "nearest example (plain BM25)"), ("bm25_vote", "bm25 ranker (20-NN vote)")):
        r = acc[label]
        print(
            f"  {name:32s} top-1 {r['top1']:.1%}   above threshold {acc['threshold']}: {r['answered']:.1%} "
            f"answered, {r['accuracy_when_answered']:.1%} right   parse p50 {r['parse_p50_ms']:.2f} ms "
            f"p99 {r['parse_p99_ms']:.2f} ms   index {r['index_s']:.2f} s"
        )
    print(
        f"form engine step with NLU (restaurant sample, {lat['turns']} turns): p50 {lat['p50_ms']:.2f} ms, "
        f"p99 {lat['p99_ms']:.2f} ms, mean {lat['mean_ms']:.2f} ms"
    )
    print(
        f"whole turn through the runtime, store on disk ({rt['turns']} turns): p50 {rt['p50_ms']:.2f} ms, "
        f"p99 {rt['p99_ms']:.2f} ms, mean {rt['mean_ms']:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
