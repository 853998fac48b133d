"""BANKING77 for the benchmarks: its splits, a held-out out-of-scope split, and a vector cache.

The vectors of BANKING77's 13,083 utterances take a few minutes to encode on a
CPU. They are kept in ``benchmarks/.cache/vectors.db`` (keyed like the store's
vector cache: model and text hash), so every run after the first copies them into
its fresh stores instead of encoding again, exactly as a restarted workbench reads
them from its own store.
"""

from __future__ import annotations

import csv
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTENTS = ROOT / "tests" / "fixtures" / "intents"
CACHE = ROOT / "benchmarks" / ".cache" / "vectors.db"


def load(split: str) -> list[tuple[str, str]]:
    path = INTENTS / f"banking77_{split}.csv"
    if not path.is_file():
        raise SystemExit(f"BANKING77 not found: expected {path}")
    with open(path, newline="", encoding="utf-8") as f:
        return [(r["text"], r["category"]) for r in csv.DictReader(f)]


def by_intent(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows:
        out[intent].append(text)
    return dict(sorted(out.items()))


@dataclass
class OutOfScopeSplit:
    """Intents held out of training: their test utterances are what no state should answer.

    ``held`` intents are split in two: the training utterances of the first half are the
    task's out-of-scope examples (when a run gives any), the test utterances of the second
    half are the out-of-scope test (intents no example of either kind came from).
    """

    train: dict[str, list[str]]  # in-scope intent -> training utterances
    in_scope: list[tuple[str, str]]  # in-scope test utterances (text, intent)
    out_of_scope: list[str]  # test utterances of every held-out intent
    examples: list[str]  # training utterances of the first half of the held-out intents
    unseen: list[str]  # test utterances of the second half
    held: list[str]


def out_of_scope_split(held: int = 16, seed: int = 77) -> OutOfScopeSplit:
    train, test = by_intent(load("train")), load("test")
    out = sorted(random.Random(seed).sample(sorted(train), held))
    first, second = set(out[: held // 2]), set(out[held // 2 :])
    return OutOfScopeSplit(
        train={i: t for i, t in train.items() if i not in out},
        in_scope=[(t, i) for t, i in test if i not in out],
        out_of_scope=[t for t, i in test if i in out],
        examples=[t for i in sorted(first) for t in train[i]],
        unseen=[t for t, i in test if i in second],
        held=out,
    )


def model():
    """The process's embedding model, loaded (or exit with why it cannot be)."""
    from workbench.engines.retrieval.embedder import embeddings

    service = embeddings()
    if not service.wait(600):
        raise SystemExit(f"the embedding model did not load: {service.status.detail}")
    return service


def seed_vectors(store, texts: list[str]) -> int:
    """Copy the vectors of ``texts`` from the benchmark cache into ``store``, encoding (and
    caching) those never seen; returns how many were encoded."""
    from workbench.engines.retrieval.embedder import MODEL_NAME, text_key
    from workbench.store import open_store

    CACHE.parent.mkdir(parents=True, exist_ok=True)
    cache_store = open_store(CACHE)
    try:
        cache = cache_store.vectors(MODEL_NAME)
        keys = {t: text_key(t) for t in dict.fromkeys(texts)}
        found = cache.get_many(keys.values())
        todo = [t for t, k in keys.items() if k not in found]
        if todo:
            service = model()
            started = time.perf_counter()
            for start in range(0, len(todo), 512):
                chunk = todo[start : start + 512]
                vectors = service.encode(chunk)
                cache.put_many((keys[t], v.tobytes()) for t, v in zip(chunk, vectors, strict=True))
                found.update((keys[t], v.tobytes()) for t, v in zip(chunk, vectors, strict=True))
                print(
                    f"  encoded {min(len(todo), start + 512)} of {len(todo)} texts for the benchmark cache "
                    f"({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )
        store.vectors(MODEL_NAME).put_many((k, found[k]) for k in keys.values())
        return len(todo)
    finally:
        cache_store.close()


def prime_queries(texts: list[str]) -> None:
    """Put the cached vectors of ``texts`` in the model's query cache (accuracy runs need not
    time 3,080 encodings; the latency runs never prime)."""
    import numpy as np

    from workbench.engines.retrieval.embedder import MODEL_NAME, text_key
    from workbench.store import open_store

    service = model()
    seed = open_store(":memory:")
    seed_vectors(seed, texts)
    keys = {t: text_key(t) for t in texts}
    found = seed.vectors(MODEL_NAME).get_many(keys.values())
    service.prime({t: np.frombuffer(found[k], dtype=np.float32) for t, k in keys.items() if k in found})
    seed.close()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def rss_mb(pid: int | str = "self") -> float:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return float("nan")
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def model_rss_mb() -> float:
    """Resident memory of the embedding model's process (it runs beside this one)."""
    from workbench.engines.retrieval.embedder import embeddings

    process = getattr(embeddings()._encoder, "_process", None)
    return rss_mb(process.pid) if process is not None else float("nan")
