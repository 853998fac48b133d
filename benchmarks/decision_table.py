"""Decision-table benchmark: turn latency at 1k/10k/100k states, build time, memory, BANKING77 accuracy.

Tables are built from BANKING77's training utterances (the fixture in
tests/fixtures/intents/): state ``i`` belongs to intent ``i % 77`` and takes two
of that intent's utterances as queries; every fifth state also has a keyword
analyzer made of words typical of its intent, e.g.
``band(vOneKeyword("card"), bor(vOneKeyword("arriv.*"), vOneKeyword("deliver.*")))``.

A *turn* is what the runtime does for a message: the engine's step (rank every
state: keyword pre-filter, analyzers, BM25 retrieval; enter the best one; render
it) plus persisting the person's message, the reply and the new engine state to
a real SQLite store in one transaction. Utterances are BANKING77's test split,
spread over 50 conversations.

Accuracy: one state per intent whose queries are all its training utterances
(no analyzers), top-1 state of ``rank`` against the test split's intent.

Each size runs in its own process so memory figures do not mix.

    .venv/bin/python benchmarks/decision_table.py            # 1k, 10k, 100k + accuracy
    .venv/bin/python benchmarks/decision_table.py --sizes 1000 10000 --turns 1000
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STOP = set(
    """a an the i my me you your to of for in on is it its was be been am are do does did can could would
should will have has had not no and or but if at by with from this that what how why when where which who there
i'm i've it's don't can't didn't won't isn't wasn't please just get got still any some so as up out about into
over than then them they we our us he she his her their also too very much many more yet one two""".split()
)


def intents_dir() -> Path:
    d = ROOT / "tests" / "fixtures" / "intents"
    if (d / "banking77_train.csv").is_file():
        return d
    raise SystemExit(f"BANKING77 not found: expected {d}/banking77_train.csv")


def load(split: str) -> list[tuple[str, str]]:
    with open(intents_dir() / f"banking77_{split}.csv", newline="", encoding="utf-8") as f:
        return [(r["text"], r["category"]) for r in csv.DictReader(f)]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def typical_words(train: list[tuple[str, str]], per_intent: int = 8) -> dict[str, list[str]]:
    """Words frequent in an intent and rare elsewhere (a crude tf-idf), for keyword analyzers."""
    by_intent: dict[str, Counter] = defaultdict(Counter)
    df: Counter = Counter()
    for text, intent in train:
        words = {w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOP and len(w) > 2}
        by_intent[intent].update(words)
        df.update(words)
    out = {}
    for intent, counts in by_intent.items():
        ranked = sorted(counts, key=lambda w: -counts[w] / (df[w] ** 0.7))
        out[intent] = ranked[:per_intent]
    return out


def build_states(n: int, train: list[tuple[str, str]], seed: int = 1):
    from workbench.engines.decision_table.model import State

    rng = random.Random(seed)
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in train:
        by_intent[intent].append(text)
    intents = sorted(by_intent)
    words = typical_words(train)
    states = []
    for i in range(n):
        intent = intents[i % len(intents)]
        pool = by_intent[intent]
        k = (i // len(intents)) * 2
        queries = [pool[k % len(pool)], pool[(k + 1) % len(pool)]]
        analyzer = ""
        if i % 5 == 0:
            a, b, c = rng.sample(words[intent], 3)
            analyzer = f'band(vOneKeyword("{a}"), bor(vOneKeyword("{b}.*"), vOneKeyword("{c}")))'
        states.append(
            State(
                state=f"{intent}__{i}",
                queries=queries,
                analyzer=analyzer,
                bubble=f"About {intent.replace('_', ' ')} (%name%).|{intent}",
            )
        )
    return states


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_size(n: int, turns: int) -> dict:
    """Build an n-state table in a fresh store, then time turns (match + persist)."""
    from workbench.engines.base import Context
    from workbench.engines.decision_table.engine import DecisionTableEngine
    from workbench.engines.decision_table.table import DecisionTable
    from workbench.index.embedded import EmbeddedIndex
    from workbench.message import Message
    from workbench.store import Commit, Record, open_store

    train, test = load("train"), load("test")
    states = build_states(n, train)
    tmp = tempfile.TemporaryDirectory(prefix="wb-bench-")
    gc.collect()
    rss0 = rss_mb()
    store = open_store(Path(tmp.name) / "bench.db")
    t0 = time.perf_counter()
    writer = DecisionTable(store, EmbeddedIndex(), "bench")
    writer.import_states(states)  # store write + compile + index, as an import does
    import_s = time.perf_counter() - t0
    del writer, states
    gc.collect()

    # a cold start: a new process opens the store and builds its compiled table and index from it
    t0 = time.perf_counter()
    table = DecisionTable(store, EmbeddedIndex(), "bench")
    table.sync()
    build_s = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_mb()

    engine = DecisionTableEngine(table, bot="bench", threshold=0.3, start_state=None)
    convs = [store.new_conversation("bench", f"p{i}", "bench") for i in range(50)]
    contexts = {c: Context(conversation_id=c, bot="bench", data={"name": "Ann"}) for c in convs}
    states_by_conv = {c: engine.initial_state() for c in convs}
    utterances = [t for t, _ in test]
    rng = random.Random(5)
    rng.shuffle(utterances)
    warm = 50
    times, match_times, evaluated = [], [], []
    for i in range(turns + warm):
        cid = convs[i % len(convs)]
        text = utterances[i % len(utterances)]
        t0 = time.perf_counter()
        msg = Message(text=text, id="person")
        turn = engine.step(states_by_conv[cid], msg, contexts[cid])
        t1 = time.perf_counter()
        records = [Record(msg, agent="person", role="human")]
        records += [
            Record(r, agent="bench", role="bot", trace=turn.trace if k == 0 else None)
            for k, r in enumerate(turn.replies)
        ]
        store.commit(Commit(records={cid: records}, states=[(cid, "bench", turn.state)]))
        t2 = time.perf_counter()
        states_by_conv[cid] = turn.state
        if i >= warm:
            times.append((t2 - t0) * 1000)
            match_times.append((t1 - t0) * 1000)
            evaluated.append(turn.trace.get("evaluated", 0))
    store.close()
    tmp.cleanup()
    return {
        "states": n,
        "turns": turns,
        "p50_ms": statistics.median(times),
        "p99_ms": pct(times, 99),
        "max_ms": max(times),
        "match_p50_ms": statistics.median(match_times),
        "match_p99_ms": pct(match_times, 99),
        "evaluated_mean": statistics.mean(evaluated),
        "import_s": import_s,
        "build_s": build_s,
        "rss_mb": rss1 - rss0,
    }


def accuracy() -> dict:
    from workbench.engines.decision_table.model import State
    from workbench.engines.decision_table.table import DecisionTable
    from workbench.index.embedded import EmbeddedIndex
    from workbench.store import open_store

    train, test = load("train"), load("test")
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in train:
        by_intent[intent].append(text)
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        store = open_store(Path(tmp) / "acc.db")
        table = DecisionTable(store, EmbeddedIndex(), "acc")
        table.import_states([State(state=i, queries=q) for i, q in sorted(by_intent.items())])
        right = matched = 0
        for text, intent in test:
            cands = table.rank(text, limit=1, explain=False).candidates
            if cands:
                right += cands[0].state == intent
                matched += cands[0].score >= 0.3
        store.close()
    return {
        "states": len(by_intent),
        "test": len(test),
        "top1": right / len(test),
        "above_threshold": matched / len(test),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 100000])
    ap.add_argument("--turns", type=int, default=2000)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--no-accuracy", action="store_true")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_size(args.one, args.turns)))
        return
    rows = []
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--turns", str(args.turns)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    targets = {10000: 5.0, 100000: 20.0}
    header = (
        f"{'states':>8} {'turn p50':>9} {'turn p99':>9} {'target':>7} {'match p50':>10} {'match p99':>10} "
        f"{'evaluated':>10} {'import':>8} {'build':>8} {'memory':>8}"
    )
    print("Decision-table turn latency (match + persist to SQLite), BANKING77 test utterances")
    print(header)
    print("-" * len(header))
    for r in rows:
        target = targets.get(r["states"])
        t = f"<{target:g}ms" if target else "-"
        ok = "" if not target else (" ok" if r["p99_ms"] < target else " MISS")
        print(
            f"{r['states']:>8} {r['p50_ms']:>7.2f}ms {r['p99_ms']:>7.2f}ms {t:>7} {r['match_p50_ms']:>8.2f}ms "
            f"{r['match_p99_ms']:>8.2f}ms {r['evaluated_mean']:>10.0f} {r['import_s']:>7.2f}s {r['build_s']:>7.2f}s "
            f"{r['rss_mb']:>6.0f}MB{ok}"
        )
    print("  evaluated: analyzers and retrieved states scored per turn (after the keyword pre-filter)")
    print("  import: store write + compile + index from a list of states; build: cold start from the store")
    if not args.no_accuracy:
        a = accuracy()
        print(
            f"\nBANKING77 top-1 state accuracy (BM25 over {a['states']} states' training utterances): "
            f"{a['top1']:.1%} of {a['test']} test utterances; {a['above_threshold']:.1%} score above the 0.3 threshold"
        )


if __name__ == "__main__":
    main()
