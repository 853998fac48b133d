"""How sure a ranking's best group is: the score the "no match" threshold is read on.

The fused score that orders the groups (fusion.py) is a poor judge of whether an
utterance belongs to *any* of them: an utterance about something the task never
covered often lands close to one example of a related group, with a confident
vote. What tells them apart is measured on six pieces of evidence about the best
group, all read off the ranking that was computed anyway:

* ``cosine`` and ``bm25`` of its nearest example;
* the log of its share of the fused vote, and of the runner-up's share;
* ``closeness``: the mean cosine of its three nearest examples, less what is usual
  between that group's own examples (its *tightness*): a group of near-paraphrases is
  matched closely by its own paraphrases, and coming only so close to it says more
  than the same cosine near a loose group;
* ``novelty``: the share of the utterance's words that none of the group's examples
  uses (a question about limits matched to a group that never speaks of limits).

A logistic regression weighs them, fitted on the task's own examples by
cross-validation (retriever.py): held-out examples ranked right are what belongs;
the examples of groups held out of the collection altogether, ranked against the
others, are what does not (a task's out-of-scope examples are kept for choosing the
threshold, calibration.py). Its
probability is the **confidence** of the best group. Measured on BANKING77 with 16
intents held out (benchmarks/decision_table.py; the weights fitted on the training
split only), it turns more out-of-scope utterances into "no match" than the fused
score did, for the same in-scope accuracy given up; see docs/retrieval.md.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: the evidence, in the order a model's weights follow
FEATURES = ("cosine", "bm25", "log_probability", "log_runner_up", "closeness", "novelty")
#: a group's nearest examples whose cosines make ``closeness``
NEAREST = 3
#: probabilities are floored before their log (a share of 0 says no more than this)
FLOOR = 1e-6
#: at least this many utterances on each side before a model is fitted
MIN_EACH = 20
#: ridge on the standardised weights (keeps them finite when a feature never varies, or when a
#: small task's few utterances separate perfectly): this, or one over their number if larger
RIDGE = 1e-3
NEWTON_STEPS = 50

_WORD = re.compile(r"\w+")


def words(text: str) -> frozenset[str]:
    """The distinct lower-cased words of ``text`` (what ``novelty`` compares)."""
    return frozenset(_WORD.findall(text.lower()))


def novelty(utterance: frozenset[str], group_words: Counter[str], removed: Iterable[frozenset[str]] = ()) -> float:
    """The share of ``utterance``'s words no example of the group uses; ``removed``: the words of
    the group's examples held out (they must not count as the group's)."""
    if not utterance:
        return 0.0
    less: Counter[str] = Counter()
    for held in removed:
        less.update(held & utterance)
    unseen = sum(1 for w in utterance if group_words.get(w, 0) - less.get(w, 0) <= 0)
    return unseen / len(utterance)


@dataclass(frozen=True)
class Evidence:
    """What a ranking says about its best group (see the module docstring)."""

    cosine: float
    bm25: float
    probability: float
    runner_up: float
    closeness: float
    novelty: float

    def features(self) -> np.ndarray:
        return np.array(
            [
                self.cosine,
                self.bm25,
                math.log(max(self.probability, FLOOR)),
                math.log(max(self.runner_up, FLOOR)),
                self.closeness,
                self.novelty,
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class Rejection:
    """A fitted logistic regression from :class:`Evidence` to the confidence that the best group
    is right (standardised features; kept in the store as :meth:`to_list`)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def logit(self, evidence: Evidence) -> float:
        z = (evidence.features() - np.asarray(self.mean)) / np.asarray(self.scale)
        return float(z @ np.asarray(self.weights) + self.bias)

    def confidence(self, evidence: Evidence) -> float:
        """The probability that the best group is right, in (0, 1)."""
        z = self.logit(evidence)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_list(self) -> list[float]:
        return [*self.mean, *self.scale, *self.weights, self.bias]

    @classmethod
    def from_list(cls, values: Sequence[float] | None) -> Rejection | None:
        n = len(FEATURES)
        if values is None or len(values) != 3 * n + 1:
            return None
        v = [float(x) for x in values]
        return cls(tuple(v[:n]), tuple(v[n : 2 * n]), tuple(v[2 * n : 3 * n]), v[3 * n])

    @classmethod
    def fit(cls, right: Sequence[Evidence], wrong: Sequence[Evidence]) -> Rejection | None:
        """Fitted to tell ``right`` (held-out examples ranked right) from ``wrong`` (utterances of
        no group); each side weighs half, however many it has. None with too few of either."""
        if len(right) < MIN_EACH or len(wrong) < MIN_EACH:
            return None
        x = np.stack([e.features() for e in (*right, *wrong)])
        y = np.concatenate([np.ones(len(right)), np.zeros(len(wrong))])
        weight = np.where(y == 1, 0.5 / len(right), 0.5 / len(wrong))
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0  # a feature that never varies (bm25 without BM25) gets weight 0
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        w = np.zeros(z.shape[1])
        ridge = max(RIDGE, 1.0 / len(x)) * np.eye(z.shape[1])
        ridge[-1, -1] = 0.0
        for _ in range(NEWTON_STEPS):
            p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -50, 50)))
            grad = z.T @ ((p - y) * weight) + ridge @ w
            hess = (z * (p * (1 - p) * weight)[:, None]).T @ z + ridge
            step = np.linalg.solve(hess, grad)
            w -= step
            if float(np.abs(step).max()) < 1e-8:
                break
        return cls(tuple(mean.tolist()), tuple(scale.tolist()), tuple(w[:-1].tolist()), float(w[-1]))
