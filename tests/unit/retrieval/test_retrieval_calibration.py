"""The "no match" threshold: cross-validated on the examples, set by a number, or the default;
out-of-scope examples move it; a calibration is kept in the store for the next start."""

from __future__ import annotations

import random
from pathlib import Path

from workbench.engines.retrieval.calibration import MAX_LOSS, Sample, calibrate, samples_of
from workbench.engines.retrieval.config import Retrieval
from workbench.engines.retrieval.retriever import Example, HybridRetriever
from workbench.store import open_store


def _samples(n: int, groups: int = 5) -> list[Sample]:
    return [Sample(f"id{i}", f"text {i}", f"g{i % groups}") for i in range(n)]


def test_the_threshold_keeps_all_but_max_loss_of_the_right_answers() -> None:
    rng = random.Random(3)
    scores = {s.id: rng.uniform(0.5, 1.0) for s in _samples(400)}
    result = calibrate(_samples(400), lambda s: (s.group, scores[s.id]))
    assert result is not None and result.examples == 400 and result.right == 400
    below = sum(v < result.threshold for v in scores.values())
    assert below <= MAX_LOSS * 400 + 1 and result.kept >= 1 - MAX_LOSS - 0.01
    # wrong answers do not move it: only what would have been right is protected
    wrong = calibrate(_samples(400), lambda s: (s.group if s.id < "id3" else "other", scores[s.id]))
    assert wrong is not None and wrong.right < 400


def test_out_of_scope_examples_choose_a_threshold_that_rejects_them() -> None:
    inside = {s.id: 0.6 + 0.4 * (i / 400) for i, s in enumerate(_samples(400))}
    outside = {f"oos {i}": 0.3 + 0.3 * (i / 100) for i in range(100)}  # 0.3 .. 0.6
    plain = calibrate(_samples(400), lambda s: (s.group, inside[s.id]))
    told = calibrate(_samples(400), lambda s: (s.group, inside[s.id]), list(outside), lambda t: outside[t])
    assert plain is not None and told is not None and told.out_of_scope == 100
    assert told.rejected is not None and told.rejected > 0.95 and told.kept >= 0.95
    assert "out-of-scope" in told.describe("hybrid")


def test_too_few_examples_leave_the_default_and_singletons_cannot_be_held_out() -> None:
    assert calibrate(_samples(10), lambda s: (s.group, 0.9)) is None
    lonely = [Sample("a", "x", "only"), Sample("b", "y", "pair"), Sample("c", "z", "pair")]
    assert {s.id for s in samples_of(lonely)} == {"b", "c"}
    assert samples_of(_samples(100), limit=10) == samples_of(_samples(100), limit=10)  # the same every time


def _retriever(store, settings: Retrieval, ranks: list[str], **kw) -> HybridRetriever:
    def bm25_rank(text: str, exclude: str | None) -> tuple[str | None, float]:
        ranks.append(text)
        return text.split()[0], 0.7 if text.endswith("close") else 0.2

    retriever = HybridRetriever(store, None, "nlu:bot", settings, default_threshold=0.3, bm25_rank=bm25_rank, **kw)
    retriever.reset(Example(f"e{i}", f"g{i % 4} example {i} close", f"g{i % 4}") for i in range(40))
    retriever.wait(30)
    return retriever


def test_the_threshold_says_where_it_came_from(tmp_path: Path) -> None:
    store = open_store(tmp_path / "t.db")
    calls: list[str] = []
    auto = _retriever(store, Retrieval(mode="bm25"), calls).threshold()
    assert auto.source == "auto" and abs(auto.value - 0.7) < 1e-9 and "cross-validated (bm25)" in auto.detail
    assert _retriever(store, Retrieval(mode="bm25", threshold=0.8), []).threshold().source == "task"
    assert _retriever(store, Retrieval(mode="bm25"), [], fixed_threshold=0.4).threshold().value == 0.4
    explicit = _retriever(store, Retrieval(mode="bm25", threshold="auto"), [], fixed_threshold=0.4).threshold()
    assert explicit.source == "auto"  # `auto` asked for wins over the engine's own number
    few = HybridRetriever(
        store, None, "nlu:few", Retrieval(mode="bm25"), default_threshold=0.3, bm25_rank=lambda t, e: ("g", 1.0)
    )
    few.reset([Example("a", "a", "g"), Example("b", "b", "g")])
    assert few.threshold().source == "default" and few.threshold().value == 0.3
    store.close()


def test_a_calibration_is_kept_in_the_store_and_not_redone_after_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path / "t.db")
    first: list[str] = []
    before = _retriever(store, Retrieval(mode="bm25"), first).threshold()
    assert len(first) >= 20
    store.close()
    again = open_store(tmp_path / "t.db")
    second: list[str] = []
    after = _retriever(again, Retrieval(mode="bm25"), second).threshold()
    assert second == [] and after == before  # the same examples: nothing ranked again
    # other out-of-scope examples are other settings: calibrated anew
    third: list[str] = []
    _retriever(again, Retrieval(mode="bm25", out_of_scope=("tell me a joke",)), third)
    assert third
    again.close()
