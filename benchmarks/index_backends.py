"""Compare the embedded-index candidates on short documents: build time, query latency, memory.

    .venv/bin/python benchmarks/index_backends.py                 # 10k and 100k documents
    .venv/bin/python benchmarks/index_backends.py --sizes 10000 --queries 500

Documents are BANKING77 training utterances, repeated with small perturbations
(a word dropped, a word from the corpus inserted) to reach each size; queries are
the test-split utterances, run as OR queries of their words, top 10. Each
(backend, size) runs in its own process so memory figures do not mix: "memory"
is the growth of resident memory while building the index. Candidates:

* ``tantivy``: workbench's own EmbeddedIndex (analysis, filters and score
  normalisation included, so this is what the engines will see);
* ``fts5``: SQLite FTS5 with the porter tokenizer, ranked by ``bm25()``;
* ``bm25s``: sparse-matrix BM25 (skipped when not installed; it cannot update
  incrementally, so every edit would be a rebuild).

"single upsert" is the latency of replacing one document in the built index
(what editing a state or a Q/A costs).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "intents"
BACKENDS = ("tantivy", "fts5", "bm25s")
WORD = re.compile(r"\w+")


def rss_mb() -> float:
    """Resident memory of this process, in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def load_texts(name: str) -> list[str]:
    with open(FIXTURES / name, newline="", encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f)]


def make_corpus(size: int, seed: int = 7) -> list[str]:
    """``size`` short documents: the training utterances, then perturbed copies."""
    base = load_texts("banking77_train.csv")
    vocabulary = sorted({w for text in base for w in text.split()})
    rng = random.Random(seed)
    corpus = list(base[:size])
    while len(corpus) < size:
        words = rng.choice(base).split()
        if len(words) > 2:
            del words[rng.randrange(len(words))]
        words.insert(rng.randrange(len(words) + 1), rng.choice(vocabulary))
        corpus.append(" ".join(words))
    return corpus


class Tantivy:
    def __init__(self) -> None:
        sys.path.insert(0, str(ROOT))
        from workbench.index.embedded import EmbeddedIndex

        self.index = EmbeddedIndex()

    def build(self, corpus: list[str]) -> None:
        from workbench.index.base import Document

        self.index.upsert("bench", (Document(str(i), t, group=str(i % 77)) for i, t in enumerate(corpus)))

    def query(self, text: str) -> list:
        return self.index.search("bench", text, k=10)

    def update(self, i: int, text: str) -> None:
        from workbench.index.base import Document

        self.index.upsert("bench", [Document(str(i), text, group=str(i % 77))])


class Fts5:
    def __init__(self) -> None:
        import sqlite3

        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(text, tokenize='porter unicode61')")

    def build(self, corpus: list[str]) -> None:
        with self.db:
            self.db.executemany("INSERT INTO docs (rowid, text) VALUES (?, ?)", enumerate(corpus))

    def query(self, text: str) -> list:
        words = WORD.findall(text.lower())
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        return self.db.execute(
            "SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 10", (match,)
        ).fetchall()

    def update(self, i: int, text: str) -> None:
        with self.db:
            self.db.execute("DELETE FROM docs WHERE rowid = ?", (i,))
            self.db.execute("INSERT INTO docs (rowid, text) VALUES (?, ?)", (i, text))


class Bm25s:
    def __init__(self) -> None:
        import bm25s
        import Stemmer

        self.bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.retriever = bm25s.BM25()

    def build(self, corpus: list[str]) -> None:
        tokens = self.bm25s.tokenize(corpus, stopwords="en", stemmer=self.stemmer, show_progress=False)
        self.retriever.index(tokens, show_progress=False)
        self.vocabulary = self.retriever.vocab_dict

    def query(self, text: str) -> list:
        tokens = self.bm25s.tokenize(
            [text], stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )
        known = [t for t in tokens[0] if t in self.vocabulary]
        if not known:
            return []
        docs, scores = self.retriever.retrieve([known], k=10, show_progress=False, n_threads=1)
        return list(zip(docs[0], scores[0], strict=False))

    update = None  # no incremental update: an edit means a rebuild


def run_one(backend: str, size: int, n_queries: int) -> dict:
    """Build one backend at one size and time it (runs in a child process)."""
    corpus = make_corpus(size)
    queries = load_texts("banking77_test.csv")
    random.Random(11).shuffle(queries)
    queries = queries[:n_queries]
    engine = {"tantivy": Tantivy, "fts5": Fts5, "bm25s": Bm25s}[backend]()
    before = rss_mb()
    started = time.perf_counter()
    engine.build(corpus)
    build_s = time.perf_counter() - started
    memory = rss_mb() - before
    for q in queries[:50]:  # warm caches and lazy paths
        engine.query(q)
    timings = []
    empty = 0
    for q in queries:
        t0 = time.perf_counter()
        hits = engine.query(q)
        timings.append((time.perf_counter() - t0) * 1000)
        empty += not hits
    timings.sort()
    result = {
        "backend": backend,
        "size": size,
        "build_s": build_s,
        "memory_mb": memory,
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[int(0.99 * (len(timings) - 1))],
        "queries": len(timings),
        "no_hit": empty,
        "upsert_ms": None,
    }
    if engine.update is not None:
        rng = random.Random(3)
        upserts = []
        for _ in range(20):
            i = rng.randrange(size)
            t0 = time.perf_counter()
            engine.update(i, corpus[i] + " edited")
            upserts.append((time.perf_counter() - t0) * 1000)
        result["upsert_ms"] = statistics.median(upserts)
    return result


def available(backend: str) -> bool:
    if backend == "bm25s":
        try:
            import bm25s  # noqa: F401
        except ImportError:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=1000, help="number of test-split queries (at most 3080)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "SIZE", "QUERIES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        backend, size, n_queries = args.child
        print(json.dumps(run_one(backend, int(size), int(n_queries))))
        return 0
    print(f"{'backend':8} {'docs':>7} {'build s':>8} {'memory MB':>10} {'p50 ms':>8} {'p99 ms':>8} {'upsert ms':>10}")
    for size in args.sizes:
        for backend in args.backends:
            if not available(backend):
                print(f"{backend:8} {size:>7}  skipped: not installed (pip install {backend})")
                continue
            out = subprocess.run(
                [sys.executable, __file__, "--child", backend, str(size), str(args.queries)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(f"{backend:8} {size:>7}  failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            upsert = f"{r['upsert_ms']:.2f}" if r["upsert_ms"] is not None else "rebuild"
            print(
                f"{backend:8} {size:>7} {r['build_s']:>8.2f} {r['memory_mb']:>10.1f} "
                f"{r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {upsert:>10}"
            )
    print(f"({args.queries} OR queries from BANKING77's test split, top 10; memory = resident growth during the build)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
