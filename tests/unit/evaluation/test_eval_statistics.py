"""Statistics of a study: the report's alpha reproduces Krippendorff's own worked example,
with the level of measurement taken from each question's scale; bootstrap intervals;
worker agreement.

Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. University of
Pennsylvania, Annenberg School for Communication, departmental paper 43, section C
("Nominal data, any number of observers, missing data"): 4 observers (A-D) code 12 units
with values 1-5 (the matrix below, '.' missing). The paper gives alpha = 0.743 (nominal),
0.849 (interval) and 0.797 (ratio). The ordinal value, 0.815, is the krippendorff
package's (0.9.0) for the same data; the paper's ordinal example uses other data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from support import write_task

from workbench.evaluation.report import render_html
from workbench.evaluation.statistics import alpha, bootstrap_ci, compute, reading
from workbench.evaluation.study import Study
from workbench.store import Account, NewThread, open_store
from workbench.task import load_task

_ = None
#: Krippendorff (2011), section C: rows are observers A-D, columns units 1-12
RELIABILITY = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]
PAPER = {"nominal": 0.743, "interval": 0.849, "ratio": 0.797}
PACKAGE_ORDINAL = 0.815

STUDY = """
name: kripp
bots:
  b: {engine: echo}
worlds:
  chat: {type: bot_chat, bot: b}
evaluation:
  bot: b
  topics_file: topics.json
  questions:
    - {id: nominal, question: "Which category?", type: choice, choices: ["1", "2", "3", "4", "5"]}
    - {id: ordinal, question: "How much?", type: likert, choices: ["1", "2", "3", "4", "5"]}
    - {id: interval, question: "How many?", type: number, min: 0, max: 10}
    - {id: note, question: "Anything else?", type: text, required: false}
  limits: {max_threads_per_person: 12, max_threads_per_topic: 4, max_turns_per_thread: 1}
"""


def _matrix() -> list[list[float]]:
    return [[math.nan if v is None else float(v) for v in row] for row in RELIABILITY]


def test_eval_alpha_of_the_matrix_is_krippendorffs() -> None:
    assert round(alpha(_matrix(), "nominal"), 3) == PAPER["nominal"]
    assert round(alpha(_matrix(), "interval"), 3) == PAPER["interval"]
    assert round(alpha(_matrix(), "ratio"), 3) == PAPER["ratio"]
    assert round(alpha(_matrix(), "ordinal"), 3) == PACKAGE_ORDINAL
    # undefined, not a crash: one value only, or nothing pairable
    assert alpha([[1.0, 1.0], [1.0, 1.0]], "nominal") is None
    assert alpha([[1.0, math.nan], [math.nan, 2.0]], "nominal") is None


@pytest.fixture
def study(tmp_path: Path):
    topics = [{"id": f"u{n + 1:02d}", "name": f"unit {n + 1}", "conversation": []} for n in range(12)]
    root = write_task(tmp_path / "kripp", STUDY, files={"topics.json": json.dumps(topics)})
    task = load_task(root)
    store = open_store(tmp_path / "k.db")
    task.use_store(store)
    yield Study(task, store)
    store.close()


def _rate(study: Study, person: str, unit: int, value: int) -> None:
    new = NewThread(
        study=study.name,
        person=person,
        topics=[f"u{unit:02d}"],
        bots=["b"],
        max_threads_per_topic=4,
        max_threads_per_person=12,
        task="kripp",
        channel="evaluation",
        world="evaluation/thread",
    )
    thread = study.store.study.start_thread(new)
    study.store.study.set_thread_status(thread.id, "rating")
    answers = {"nominal": str(value), "ordinal": str(value), "interval": float(value), "note": "fine"}
    assert study.store.study.submit_ratings(thread.id, person, answers, {})


def test_eval_the_reports_alpha_reproduces_krippendorffs_worked_example(study: Study) -> None:
    for row, person in zip(RELIABILITY, "ABCD", strict=True):
        study.store.study.create_account(Account(person, person, "worker"))
        for unit, value in enumerate(row, start=1):
            if value is not None:
                _rate(study, person, unit, value)
    stats = compute(study)
    got = {a.question.key: a for a in stats.alphas}
    assert round(got["nominal"].alpha, 3) == PAPER["nominal"] and got["nominal"].level == "nominal"
    assert round(got["ordinal"].alpha, 3) == PACKAGE_ORDINAL and got["ordinal"].level == "ordinal"
    assert round(got["interval"].alpha, 3) == PAPER["interval"] and got["interval"].level == "interval"
    assert "note" not in got  # free text has no alpha
    assert got["nominal"].units == 11 and got["nominal"].raters == 4  # unit 12 has one value only
    html = render_html(study, stats)
    for value in ("0.743", "0.815", "0.849"):
        assert value in html
    assert reading(0.743) == "tentative conclusions only" and reading(0.849) == "reliable"


def test_eval_means_intervals_distributions_and_worker_agreement(study: Study) -> None:
    for person in "ABC":
        study.store.study.create_account(Account(person, person, "worker"))
    # A and B agree on both units, C disagrees on both
    for person, values in {"A": (5, 4), "B": (5, 4), "C": (1, 2)}.items():
        for unit, value in enumerate(values, start=1):
            _rate(study, person, unit, value)
    stats = compute(study)
    ordinal = next(q for q in stats.questions if q.question.key == "ordinal")
    assert ordinal.n == 6 and ordinal.mean == pytest.approx(21 / 6)
    assert ordinal.ci is not None and 1 <= ordinal.ci[0] < ordinal.mean < ordinal.ci[1] <= 5
    assert ordinal.distribution == {"1": 1, "2": 1, "3": 0, "4": 2, "5": 2}
    note = next(q for q in stats.questions if q.question.key == "note")
    assert note.texts == ["fine"] * 6 and note.mean is None
    workers = {w.person: w for w in stats.workers}
    # per question (3 countable) and unit (2): A meets B and C -> 12 pairs, 6 agree
    assert workers["A"].pairs == 12 and workers["A"].agreement == pytest.approx(0.5)
    assert workers["C"].agreement == 0.0
    # leaving out the one who disagrees leaves A and B agreeing perfectly (alpha undefined:
    # only two values per unit, the same); leaving out A keeps the disagreement
    assert workers["A"].alpha_without is not None and workers["A"].alpha_without < 0.5


def test_eval_bootstrap_intervals_are_reproducible() -> None:
    values = [1.0, 2.0, 2.0, 3.0, 5.0, 4.0, 4.0]
    assert bootstrap_ci(values) == bootstrap_ci(values)
    low, high = bootstrap_ci(values)
    assert low < sum(values) / len(values) < high
    assert bootstrap_ci([3.0]) is None
