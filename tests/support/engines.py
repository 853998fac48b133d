"""Engines driven turn by turn without the runtime (the unit tests of the decision table, the
forms and the chains), and the pizza-and-taxi forms most form tests talk to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.engines.base import Context, Engine, Turn
from workbench.message import Message

#: the date the form and NLU tests take as today (a Wednesday)
TODAY = dt.date(2024, 6, 5)


class Chat:
    """Talks to one engine, keeping its state between turns as the runtime does."""

    def __init__(
        self,
        engine: Engine,
        conversation_id: str = "c1",
        data: dict[str, Any] | None = None,
        registry: Any = None,
        bot: str | None = None,
    ) -> None:
        self.engine = engine
        self.context = Context(
            conversation_id=conversation_id,
            bot=bot or getattr(engine, "bot", "bot"),
            data=data or {},
            registry=registry,
            task=getattr(engine, "task", None),
        )
        self.state = engine.initial_state()
        self.turn: Turn | None = None

    def greet(self) -> list[str]:
        """The engine's greeting (none: an empty list), its state kept."""
        turn = self.engine.greeting(self.state, self.context)
        assert not hasattr(turn, "__await__"), "use an async test for engines that greet asynchronously"
        if turn is None:
            return []
        return self._took(turn)

    def say(self, text: str = "", **extra: Any) -> list[str]:
        """One turn: the person says ``text`` (with ``extra`` keys); the texts of the replies."""
        turn = self.engine.step(self.state, Message(text=text, **extra), self.context)
        assert not hasattr(turn, "__await__"), "use an async test for engines that step asynchronously"
        return self._took(turn)

    def _took(self, turn: Turn) -> list[str]:
        self.turn = turn
        self.state = turn.state
        return [m.text for m in turn.replies]

    @property
    def replies(self) -> list[Message]:
        return self.turn.replies if self.turn is not None else []

    @property
    def trace(self) -> dict[str, Any]:
        """The last turn's trace ({} before the first)."""
        return self.turn.trace if self.turn is not None else {}

    @property
    def slots(self) -> dict[str, Any]:
        return self.state["slots"]


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
