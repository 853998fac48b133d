"""Chains: who answers, the form holding the floor, and a decision table handing off to a form."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from support.engines import PIZZA

from workbench.engines.base import Context, Engine, Turn
from workbench.engines.chain import ChainEngine
from workbench.message import Message
from workbench.task.loader import load_task
from workbench.testing.conversation import discover, run_tests


class Desk(Engine):
    """A stand-in for a decision table: knows opening hours, hands pizza orders to a form."""

    def step(self, state, message, context):
        text = message.text
        if "open" in text:
            return Turn([Message(text="Noon to midnight.")], state, {"route": "match"})
        if "order" in text:
            return Turn([Message(text="Let's order.")], state, {"route": "match", "activate_form": "pizza"})
        return Turn([Message(text="No idea.")], state, {"route": "no_answer"})


def _chain(build, order):
    forms = build(PIZZA).engine
    engines = {"desk": Desk(), "pizza": forms}
    chain = ChainEngine(engines, order)
    ctx = Context(conversation_id="c", bot="front")
    state = chain.initial_state()

    def say(text):
        nonlocal state
        turn = asyncio.run(chain.step(state, Message(text=text), ctx))
        state = turn.state
        return [m.text for m in turn.replies], turn.trace, state

    return say


def test_the_first_bot_that_answers_is_heard(build):
    say = _chain(build, ["pizza", "desk"])
    replies, trace, _ = say("/greet")
    assert replies == ["Hello!"] and trace["answered_by"] == "pizza"
    assert [t["bot"] for t in trace["tried"]] == ["pizza"]
    # the form bot only falls back: the desk answers
    replies, trace, _ = say("when are you open")
    assert replies == ["Noon to midnight."] and trace["answered_by"] == "desk"
    assert trace["tried"][0] == {
        "bot": "pizza",
        "answered": False,
        "replies": 1,
        "why": "said it did not handle the message",
    }


def test_when_nobody_answers_the_first_fallback_is_said(build):
    say = _chain(build, ["pizza", "desk"])
    replies, trace, _ = say("/weather")
    assert replies == ["Sorry?"] and trace["answered_by"] is None and trace["fallback_from"] == "pizza"


def test_a_hand_off_activates_the_form_which_then_holds_the_floor(build):
    say = _chain(build, ["desk", "pizza"])
    replies, trace, state = say("I want to order")
    assert replies == ["Let's order.", "What size?"]
    assert trace["handoff"]["form"] == "pizza" and trace["handoff"]["to"] == "pizza"
    assert state["bots"]["pizza"]["form"] == "pizza"
    replies, trace, _ = say('/inform{"size": "small"}')
    assert trace["order"] == ["pizza", "desk"] and trace["tried"][0]["why"] == "holds the floor; answered"
    assert replies == ["Which topping?"]


def test_a_message_the_form_cannot_use_is_answered_then_the_form_asks_again(build):
    say = _chain(build, ["desk", "pizza"])
    say("I want to order")
    replies, trace, _ = say("are you open today")
    assert replies == ["Noon to midnight.", "What size?"]
    assert trace["answered_by"] == "desk" and trace["resumed"] == "pizza"
    # nobody can use it: the question alone, not the desk's "No idea."
    replies, trace, _ = say("hmm")
    assert replies == ["What size?"]


DESK_CSV = """\
state,execution_order,max_state_count,analyzer,"queries (T,I)",bubble (R),action (R),action_input (R),state_data (R),success_value (R),failure_value (R)
start,1,0,,,"Welcome to the pizzeria.",,,,,
order,1,0,,"[""I want to order a pizza"", ""order a pizza please""]",Let's get your pizza order started.,activate_form,"{""form"": ""pizza""}",,,
opening_hours,1,0,,"[""when are you open"", ""what are your opening hours""]",We are open from noon to midnight.,,,,,
"""


def test_a_real_decision_table_hands_off_to_a_form(tmp_path: Path):
    (tmp_path / "decision_table.csv").write_text(DESK_CSV, encoding="utf-8")
    (tmp_path / "forms.yml").write_text(
        textwrap.dedent("""
        responses:
          utter_ask_size: What size?
          utter_ask_topping: Which topping?
          utter_done: "A {size} {topping} pizza is on its way."
        slots:
          size: {type: categorical, choices: [small, medium, large]}
        forms:
          pizza:
            slots: [size, topping]
            finish_action: utter_done
    """),
        encoding="utf-8",
    )
    (tmp_path / "nlu.yml").write_text(
        "entities:\n  size: {lookup: [small, medium, large]}\n  topping: {lookup: [ham, olives]}\n"
    )
    (tmp_path / "task.yml").write_text(
        textwrap.dedent("""
        name: pizzeria
        bots:
          desk: {engine: decision_table, table: decision_table.csv}
          order: {engine: form, forms: forms.yml, nlu: nlu.yml}
          front: {engine: chain, bots: [desk, order]}
        worlds:
          shop: {type: bot_chat, bot: front}
    """),
        encoding="utf-8",
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "chain.yml").write_text(
        textwrap.dedent("""
        - name: hand-off, floor, resume
          steps:
            - bot: Welcome to the pizzeria.
            - user: I want to order a pizza
            - bot: Let's get your pizza order started.
            - bot: What size?
            - state: {bots: {order: {form: pizza, requested_slot: size}}}
            - user: a large one
            - bot: Which topping?
            - user: what are your opening hours
            - bot: We are open from noon to midnight.
            - bot: Which topping?
            - user: ham
            - bot: A large ham pizza is on its way.
            - user: when are you open
            - bot: We are open from noon to midnight.
    """),
        encoding="utf-8",
    )
    task = load_task(tmp_path)
    results = asyncio.run(run_tests(task, discover(task)))
    assert [(r.ok, r.failure) for r in results] == [(True, None)]
    assert "activate_form" in task.registry.actions
