"""The "no match" threshold: cross-validated on the examples within an accuracy budget, set by a
number, or the default; out-of-scope examples move it; intents fit a no-match model on held-out
groups; a calibration is kept in the store for the next start."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from support.retrieval import real_model  # noqa: F401  (the session's model, a fixture)

from workbench.engines.retrieval import calibration, kept
from workbench.engines.retrieval.calibration import MAX_DROP, Sample, allowed_loss, calibrate, choose, samples_of
from workbench.engines.retrieval.config import Retrieval
from workbench.engines.retrieval.rejection import Evidence, Rejection, novelty, words
from workbench.engines.retrieval.retriever import Example, HybridRetriever
from workbench.index.embedded import EmbeddedIndex
from workbench.store import open_store


def _samples(n: int, groups: int = 5) -> list[Sample]:
    return [Sample(f"id{i}", f"text {i}", f"g{i % groups}") for i in range(n)]


def test_the_threshold_costs_at_most_max_drop_points_of_accuracy_less_a_margin() -> None:
    rng = random.Random(3)
    scores = {s.id: rng.uniform(0.5, 1.0) for s in _samples(4000)}
    result = calibrate(_samples(4000), lambda s: (s.group, scores[s.id]))
    assert result is not None and result.examples == 4000 and result.right == 4000
    below = sum(v < result.threshold for v in scores.values())
    assert 0.04 * 4000 < below <= MAX_DROP * 4000  # close to the budget, never over it
    # the fewer examples, the less sure the estimate, the wider the margin (never under half the budget)
    assert allowed_loss(400, 400) < allowed_loss(4000, 4000) < allowed_loss(40_000, 40_000) < MAX_DROP
    assert allowed_loss(40, 40) == MAX_DROP / 2
    # wrong answers do not move it: only what would have been right is protected
    wrong = calibrate(_samples(4000), lambda s: (s.group if s.id < "id3" else "other", scores[s.id]))
    assert wrong is not None and wrong.right < 4000


def test_the_budget_is_in_points_of_accuracy_so_a_weaker_ranking_may_lose_more_of_its_right_answers() -> None:
    right = [i / 1000 for i in range(800)]  # 800 of 1000 held-out examples ranked right
    result = choose(right, 1000)
    assert result is not None
    lost = sum(v < result.threshold for v in right)
    assert 0 < lost / 1000 <= MAX_DROP - calibration.MARGIN * (MAX_DROP * (1 - MAX_DROP) / 1000) ** 0.5 + 1e-9
    # a ranking that got every example right gives up as many points: a smaller share of its right answers
    perfect = [i / 1000 for i in range(1000)]
    best = choose(perfect, 1000)
    assert best is not None and sum(v < best.threshold for v in perfect) == lost
    assert choose(right[:5], 1000) is None  # too few right answers to read a quantile from


def test_out_of_scope_examples_choose_a_threshold_that_rejects_them() -> None:
    inside = {s.id: 0.6 + 0.4 * (i / 400) for i, s in enumerate(_samples(400))}
    outside = {f"oos {i}": 0.3 + 0.3 * (i / 100) for i in range(100)}  # 0.3 .. 0.6
    plain = calibrate(_samples(400), lambda s: (s.group, inside[s.id]))
    told = calibrate(_samples(400), lambda s: (s.group, inside[s.id]), list(outside), lambda t: outside[t])
    assert plain is not None and told is not None and told.out_of_scope == 100
    assert told.rejected is not None and told.rejected > 0.95 and told.kept >= 1 - allowed_loss(400, 400)
    assert "out-of-scope" in told.describe("hybrid")


def test_too_few_examples_leave_the_default_and_singletons_cannot_be_held_out() -> None:
    assert calibrate(_samples(10), lambda s: (s.group, 0.9)) is None
    lonely = [Sample("a", "x", "only"), Sample("b", "y", "pair"), Sample("c", "z", "pair")]
    assert {s.id for s in samples_of(lonely)} == {"b", "c"}
    assert samples_of(_samples(100), limit=10) == samples_of(_samples(100), limit=10)  # the same every time


def _evidence(rng: random.Random, right: bool) -> Evidence:
    if right:  # close to its nearest examples, a clear vote, the group's own words
        return Evidence(
            rng.uniform(0.6, 0.95),
            rng.uniform(0.2, 0.9),
            rng.uniform(0.6, 1.0),
            rng.uniform(0.0, 0.3),
            rng.uniform(-0.1, 0.1),
            rng.uniform(0.0, 0.3),
        )
    return Evidence(
        rng.uniform(0.4, 0.75),
        rng.uniform(0.0, 0.5),
        rng.uniform(0.3, 0.9),
        rng.uniform(0.05, 0.5),
        rng.uniform(-0.3, 0.0),
        rng.uniform(0.2, 0.8),
    )


def test_the_no_match_model_learns_from_held_out_evidence_and_is_kept_as_numbers() -> None:
    rng = random.Random(7)
    right = [_evidence(rng, True) for _ in range(300)]
    wrong = [_evidence(rng, False) for _ in range(200)]
    model = Rejection.fit(right, wrong)
    assert model is not None
    sure = sorted(model.confidence(e) for e in right)
    unsure = sorted(model.confidence(e) for e in wrong)
    assert sure[len(sure) // 2] > 0.9 and unsure[len(unsure) // 2] < 0.1
    base = Evidence(0.7, 0.4, 0.8, 0.1, 0.0, 0.4)
    assert model.confidence(replace(base, cosine=0.9)) > model.confidence(base)
    assert model.confidence(replace(base, closeness=-0.2)) < model.confidence(base)
    assert model.confidence(replace(base, novelty=0.8)) < model.confidence(base)
    assert Rejection.from_list(model.to_list()) == model
    assert Rejection.from_list([1.0, 2.0]) is None and Rejection.from_list(None) is None
    assert Rejection.fit(right[:5], wrong) is None  # too few to fit seven numbers
    # a piece of evidence that never varies (BM25 in embeddings mode) gets no weight, and no division by 0
    flat = Rejection.fit([replace(e, bm25=0.0) for e in right], [replace(e, bm25=0.0) for e in wrong])
    assert flat is not None and abs(flat.weights[1]) < 1e-6


def test_novelty_is_the_share_of_words_no_example_of_the_group_uses() -> None:
    group: Counter[str] = Counter()
    for text in ("how do I top up", "top up my card"):
        group.update(words(text))
    assert novelty(words("Top up my card, please!"), group) == 1 / 5
    assert novelty(words("what are the top up limits"), group) == 4 / 6
    # an example held out is not the group's: its own words must not count
    assert novelty(words("top up my card"), group, [words("top up my card")]) == 2 / 4
    assert novelty(frozenset(), group) == 0.0


INTENTS = {
    "refund": [
        "I want a refund",
        "how do I get my money back",
        "can I return this for a refund",
        "refund my order please",
        "I'd like my money back",
        "please give me a refund for the order",
        "how long does a refund take",
        "where is my refund",
        "I was promised a refund",
        "send my money back",
    ],
    "password": [
        "I forgot my password",
        "reset my password",
        "I can't log in, I lost my password",
        "how do I change my password",
        "my password doesn't work",
        "help me recover my password",
        "send me a password reset link",
        "I need a new password",
        "it says my password is wrong",
        "locked out because I forgot the password",
    ],
    "lost_card": [
        "I lost my card",
        "my card was stolen",
        "I can't find my bank card",
        "someone took my wallet with my card",
        "block my card, it is gone",
        "my credit card is missing",
        "I think I left my card at the shop",
        "report a stolen card",
        "freeze my lost card",
        "my card disappeared",
    ],
    "hours": [
        "what are your opening hours",
        "when do you open",
        "are you open on sunday",
        "what time do you close",
        "when does the shop open tomorrow",
        "are you open late on fridays",
        "opening times please",
        "until what time are you open today",
        "do you open on public holidays",
        "what hours is the store open",
    ],
    "delivery": [
        "where is my parcel",
        "when will my order arrive",
        "my package has not been delivered",
        "track my delivery",
        "how long does shipping take",
        "the courier never came",
        "has my order been shipped",
        "delivery is late",
        "can I change the delivery address",
        "what is the status of my shipment",
    ],
    "cancel": [
        "cancel my order",
        "I want to cancel the purchase",
        "please stop my order",
        "can I still cancel",
        "I changed my mind, cancel it",
        "how do I cancel an order",
        "cancel the subscription",
        "I don't want the order any more",
        "undo my purchase",
        "call off my order",
    ],
}


def _intents(store, threshold: object = "auto") -> HybridRetriever:
    retriever = HybridRetriever(
        store, EmbeddedIndex(), "nlu:bank", Retrieval(mode="hybrid", threshold=threshold), default_threshold=0.3
    )
    retriever.reset(
        Example(f"{intent}{i}", text, intent) for intent, texts in INTENTS.items() for i, text in enumerate(texts)
    )
    assert retriever.wait(120), retriever.waiting_for()
    return retriever


@pytest.mark.usefixtures("real_model")
def test_intents_read_their_threshold_on_a_no_match_model_fitted_on_held_out_groups(tmp_path: Path) -> None:
    store = open_store(tmp_path / "t.db")
    auto = _intents(store)
    threshold = auto.threshold()
    assert threshold.source == "auto" and "no-match model fitted with" in threshold.detail
    found = auto.rank("I can't remember my password", 6)
    assert found[0].group == "password" and found[0].score >= threshold.value
    far = auto.rank("what is the capital of peru", 6)
    assert far[0].score < threshold.value  # no intent covers it
    # the confidence replaces the best group's score, the others are scaled alike: the order is the
    # fused score's, as a set threshold (no model) ranks them
    other = open_store(tmp_path / "plain.db")
    plain = _intents(other, threshold=0.5)
    for text in ("I can't remember my password", "what is the capital of peru", "my card is gone, cancel it"):
        assert [m.group for m in auto.rank(text, 6)] == [m.group for m in plain.rank(text, 6)]
    other.close()
    assert all(0 < m.score <= found[0].score <= 1 for m in found)
    store.close()

    again = open_store(tmp_path / "t.db")  # a restart reads the model and threshold it kept
    kept_ones, _ = kept.load(again, "nlu:bank", kept.settings_key(()), "")
    assert kept_ones["hybrid"] is not None and kept_ones["hybrid"].model is not None
    restarted = _intents(again)
    assert restarted.threshold() == threshold
    assert restarted.rank("what is the capital of peru", 6)[0].score == pytest.approx(far[0].score)
    again.close()


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
