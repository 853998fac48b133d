"""Fixtures of the forms tests: form engines built from YAML text, over a real tantivy index."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest

from workbench.engines.base import Context, Turn
from workbench.engines.form import FormEngine
from workbench.engines.form.spec import check_actions, load_forms
from workbench.engines.nlu import NLU, load_nlu
from workbench.index.embedded import EmbeddedIndex
from workbench.message import Message
from workbench.task.registry import Registry

REPO = Path(__file__).resolve().parents[2]
RESTAURANT = REPO / "sample_tasks" / "restaurant"
FIXTURES = REPO / "tests" / "fixtures"
FORMS_BOT = FIXTURES / "rasa_forms_bot"
TODAY = dt.date(2024, 6, 5)  # a Wednesday


class Chat:
    """Talks to one engine, keeping its state between turns like the runtime does."""

    def __init__(self, engine: FormEngine, registry: Any = None) -> None:
        self.engine = engine
        self.state = engine.initial_state()
        self.context = Context(conversation_id="c1", bot="bot", registry=registry)
        self.turn: Turn | None = None

    def say(self, text: str, **extra: Any) -> list[str]:
        self.turn = self.engine.step(self.state, Message(text=text, **extra), self.context)
        self.state = self.turn.state
        return [m.text for m in self.turn.replies]

    @property
    def trace(self) -> dict[str, Any]:
        assert self.turn is not None
        return self.turn.trace

    @property
    def slots(self) -> dict[str, Any]:
        return self.state["slots"]


@pytest.fixture
def index():
    return EmbeddedIndex()


@pytest.fixture
def build(tmp_path: Path, index):
    """``build(forms_yaml, nlu_yaml=None, registry=None, **engine_options) -> Chat``."""

    def make(forms: str, nlu: str | None = None, registry: Registry | None = None, **options: Any) -> Chat:
        forms_file = tmp_path / "forms.yml"
        forms_file.write_text(textwrap.dedent(forms), encoding="utf-8")
        defs, lines = load_forms(forms_file)
        problems = check_actions(defs, registry, forms_file, lines)
        assert not problems, problems
        understanding = None
        if nlu is not None:
            nlu_file = tmp_path / "nlu.yml"
            nlu_file.write_text(textwrap.dedent(nlu), encoding="utf-8")
            understanding = NLU(load_nlu(nlu_file), index=index, collection="nlu:test", today=TODAY)
        engine = FormEngine(defs, nlu=understanding, registry=registry, today=TODAY, **options)
        return Chat(engine, registry)

    return make


#: a small pizza-and-taxi bot used by most engine tests (Rasa notation turns, no NLU)
PIZZA = """
responses:
  utter_ask_size: What size?
  utter_ask_topping: Which topping?
  utter_ask_address: Where to?
  utter_ask_drink: A drink with that?
  utter_ask_extra_cheese: Extra cheese?
  utter_ask_time: When?
  utter_explain_size: Sizes change the price.
  utter_explain_details_pizza: I need a few things to make your pizza.
  utter_done: "Ordered: a {size} {topping} pizza to {address}."
  utter_bye: Okay, no pizza then.
  utter_joke: Why did the pizza go to the doctor? It was feeling saucy.
  utter_help: A human will call you.
  utter_big_order: That's a big order!
  utter_taxi_ready: Taxi booked.
  utter_hi: Hello!
  utter_default: Sorry?
slots:
  size:
    type: categorical
    choices: [small, medium, large]
    invalid: "We only make small, medium and large pizzas, not {value}."
  topping:
    type: text
  address:
    type: text
    mappings:
      - {type: from_entity, entity: address}
      - type: from_text
        not_intent: [chitchat]
        conditions: [{active_form: pizza, requested_slot: address}]
  drink:
    type: bool
    priority: 9
    mappings:
      - {type: from_intent, intent: affirm, value: true, conditions: [{requested_slot: drink}]}
      - {type: from_intent, intent: deny, value: false, conditions: [{requested_slot: drink}]}
  extra_cheese:
    type: bool
    priority: 8
    mappings:
      - {type: from_trigger_intent, intent: order_cheesy_pizza, value: true}
      - {type: from_intent, intent: affirm, value: true, conditions: [{active_form: pizza, requested_slot: extra_cheese}]}
  time:
    type: text
on_intent:
  greet: utter_hi
fallback_action: utter_default
forms:
  pizza:
    triggers: [order_pizza, order_cheesy_pizza]
    slots:
      topping: {priority: 2}
      size: {priority: 1, clarify: utter_explain_size}
      address: {priority: 3}
    rules:
      size:
        large: {need: [drink], lose: [topping]}
      topping:
        mushroom: {keep: [extra_cheese]}
    finish_action: utter_done
    exit: {stop: utter_bye, order_taxi: activate_taxi}
    chitchat: {chitchat: utter_joke}
    details_intent: [explain]
    ignored_intents: [greet]
    max_turns: 4
    failure_action: utter_help
  taxi:
    triggers: [order_taxi]
    required_slots: [address, time]
    finish_action: utter_taxi_ready
"""
