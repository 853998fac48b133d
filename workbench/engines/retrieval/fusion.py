"""How BM25 and cosine scores become one score per group (a state, an intent, a Q/A).

Chosen by measurement on BANKING77 (``benchmarks/nlu.py --fusion`` prints the
comparison; constants tuned on cross-validation over the training split, never on
the test split):

* **Reciprocal-rank fusion** of the BM25 and cosine example rankings reaches 91.2%
  top-1, below the cosine of the nearest example alone (92.0%): ranks throw away
  how close a match is, and cosine is the stronger signal. Rejected.
* **A calibrated blend** per example, ``0.8 * cosine + 0.2 * BM25`` (both 0..1), is
  the *similarity* of an example to the utterance. The nearest example alone gives
  92.1%; the 20 most similar examples voting for their groups with weights
  ``exp(similarity / 0.05)`` (a soft nearest-neighbour vote) give 92.9%.
* **A linear head** (softmax regression on the example vectors, fitted on the task's
  own examples in about three seconds for BANKING77's 10,003) joins the vote as
  ``log p_vote + 0.5 * log p_head``: 94.0%. It is fitted only when groups have
  several examples each (intents, states with many queries), never for a knowledge
  base whose Q/As are one example each.

A group's **score** is the similarity of its nearest example times the square root
of its fused probability: a clear winner keeps the similarity of its nearest example
(a paraphrase of a query scores like one), a group the vote doubts is discounted.
The score orders the candidates; whether the best one is a match at all is the no-match
model's to say (rejection.py, calibrated in calibration.py), where one is fitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: names the constants below; thresholds calibrated with other ones are not reused
VERSION = 1
#: the cosine's weight in an example's similarity (BM25 has the rest)
ALPHA = 0.8
#: examples that vote for their group
NEIGHBOURS = 20
#: the vote's temperature: a similarity this much higher weighs e times more
TEMPERATURE = 0.05
#: the linear head's weight in the fused log-probability
HEAD_WEIGHT = 0.5
#: a group's score is its nearest example's similarity times its probability to this power
GAMMA = 0.5
#: probability floor of a group outside the vote (so the head can still lift it)
FLOOR = 1e-4


def similarity(cosine: np.ndarray, bm25: np.ndarray, mode: str) -> np.ndarray:
    """Examples' similarity to the utterance (0..1) in ``mode`` (hybrid, embeddings, bm25)."""
    if mode == "embeddings":
        return cosine
    if mode == "bm25":
        return bm25
    return ALPHA * cosine + (1.0 - ALPHA) * bm25


def vote(similarities: np.ndarray, groups: np.ndarray, temperature: float = TEMPERATURE) -> dict[int, float]:
    """Group -> share of the soft vote of these examples (the shares sum to 1)."""
    if similarities.size == 0:
        return {}
    weights = np.exp((similarities - similarities.max()) / temperature)
    total = float(weights.sum())
    out: dict[int, float] = {}
    for g, w in zip(groups.tolist(), weights.tolist(), strict=True):
        out[g] = out.get(g, 0.0) + w / total
    return out


def fuse(vote_share: dict[int, float], head_log: dict[int, float] | None) -> dict[int, float]:
    """Group -> fused probability of the vote and (when fitted) the head, over the groups given."""
    groups = set(vote_share) | set(head_log or {})
    if not groups:
        return {}
    logits = {}
    for g in groups:
        z = float(np.log(vote_share.get(g, 0.0) + FLOOR))
        if head_log is not None:
            z += HEAD_WEIGHT * head_log.get(g, float(np.log(FLOOR)))
        logits[g] = z
    top = max(logits.values())
    exp = {g: float(np.exp(z - top)) for g, z in logits.items()}
    total = sum(exp.values())
    return {g: e / total for g, e in exp.items()}


def score(nearest: float, probability: float) -> float:
    """A group's score from its nearest example's similarity and its fused probability."""
    return max(0.0, min(1.0, nearest)) * probability**GAMMA


def rrf(rankings: list[list[int]], k: int = 60) -> dict[int, float]:
    """Reciprocal-rank fusion of several rankings of example positions (for the comparison)."""
    out: dict[int, float] = {}
    for ranking in rankings:
        for rank, position in enumerate(ranking, start=1):
            out[position] = out.get(position, 0.0) + 1.0 / (k + rank)
    return out


# -- the linear head -----------------------------------------------------------------------
#: the head is fitted only when examples x groups stays under this (its cost grows with both)
HEAD_BUDGET = 3_000_000
#: and when groups have this many examples on average (one or two say nothing a vote does not)
HEAD_MIN_PER_GROUP = 3.0
SCALE = 20.0
EPOCHS = 200
LEARNING_RATE = 0.05
WEIGHT_DECAY = 1e-4


def head_fits(examples: int, groups: int) -> bool:
    """Whether a head is worth fitting for this many examples and groups."""
    return groups >= 2 and examples * groups <= HEAD_BUDGET and examples >= HEAD_MIN_PER_GROUP * groups


@dataclass
class LinearHead:
    """Softmax regression from example vectors to groups, fitted with Adam on the full batch."""

    weights: np.ndarray  # (dim, groups)
    bias: np.ndarray  # (groups,)

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: np.ndarray, groups: int, epochs: int = EPOCHS) -> LinearHead:
        n, dim = vectors.shape
        w = np.zeros((dim, groups), dtype=np.float32)
        b = np.zeros(groups, dtype=np.float32)
        target = np.zeros((n, groups), dtype=np.float32)
        target[np.arange(n), labels] = 1.0
        moments = [(np.zeros_like(w), np.zeros_like(w)), (np.zeros_like(b), np.zeros_like(b))]
        beta1, beta2 = 0.9, 0.999
        for t in range(1, epochs + 1):
            p = _softmax(SCALE * (vectors @ w) + b)
            error = (p - target) / n
            grads = (SCALE * (vectors.T @ error) + WEIGHT_DECAY * w, error.sum(0))
            for param, grad, (m, v) in zip((w, b), grads, moments, strict=True):
                m *= beta1
                m += (1 - beta1) * grad
                v *= beta2
                v += (1 - beta2) * grad * grad
                param -= LEARNING_RATE * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + 1e-8)
        return cls(w, b)

    def log_proba(self, vector: np.ndarray) -> np.ndarray:
        """Log-probability of every group for one vector."""
        z = SCALE * (vector @ self.weights) + self.bias
        z = z - z.max()
        return z - np.log(np.exp(z).sum())


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z
