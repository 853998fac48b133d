"""What a study's ratings say: counts, means with bootstrap 95% intervals, distributions,
Krippendorff's alpha per question and each worker's agreement with the others.

Alpha's level of measurement comes from the question: nominal for ``choice``, ordinal for
``likert``, interval for ``number`` (the ``krippendorff`` package computes it). For a
question about whole threads, a *unit* is a (topic, bot) pair: people who chatted with
the same bot on the same topic rated the same thing. Ratings of single bot messages have
one rater each, so no agreement can be measured for them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.evaluation.questions import level, numeric
from workbench.task.schema import RatingQuestion

if TYPE_CHECKING:
    from workbench.evaluation.study import Study

#: resamples of each bootstrap interval (a fixed seed makes a report reproducible)
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 12345


@dataclass
class QuestionSummary:
    """One question's answers about one bot."""

    question: RatingQuestion
    bot: str
    #: per_turn: a question about single bot messages
    per_turn: bool
    n: int
    mean: float | None = None
    ci: tuple[float, float] | None = None
    #: answer label (or number) -> count, in the question's order
    distribution: dict[str, int] = field(default_factory=dict)
    #: free-text answers
    texts: list[str] = field(default_factory=list)


@dataclass
class AlphaSummary:
    question: RatingQuestion
    level: str | None
    alpha: float | None
    #: units (topic, bot) with two or more ratings, raters who gave them
    units: int
    raters: int
    note: str | None = None


@dataclass
class WorkerSummary:
    person: str
    threads: int
    ratings: int
    #: pairs (this worker, another, same unit, same question) compared, and the share that agree exactly
    pairs: int
    agreement: float | None
    #: mean alpha over the questions when this worker's ratings are left out (None: not computable)
    alpha_without: float | None


@dataclass
class Statistics:
    questions: list[QuestionSummary]
    alphas: list[AlphaSummary]
    workers: list[WorkerSummary]
    threads: int
    done: int


def bootstrap_ci(values: list[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED):
    """The percentile bootstrap 95% interval of the mean of ``values`` (None below two values)."""
    if len(values) < 2:
        return None
    import numpy as np

    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = rng.choice(data, size=(resamples, len(data)), replace=True).mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def alpha(reliability: list[list[float]], level_of_measurement: str) -> float | None:
    """Krippendorff's alpha of a raters x units matrix (``nan`` where a rater gave no value);
    None when it is undefined (fewer than two pairable values, or a single value in all)."""
    values = [v for row in reliability for v in row if not math.isnan(v)]
    if len(values) < 2 or len(set(values)) < 2:
        return None
    import krippendorff
    import numpy as np

    pairable = np.sum(~np.isnan(np.asarray(reliability, dtype=float)), axis=0)
    if not (pairable >= 2).any():
        return None
    try:
        result = krippendorff.alpha(reliability_data=reliability, level_of_measurement=level_of_measurement)  # type: ignore[arg-type]
    except (ValueError, ZeroDivisionError):
        return None
    return None if math.isnan(result) else float(result)


def _matrix(cells: dict[tuple[str, str], float]) -> tuple[list[str], list[list[float]]]:
    """(raters, raters x units matrix) from {(rater, unit): value}."""
    raters = sorted({r for r, _ in cells})
    units = sorted({u for _, u in cells})
    return raters, [[cells.get((r, u), math.nan) for u in units] for r in raters]


def compute(study: Study) -> Statistics:
    threads = {t.id: t for t in study.threads()}
    ratings = study.ratings()
    by_key = {q.key: q for q in study.questions}
    by_turn_key = {q.key: q for q in study.turn_questions}
    bots = list(study.spec.bots)
    for t in threads.values():
        if t.bot not in bots:
            bots.append(t.bot)

    # answers[(question key, per_turn)][bot] -> values
    answers: dict[tuple[str, bool], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    # cells[question key][(person, unit)] -> numeric value (thread-level questions)
    cells: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    per_person: dict[str, int] = defaultdict(int)
    for r in ratings:
        thread = threads.get(r.thread)
        if thread is None:
            continue
        per_turn = r.seq > 0
        q = (by_turn_key if per_turn else by_key).get(r.question)
        if q is None:
            continue
        answers[(q.key, per_turn)][thread.bot].append(r.value)
        per_person[r.person] += 1
        value = numeric(q, r.value)
        if not per_turn and value is not None:
            cells[q.key][(r.person, f"{thread.topic}\0{thread.bot}")] = value

    summaries: list[QuestionSummary] = []
    for per_turn, group in ((False, study.questions), (True, study.turn_questions)):
        for q in group:
            for bot in bots:
                values = answers[(q.key, per_turn)].get(bot, [])
                summaries.append(_summary(q, bot, per_turn, values))

    alphas: list[AlphaSummary] = []
    for q in study.questions:
        lvl = level(q)
        if lvl is None:
            continue
        raters, matrix = _matrix(cells.get(q.key, {}))
        units = (
            sum(1 for col in zip(*matrix, strict=False) if sum(not math.isnan(v) for v in col) >= 2) if matrix else 0
        )
        value = alpha(matrix, lvl) if matrix else None
        note = (
            None
            if value is not None
            else "needs two or more people rating the same topic and bot, with different answers somewhere"
        )
        alphas.append(AlphaSummary(q, lvl, value, units, len(raters), note))
    for q in study.turn_questions:
        if level(q) is not None:
            alphas.append(AlphaSummary(q, level(q), None, 0, 0, "each bot message is rated by one person only"))

    workers = _workers(study, threads, cells, per_person)
    return Statistics(summaries, alphas, workers, len(threads), sum(1 for t in threads.values() if t.status == "done"))


def _summary(q: RatingQuestion, bot: str, per_turn: bool, values: list[Any]) -> QuestionSummary:
    out = QuestionSummary(q, bot, per_turn, len(values))
    if q.kind == "text":
        out.texts = [str(v) for v in values if v]
        return out
    numbers = [x for x in (numeric(q, v) for v in values) if x is not None]
    if numbers:
        out.mean = sum(numbers) / len(numbers)
        out.ci = bootstrap_ci(numbers)
    if q.kind in ("choice", "likert"):
        out.distribution = {c: 0 for c in q.choices}
        for v in values:
            if v in out.distribution:
                out.distribution[v] += 1
    else:
        counts: dict[str, int] = defaultdict(int)
        for x in sorted(numbers):
            counts[f"{x:g}"] += 1
        out.distribution = dict(counts)
    return out


def _workers(
    study: Study, threads: dict[str, Any], cells: dict[str, dict[tuple[str, str], float]], per_person: dict[str, int]
) -> list[WorkerSummary]:
    people = sorted({t.person for t in threads.values()})
    levels = {q.key: level(q) for q in study.questions}
    out = []
    for person in people:
        pairs = agree = 0
        without: list[float] = []
        for key, grid in cells.items():
            mine = {u: v for (p, u), v in grid.items() if p == person}
            for (p, u), v in grid.items():
                if p != person and u in mine:
                    pairs += 1
                    agree += int(v == mine[u])
            if mine and levels.get(key):
                _, matrix = _matrix({k: v for k, v in grid.items() if k[0] != person})
                a = alpha(matrix, levels[key] or "nominal") if matrix else None
                if a is not None:
                    without.append(a)
        out.append(
            WorkerSummary(
                person,
                sum(1 for t in threads.values() if t.person == person),
                per_person.get(person, 0),
                pairs,
                agree / pairs if pairs else None,
                sum(without) / len(without) if without else None,
            )
        )
    return out


def reading(alpha_value: float | None) -> str:
    """Krippendorff's own guidance on how far an alpha may be relied on."""
    if alpha_value is None:
        return "not computable"
    if alpha_value >= 0.8:
        return "reliable"
    if alpha_value >= 0.667:
        return "tentative conclusions only"
    return "unreliable"
