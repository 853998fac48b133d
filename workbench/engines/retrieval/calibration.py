"""The "no match" threshold, chosen from a task's own examples by cross-validation.

Each sampled example is held out in turn and ranked against all the others (leave
one out: its own document is excluded, nothing is re-indexed). Where the top group
is the example's own, the top score is what a right answer scores; the threshold
is the score below which only :data:`MAX_LOSS` of right answers fall: utterances
scoring lower are probably none of the examples. When a task gives out-of-scope
examples, their top scores are what a wrong "match" scores, and the threshold is
the one that rejects most of them while keeping at least ``1 - MAX_LOSS_WITH_OOS``
of the right answers.

A threshold set as a number in task.yml is used as it is; with too few examples
to cross-validate (fewer than :data:`MIN_SAMPLES` held-out examples whose group has
another example), the engine's default stands. Every threshold says where it came
from, and the trace, ``workbench validate`` and the TUI show it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: examples held out at most (each costs one ranking, about a millisecond; the low quantile a
#: threshold is read from needs a few thousand to be steady)
MAX_SAMPLES = 2000
#: fewer usable held-out examples than this and the default threshold stands
MIN_SAMPLES = 20
#: the share of right answers an automatic threshold may turn into "no match"
MAX_LOSS = 0.05
#: the same, when out-of-scope examples show what must be rejected
MAX_LOSS_WITH_OOS = 0.05


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

    def describe(self, mode: str) -> str:
        text = (
            f"cross-validated ({mode}) on {self.examples} held-out examples: "
            f"{self.right / max(1, self.examples):.0%} ranked right, {self.kept:.0%} of those kept"
        )
        if self.rejected is not None:
            text += f"; {self.rejected:.0%} of {self.out_of_scope} out-of-scope examples rejected"
        return text


def samples_of(examples: Sequence[Sample], limit: int = MAX_SAMPLES) -> list[Sample]:
    """Up to ``limit`` examples whose group has another example, chosen by a hash of their id
    (the same examples every time, spread over every group)."""
    per_group = Counter(e.group for e in examples)
    usable = [e for e in examples if per_group[e.group] >= 2]
    usable.sort(key=lambda e: hashlib.sha1(e.id.encode("utf-8", "surrogatepass")).digest())
    return usable[:limit]


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
    right: list[float] = []
    for sample in samples:
        group, score = rank(sample)
        if group == sample.group:
            right.append(score)
    if len(right) < MIN_SAMPLES // 2:
        return None
    right.sort()
    oos = sorted(rank_text(t) for t in out_of_scope) if rank_text is not None else []
    if not oos:
        threshold = right[int(MAX_LOSS * len(right))]
        return Calibration(threshold, len(samples), len(right), _share_at_least(right, threshold))
    best: tuple[float, float] | None = None
    floor = 1.0 - MAX_LOSS_WITH_OOS
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
        len(samples),
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
