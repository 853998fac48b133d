"""The "no match" threshold, chosen from a task's own examples by cross-validation.

Examples are held out and ranked against all the others (their own document
excluded, nothing re-indexed). Where the top group is the example's own, its score
is what a right answer scores; the threshold is the score below which right answers
cost the cross-validated accuracy at most :data:`MAX_DROP` (five points: what an
automatic threshold may give up), less :data:`MARGIN` standard errors of that estimate:
utterances scoring lower are probably none of the examples. When a task gives
out-of-scope examples, their scores are what a wrong "match" scores, and the threshold
is the one that rejects most of them within the same budget.

What is scored is the fused score (BM25, and collections whose groups are single
examples), or, for intents and states with hybrid or embeddings matching, the
confidence of rejection.py's model, fitted on the same cross-validation (the
retriever holds whole groups out to show it what belongs to no group).

A threshold set as a number in task.yml is used as it is; with too few examples
to cross-validate (fewer than :data:`MIN_SAMPLES` held-out examples whose group has
another example), the engine's default stands. Every threshold says where it came
from, and the trace, ``workbench validate`` and the TUI show it.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: examples held out: every one up to MAX_SAMPLES, as long as the rankings stay within
#: SAMPLE_BUDGET example comparisons (a ranking compares the utterance with every example), but
#: never fewer than MIN_LIMIT (the low quantile a threshold is read from needs thousands to be
#: steady; BANKING77's 10,003 examples are all held out, in about ten seconds)
MAX_SAMPLES = 10_000
MIN_LIMIT = 2000
SAMPLE_BUDGET = 100_000_000
#: fewer usable held-out examples than this and the default threshold stands
MIN_SAMPLES = 20
#: the points of cross-validated accuracy an automatic threshold may give up (right answers it
#: turns into "no match"), with or without out-of-scope examples
MAX_DROP = 0.05
#: standard errors of the cross-validated drop kept between it and MAX_DROP (a threshold read
#: off a few thousand held-out examples is itself uncertain)
MARGIN = 2.0


@dataclass(frozen=True)
class Sample:
    """One example: its document id (excluded while it is ranked), text, group, and where the
    retriever holds it."""

    id: str
    text: str
    group: str
    position: int = -1


@dataclass(frozen=True)
class Threshold:
    """The score a match needs, and where that number came from."""

    value: float
    #: ``auto`` (cross-validated), ``task`` (a number in task.yml) or ``default``
    source: str
    #: one sentence for people (the trace, `workbench validate`, the TUI)
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": round(self.value, 4), "source": self.source, "detail": self.detail}


@dataclass(frozen=True)
class Calibration:
    threshold: float
    #: held-out examples ranked, and how many of them came out right
    examples: int
    right: int
    #: the share of right answers at or above the threshold
    kept: float
    out_of_scope: int = 0
    #: the share of out-of-scope examples below the threshold (None without any)
    rejected: float | None = None
    #: rejection.Rejection's numbers when the threshold is read on its confidence (None: on the score)
    model: list[float] | None = None
    #: utterances of groups held out of the collection that the model was fitted with, and the share
    #: of them below the threshold
    held_out_groups: int = 0
    held_out_rejected: float | None = None

    def describe(self, mode: str) -> str:
        text = (
            f"cross-validated ({mode}) on {self.examples} held-out examples: "
            f"{self.right / max(1, self.examples):.0%} ranked right, {self.kept:.1%} of those kept"
        )
        if self.model is not None and self.held_out_rejected is not None:
            text += (
                f"; no-match model fitted with {self.held_out_groups} utterances of held-out groups, "
                f"{self.held_out_rejected:.0%} of them rejected"
            )
        if self.rejected is not None:
            text += f"; {self.rejected:.0%} of {self.out_of_scope} out-of-scope examples rejected"
        return text


def sample_limit(examples: int) -> int:
    """How many of a collection's ``examples`` calibration holds out at most."""
    return max(MIN_LIMIT, min(MAX_SAMPLES, SAMPLE_BUDGET // max(1, examples)))


def samples_of(examples: Sequence[Sample], limit: int | None = None) -> list[Sample]:
    """Up to ``limit`` examples whose group has another example, chosen by a hash of their id
    (the same examples every time, spread over every group)."""
    per_group = Counter(e.group for e in examples)
    usable = [e for e in examples if per_group[e.group] >= 2]
    usable.sort(key=lambda e: hashlib.sha1(e.id.encode("utf-8", "surrogatepass")).digest())
    return usable[: sample_limit(len(examples)) if limit is None else limit]


def calibrate(
    samples: Sequence[Sample],
    rank: Callable[[Sample], tuple[str | None, float]],
    out_of_scope: Sequence[str] = (),
    rank_text: Callable[[str], float] | None = None,
) -> Calibration | None:
    """The threshold for ``rank`` (held-out example -> (top group, top score)), or None with too
    few samples. ``rank_text`` scores an out-of-scope utterance (its top score)."""
    if len(samples) < MIN_SAMPLES:
        return None
    right = [score for sample in samples for group, score in [rank(sample)] if group == sample.group]
    oos = [rank_text(t) for t in out_of_scope] if rank_text is not None else []
    return choose(right, len(samples), oos)


def allowed_loss(examples: int, right: int) -> float:
    """The share of right answers a threshold may turn into "no match": the drop in accuracy it
    causes among ``examples`` held out, plus :data:`MARGIN` standard errors of that estimate,
    stays within :data:`MAX_DROP` (the more examples, the closer to it; never under half of it)."""
    error = math.sqrt(MAX_DROP * (1.0 - MAX_DROP) / max(1, examples))
    drop = max(MAX_DROP / 2, MAX_DROP - MARGIN * error)  # a few dozen examples still reject something
    return min(1.0, drop * examples / max(1, right))


def choose(right_scores: Sequence[float], examples: int, out_of_scope: Sequence[float] = ()) -> Calibration | None:
    """The threshold from the scores of the held-out examples ranked right (of ``examples`` held
    out) and of out-of-scope utterances; None with too few right answers."""
    if examples < MIN_SAMPLES or len(right_scores) < MIN_SAMPLES // 2:
        return None
    right = sorted(right_scores)
    loss = allowed_loss(examples, len(right))
    oos = sorted(out_of_scope)
    if not oos:
        threshold = right[min(len(right) - 1, int(loss * len(right)))]
        return Calibration(threshold, examples, len(right), _share_at_least(right, threshold))
    best: tuple[float, float] | None = None
    floor = 1.0 - loss
    # a threshold just above an out-of-scope score rejects it; one at a right score keeps it
    for candidate in sorted(set(right) | {o + 1e-6 for o in oos}):
        kept = _share_at_least(right, candidate)
        if kept < floor:
            break
        value = kept + _share_below(oos, candidate)
        if best is None or value > best[0]:
            best = (value, candidate)
    threshold = best[1] if best is not None else right[0]
    return Calibration(
        threshold,
        examples,
        len(right),
        _share_at_least(right, threshold),
        len(oos),
        _share_below(oos, threshold),
    )


def _share_at_least(ordered: list[float], value: float) -> float:
    import bisect

    return (len(ordered) - bisect.bisect_left(ordered, value)) / max(1, len(ordered))


def _share_below(ordered: list[float], value: float) -> float:
    import bisect

    return bisect.bisect_left(ordered, value) / max(1, len(ordered))
