"""The analyzer language: parsing (with row/character errors), evaluation, the keyword pre-filter."""

from __future__ import annotations

import random

import pytest

from workbench.engines.decision_table.analyzer import (
    AnalyzerError,
    Env,
    evaluate,
    parse,
    tokenize,
    triggers,
    word_parts,
)


def score(expr: str, text: str, **env) -> float:
    return evaluate(parse(expr), Env(text, tokenize(text), **env))


def why(expr: str, text: str, **env) -> list[str]:
    e = Env(text, tokenize(text), why=[], **env)
    evaluate(parse(expr), e)
    return e.why or []


@pytest.mark.parametrize("name", ["booleanAnd", "booleanand", "band", "BAND"])
def test_boolean_and_aliases(name):
    assert score(f'{name}(vOneKeyword("a"), vOneKeyword("b"))', "a b") == 1.0
    assert score(f'{name}(vOneKeyword("a"), vOneKeyword("b"))', "a c") == 0.0


@pytest.mark.parametrize("name", ["booleanOr", "booleanor", "bor"])
def test_boolean_or_aliases(name):
    assert score(f'{name}(vOneKeyword("a"), vOneKeyword("b"))', "x b") == 1.0
    assert score(f'{name}(vOneKeyword("a"), vOneKeyword("b"))', "x y") == 0.0


@pytest.mark.parametrize("name", ["booleanNot", "booleannot", "bnot"])
def test_boolean_not_aliases(name):
    assert score(f'{name}(vOneKeyword("a"))', "b") == 1.0
    assert score(f'{name}(vOneKeyword("a"))', "a") == 0.0


def test_probabilistic_and_or_and_max():
    # keyword() scores occurrences per word: 1 of 4 words
    assert score('keyword("a")', "a b c d") == pytest.approx(0.25)
    # vOneKeyword scores as keyword does (starchat): and() multiplies the two shares
    assert score('and(keyword("a"), vOneKeyword("b"))', "a b c d") == pytest.approx(0.0625)
    assert score('or(keyword("a"), keyword("b"))', "a b c d") == pytest.approx(1 - 0.75 * 0.75)
    assert score('max(keyword("a"), vOneKeyword("z"))', "a b c d") == pytest.approx(0.25)
    assert score('and(keyword("a"), vOneKeyword("z"))', "a b c d") == 0.0


def test_keyword_whole_words_case_insensitive_and_wildcard():
    assert score('vOneKeyword("account")', "My ACCOUNT is locked") == pytest.approx(0.25)
    assert score('vOneKeyword("count")', "my account") == 0.0  # whole words only
    assert score('keyword("pass*")', "I forgot my Password") > 0
    assert score('keyword("pass*")', "bypass") == 0.0
    assert score('keyword("*word")', "password") > 0


def test_vonekeyword_takes_a_regex():
    assert score('vOneKeyword("problem.*")', "I have problems") == pytest.approx(1 / 3)
    assert score('vOneKeyword("install.*")', "installation guide") == pytest.approx(0.5)
    assert score('vOneKeyword("colou?r")', "favourite color") == pytest.approx(0.5)
    assert score('vOneKeyword("don\'t")', "I don't want") == pytest.approx(1 / 3)


def test_regex_search_and_variables():
    assert score('regex("\\d{3} \\d{3}")', "call 800 000") == 1.0
    retrieval = {"me": 0.6, "other": 0.3}
    assert score("search()", "x", state="me", search=retrieval.get) == 0.6
    assert score('search("other")', "x", state="me", search=retrieval.get) == 0.3
    assert score('existsVariable("email")', "x", data={"email": "a@b.c"}) == 1.0
    assert score('existsVariable("email")', "x", data={}) == 0.0
    assert score('checkVariableValue("plan", "gold")', "x", data={"plan": "gold"}) == 1.0
    assert score('checkVariableValue("plan", "gold")', "x", data={"plan": "Gold"}) == 0.0
    assert score('hasTravState("start")', "x", traversed=["start", "b"]) == 1.0
    assert score('hasTravState("start")', "x", visited={"start"}) == 1.0
    assert score('lastTravStateIs("b")', "x", traversed=["start", "b"]) == 1.0
    assert score('lastTravStateIs("start")', "x", traversed=["start", "b"]) == 0.0


def test_match_pattern_regex_extracts_variables():
    expr = 'matchPatternRegex("[email](\\S+@\\S+\\.\\w+)")'
    e = Env("write to me at ann@example.org please", tokenize("x"))
    assert evaluate(parse(expr), e) == 1.0
    assert e.extracted == {"email": "ann@example.org"}
    e = Env("born 01/02/1990", [])
    assert evaluate(parse('matchPatternRegex("[day,month,year](\\d\\d)/(\\d\\d)/(\\d{4})")'), e) == 1.0
    assert e.extracted == {"day": "01", "month": "02", "year": "1990"}


def test_fixture_expressions_parse_with_whitespace_and_trailing_comma():
    exprs = [
        'booleanand(vOneKeyword("locked"), vOneKeyword("account"), )',
        'band(vOneKeyword("create"), vOneKeyword("elastic.*"),  bor(vOneKeyword("index"),  vOneKeyword("indices")))',
        'booleanAnd(booleanNot(booleanOr(vOneKeyword("dont"),vOneKeyword("don\'t"))), vOneKeyword("test"), '
        'booleanOr(vOneKeyword("send"), vOneKeyword("get")))',
        '\n  search( "hello3" )\n',
    ]
    for e in exprs:
        parse(e)
    assert score(exprs[0], "my account is locked") == 1.0
    assert score(exprs[2], "send a test") == 1.0
    assert score(exprs[2], "don't send a test") == 0.0


@pytest.mark.parametrize(
    "expr, char, words",
    [
        ('band(vOneKeyword("x")', 22, "expected ',' or ')'"),
        ('band(vOneKeyword("x"), foo("y"))', 24, "unknown function 'foo'"),
        ('band(vOneKeyword("x)', 18, "never closed"),
        ('regex("(")', 8, "invalid regular expression"),
        ('bnot(vOneKeyword("a"), vOneKeyword("b"))', 1, "exactly one argument"),
        ('vOneKeyword(keyword("a"))', 13, "quoted strings"),
        ("band()", 1, "at least one argument"),
        ('band(vOneKeyword("a")) extra', 24, "unexpected text"),
        ("", 1, "empty"),
        ('checkVariableValue("a")', 1, "takes 2 argument"),
        ('matchPatternRegex("email")', 19, "[name"),
    ],
)
def test_errors_point_at_the_character(expr, char, words):
    with pytest.raises(AnalyzerError) as info:
        parse(expr)
    assert info.value.char == char, str(info.value)
    assert words in str(info.value)
    assert "^" in info.value.pointer()


def test_why_lists_the_atoms_that_fired_but_not_negated_ones():
    reasons = why(
        'band(vOneKeyword("password"), bnot(vOneKeyword("email")), bor(vOneKeyword("reset"), vOneKeyword("forgot")))',
        "I forgot my password",
    )
    assert any("password" in r for r in reasons)
    assert any("forgot" in r for r in reasons)
    assert not any("email" in r for r in reasons)


def test_triggers():
    assert triggers(parse('band(vOneKeyword("locked"), vOneKeyword("account"))')) in (
        frozenset({("w", "locked")}),
        frozenset({("w", "account")}),
    )
    assert triggers(parse('bor(vOneKeyword("problem.*"), keyword("issue"))')) == frozenset(
        {("p", "problem"), ("w", "issue")}
    )
    assert triggers(parse('or(vOneKeyword("a"), search())')) is None
    assert triggers(parse('bnot(vOneKeyword("a"))')) is None
    assert triggers(parse('vOneKeyword("colou?r")')) is None


WORDS = [
    "account",
    "locked",
    "password",
    "reset",
    "forgot",
    "problem",
    "problems",
    "issue",
    "don't",
    "dont",
    "test",
    "send",
    "get",
    "install",
    "installation",
    "docker",
    "call",
    "operator",
    "x",
    "café",
    "naïve",
]
EXPRS = [
    'band(vOneKeyword("locked"), vOneKeyword("account"))',
    'bor(vOneKeyword("problem.*"), vOneKeyword("issue\\w*"), keyword("pass*"))',
    'and(or(vOneKeyword("call"), vOneKeyword("talk")), vOneKeyword("operator"))',
    'max(keyword("reset"), keyword("forgot"))',
    'booleanAnd(booleanNot(booleanOr(vOneKeyword("dont"),vOneKeyword("don\'t"))), vOneKeyword("test"))',
    'band(vOneKeyword("docker"), vOneKeyword("install.*"))',
    'vOneKeyword("don\'t")',
    'keyword("café")',
]


def test_triggers_are_a_necessary_condition():
    """Whenever an expression scores above 0, one of its trigger words is in the text."""
    rng = random.Random(7)
    for _ in range(3000):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.3:
            text = text.upper()
        parts = word_parts(text)
        for expr in EXPRS:
            node = parse(expr)
            trig = triggers(node)
            s = evaluate(node, Env(text, tokenize(text)))
            if s > 0 and trig is not None:
                assert any((w in parts) if k == "w" else any(p.startswith(w) for p in parts) for k, w in trig), (
                    expr,
                    text,
                )
