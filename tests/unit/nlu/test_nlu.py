"""Understanding without a model: entities with spans, intents by nearest example, notation."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from support import SAMPLES
from support.engines import TODAY

from workbench.engines.nlu import NLU, EntityExtractor, EntityRule, load_nlu, parse_notation
from workbench.engines.nlu.data import strip_annotations
from workbench.engines.nlu.dates import find_dates
from workbench.engines.nlu.numbers import find_numbers
from workbench.index.embedded import EmbeddedIndex
from workbench.problems import TaskError

RESTAURANT = SAMPLES / "restaurant"


def _nlu(tmp_path: Path, text: str, **options) -> NLU:
    f = tmp_path / "nlu.yml"
    f.write_text(textwrap.dedent(text), encoding="utf-8")
    return NLU(load_nlu(f), index=EmbeddedIndex(), collection="nlu:t", today=TODAY, **options)


def test_numbers_in_digits_and_words():
    found = [
        (n.value, n.text)
        for n in find_numbers("a table for two, or 12, maybe twenty-one or 2.5 or one hundred and five")
    ]
    assert found == [(2, "two"), (12, "12"), (21, "twenty-one"), (2.5, "2.5"), (105, "one hundred and five")]
    assert [n.value for n in find_numbers("two and three")] == [2, 3]


@pytest.mark.parametrize(
    "text, value",
    [
        ("today", "2024-06-05"),
        ("tomorrow", "2024-06-06"),
        ("the day after tomorrow", "2024-06-07"),
        ("friday", "2024-06-07"),
        ("next wednesday", "2024-06-12"),
        ("wednesday", "2024-06-05"),
        ("in 3 days", "2024-06-08"),
        ("in two weeks", "2024-06-19"),
        ("next week", "2024-06-12"),
        ("2024-07-01", "2024-07-01"),
        ("5 May", "2025-05-05"),
        ("May 5th 2026", "2026-05-05"),
        ("the 12th of june", "2024-06-12"),
        ("june 12", "2024-06-12"),
    ],
)
def test_simple_dates(text, value):
    found = find_dates(f"I'd like {text} please", TODAY)
    assert [d.value for d in found] == [value]
    assert found[0].text == text


def test_entities_regex_lookup_synonyms_numbers_dates_with_spans():
    ex = EntityExtractor(
        [
            EntityRule("cuisine", lookup=["italian", "new mexican"], synonyms={"mexican": ["mex", "tex-mex"]}),
            EntityRule("email", regex=[r"[\w.]+@[\w.]+\.\w+"]),
            EntityRule("people", regex=[r"\b(?P<value>\d+)\s+people"]),
            EntityRule("number", number=True),
            EntityRule("date", date=True),
        ]
    )
    text = "Tex-Mex for 6 people on 5 May, mail bob@example.com"
    got = {e.entity: (e.value, e.start, e.end, e.extractor) for e in ex.extract(text, TODAY)}
    assert got["cuisine"] == ("mexican", 0, 7, "synonym")
    assert got["people"] == ("6", 12, 13, "regex")
    assert got["number"] == (6, 12, 13, "number")  # the 5 of "5 May" belongs to the date
    assert got["date"] == ("2025-05-05", 24, 29, "date")
    assert got["email"] == ("bob@example.com", 36, 51, "regex")
    assert text[24:29] == "5 May"
    longest = ex.extract("new mexican place", TODAY)
    assert [(e.value, e.text) for e in longest] == [("new mexican", "new mexican")]


def test_roles_from_cue_words_and_groups_by_clause():
    ex = EntityExtractor(
        [
            EntityRule("city", lookup=["berlin", "paris"], roles={"from": ["from", "leaving"], "to": ["to"]}),
            EntityRule("size", lookup=["large", "small"], groups=True),
            EntityRule("topping", lookup=["ham", "olives"], groups=True),
        ]
    )
    cities = ex.extract("a train from Berlin to Paris", TODAY)
    assert [(e.value, e.role) for e in cities] == [("berlin", "from"), ("paris", "to")]
    pizzas = ex.extract("a large pizza with ham and a small one with olives", TODAY)
    assert [(e.entity, e.value, e.group) for e in pizzas] == [
        ("size", "large", "1"),
        ("topping", "ham", "1"),
        ("size", "small", "2"),
        ("topping", "olives", "2"),
    ]


def test_annotated_examples_feed_lookups_and_synonyms(tmp_path):
    assert strip_annotations("a [cheap](price:low) place in [Rome](city)")[0] == "a cheap place in Rome"
    text, anns = strip_annotations('from [Berlin]{"entity": "city", "role": "from"}')
    assert text == "from Berlin" and anns[0]["role"] == "from" and (anns[0]["start"], anns[0]["end"]) == (5, 11)
    nlu = _nlu(
        tmp_path,
        """
        intents:
          inform: ["a [cheap](price:low) place in [Rome](city)"]
    """,
    )
    ents = {e.entity: e.value for e in nlu.parse("cheap food in rome").entities}
    assert ents == {"price": "low", "city": "Rome"}


def test_rasa3_nlu_format(tmp_path):
    nlu = _nlu(
        tmp_path,
        """
        version: "3.1"
        nlu:
          - intent: greet
            examples: |
              - hey
              - hello there
          - intent: order
            examples: |
              - I want a [margherita](pizza)
          - lookup: pizza
            examples: |
              - hawaiian
          - synonym: margherita
            examples: |
              - marg
          - regex: zipcode
            examples: |
              - \\d{5}
    """,
    )
    assert nlu.data.intents == ["greet", "order"]
    p = nlu.parse("a marg and a hawaiian to 12345")
    assert [(e.entity, e.value) for e in p.entities] == [
        ("pizza", "margherita"),
        ("pizza", "hawaiian"),
        ("zipcode", "12345"),
    ]


def test_intents_by_nearest_example_with_ranking_and_fallback(tmp_path):
    nlu = _nlu(
        tmp_path,
        """
        intents:
          order_pizza: [I want to order a pizza, get me a pizza please, pizza delivery]
          track_order: [where is my order, track my delivery, how long until my food arrives]
          greet: [hello, hi there]
    """,
        threshold=0.3,
    )
    p = nlu.parse("I would like to order a pizza")
    assert p.intent == "order_pizza" and 0.3 <= p.confidence <= 1
    assert [s.intent for s in p.ranking][0] == "order_pizza"
    assert p.ranking[0].example in ("I want to order a pizza", "get me a pizza please")
    assert nlu.parse("Hello!").confidence == 1.0  # written as an example
    lost = nlu.parse("quantum chromodynamics")
    assert lost.intent == "nlu_fallback" and lost.fallback and lost.confidence < 0.3
    assert nlu.index.count("nlu:t") == 8


def test_notation():
    p = parse_notation('/inform{"cuisine": "mexican", "people": 6, "city": {"value": "Rome", "role": "to"}}')
    assert p.intent == "inform" and p.confidence == 1.0 and p.source == "notation"
    assert [(e.entity, e.value, e.role) for e in p.entities] == [
        ("cuisine", "mexican", None),
        ("people", 6, None),
        ("city", "Rome", "to"),
    ]
    assert parse_notation("/affirm@0.42").confidence == 0.42
    assert parse_notation('/inform[{"entity": "size", "value": "large", "group": 1}]').entities[0].group == "1"
    assert parse_notation("/inform{oops}").error.startswith("the entity object after /inform is not valid JSON")
    deep = parse_notation('/inform{"a": ' + "[" * 5_000 + "]" * 5_000 + "}")
    assert deep.error == "the entity object after /inform is nested more than 8 levels deep"
    assert parse_notation("hello /inform") is None


def test_bad_nlu_files_name_file_line_and_key(tmp_path):
    f = tmp_path / "nlu.yml"
    f.write_text(
        "intents:\n  greet: [hi]\nentities:\n  zip:\n    regex: '(['\n  city:\n    lookups: [x]\n", encoding="utf-8"
    )
    with pytest.raises(TaskError) as err:
        load_nlu(f)
    text = str(err.value)
    assert f"{f}:7: entities.city.lookups: unknown key" in text
    f.write_text("intents:\n  greet: [hi]\nentities:\n  zip:\n    regex: '(['\n", encoding="utf-8")
    with pytest.raises(TaskError) as err:
        load_nlu(f)
    assert f"{f}:5: entities.zip.regex: invalid regular expression" in str(err.value)


def test_the_sample_nlu_understands_its_examples():
    nlu = NLU(load_nlu(RESTAURANT / "nlu.yml"), index=EmbeddedIndex(), collection="nlu:booking", today=TODAY)
    cases = {
        "can you find me a restaurant": "request_restaurant",
        "I need a room in a hotel": "request_hotel",
        "why do you need that": "explain",
        "no thanks": "deny",
        "bye for now": "goodbye",
    }
    for text, intent in cases.items():
        assert nlu.parse(text).intent == intent, text
    p = nlu.parse("a hotel in rome from next friday until 2024-06-20")
    dates = [(e.value, e.role) for e in p.entities if e.entity == "date"]
    assert dates == [("2024-06-07", "start"), ("2024-06-20", "end")]
    assert dt.date.fromisoformat(dates[0][0]) > TODAY
