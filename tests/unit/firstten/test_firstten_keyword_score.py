"""Decision tables against starchat (issue 14, point 13): vOneKeyword scores the share of the
sentence's words that match, and `threshold: 0` lets every state answer, zero scores included."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support.engines import Chat

from workbench.engines.decision_table.analyzer import Env, evaluate, parse, tokenize
from workbench.store import open_store
from workbench.task import TaskError, load_task


def score(expr: str, text: str) -> float:
    return evaluate(parse(expr), Env(text, tokenize(text)))


def test_vonekeyword_scores_the_share_of_matching_words():
    # starchat's own test: vOneKeyword("password") on "I forgot my password" is 0.25
    assert score('vOneKeyword("password")', "I forgot my password") == pytest.approx(0.25)
    assert score('vOneKeyword("password")', "password, password") == pytest.approx(1.0)
    assert score('vOneKeyword("password")', "I forgot it") == 0.0


def test_an_and_of_keywords_is_a_fraction_and_boolean_operators_make_it_one():
    text = "I want to call an operator"
    assert score('and(vOneKeyword("call"), vOneKeyword("operator"))', text) == pytest.approx(1 / 36)
    assert score('band(vOneKeyword("call"), vOneKeyword("operator"))', text) == 1.0
    assert score('bor(vOneKeyword("call"), vOneKeyword("nothing"))', text) == 1.0


TABLE = """
state,execution_order,max_state_count,analyzer,queries,bubble,action,action_input,state_data,success_value,failure_value
start,1,0,,,Hello,,,,,
late,2,0,"vOneKeyword(""late"")",,Late one,,,,,
early,1,0,"vOneKeyword(""early"")",,Early one,,,,,
named_only,0,0,,,Only by name,,,,,
fallback,1,0,,,I did not get that,,,,,
"""


def _task(root: Path, threshold: str) -> Chat:
    root.mkdir(parents=True)
    (root / "table.csv").write_text(textwrap.dedent(TABLE).lstrip(), encoding="utf-8")
    (root / "task.yml").write_text(
        "name: t\nbots:\n  desk:\n    engine: decision_table\n    table: table.csv\n"
        f"    threshold: {threshold}\n    fallback_state: fallback\n"
        "worlds:\n  help: {type: bot_chat, bot: desk}\n",
        encoding="utf-8",
    )
    task = load_task(root)
    task.use_store(open_store(root / "test.db"))
    return Chat(task.engine("desk"))


def test_threshold_zero_is_allowed_and_every_state_may_answer(tmp_path):
    chat = _task(tmp_path / "zero", "0")
    # a fraction below the default threshold is still the best match
    assert chat.say("it is rather late tonight for me") == ["Late one"]
    assert chat.trace["candidates"][0]["score"] == pytest.approx(1 / 7, abs=1e-4)
    # nothing scores above 0: a state with a rule still answers (the first by execution order),
    # not the fallback; a state without analyzer or queries is reached only by name
    assert chat.say("tell me about dinosaurs") == ["Early one"]
    assert chat.trace["route"] == "match"
    assert chat.trace["candidates"] == [
        {"state": "early", "score": 0.0, "by": "threshold", "why": [chat.trace["candidates"][0]["why"][0]]}
    ]


def test_the_default_threshold_leaves_a_lone_keyword_in_a_long_sentence_unmatched(tmp_path):
    chat = _task(tmp_path / "default", "0.3")
    assert chat.say("it is rather late tonight for me") == ["I did not get that"]
    assert chat.say("late") == ["Late one"]


def test_a_negative_threshold_is_still_refused(tmp_path):
    with pytest.raises(TaskError) as err:
        _task(tmp_path / "neg", "-0.1")
    assert "threshold" in str(err.value)
