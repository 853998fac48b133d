"""How BM25 and cosine become one score per group: the blend, the soft vote, the head, the score."""

from __future__ import annotations

import numpy as np

from workbench.engines.retrieval import fusion


def test_an_examples_similarity_blends_cosine_and_bm25_as_the_mode_says() -> None:
    cosine, bm25 = np.array([0.9, 0.2]), np.array([0.0, 1.0])
    assert np.allclose(fusion.similarity(cosine, bm25, "embeddings"), cosine)
    assert np.allclose(fusion.similarity(cosine, bm25, "bm25"), bm25)
    hybrid = fusion.similarity(cosine, bm25, "hybrid")
    assert np.allclose(hybrid, fusion.ALPHA * cosine + (1 - fusion.ALPHA) * bm25)
    assert hybrid[0] > hybrid[1]  # meaning outweighs shared words


def test_the_vote_sums_to_one_and_a_close_example_outweighs_many_loose_ones() -> None:
    sims = np.array([0.80, 0.60, 0.60, 0.60, 0.60])
    groups = np.array([0, 1, 1, 1, 1])
    share = fusion.vote(sims, groups)
    assert abs(sum(share.values()) - 1.0) < 1e-9
    assert share[0] > 0.9  # one example 0.2 closer beats four further ones
    # with equal similarities the group with more voters wins
    even = fusion.vote(np.array([0.5, 0.5, 0.5]), np.array([3, 4, 4]))
    assert even[4] > even[3] and fusion.vote(np.array([]), np.array([])) == {}


def test_the_head_can_overturn_a_narrow_vote_and_probabilities_stay_normalised() -> None:
    share = {0: 0.55, 1: 0.45}
    assert max(fusion.fuse(share, None).items(), key=lambda kv: kv[1])[0] == 0
    fused = fusion.fuse(share, {0: np.log(0.05), 1: np.log(0.95), 2: np.log(1e-6)})
    assert abs(sum(fused.values()) - 1.0) < 1e-9
    assert max(fused, key=lambda g: fused[g]) == 1
    assert fused[2] < 1e-3  # a group neither the vote nor the head wants stays negligible


def test_a_clear_winner_keeps_its_nearest_examples_similarity_and_doubt_discounts_it() -> None:
    assert fusion.score(0.7, 1.0) == 0.7
    assert fusion.score(0.7, 0.25) == 0.35
    assert fusion.score(1.3, 1.0) == 1.0 and fusion.score(-0.2, 1.0) == 0.0


def test_reciprocal_rank_fusion_rewards_what_both_rankings_put_high() -> None:
    fused = fusion.rrf([[7, 1, 2], [1, 9, 7]])
    assert max(fused, key=lambda p: fused[p]) == 1
    assert fused[7] > fused[9] and fused[7] > fused[2]


def test_the_linear_head_learns_groups_and_is_fitted_only_when_worth_it() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(8, dtype=np.float32)[:3]
    labels = np.repeat(np.arange(3), 20)
    vectors = centres[labels] + 0.2 * rng.standard_normal((60, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    head = fusion.LinearHead.fit(vectors, labels, 3, epochs=80)
    predicted = np.array([int(np.argmax(head.log_proba(v))) for v in vectors])
    assert (predicted == labels).mean() > 0.95
    assert np.isclose(np.exp(head.log_proba(vectors[0])).sum(), 1.0)
    assert fusion.head_fits(10_000, 77)
    assert not fusion.head_fits(200_000, 100_000)  # a huge table's states: the vote alone
    assert not fusion.head_fits(5, 5)  # one example a group says nothing a vote does not
