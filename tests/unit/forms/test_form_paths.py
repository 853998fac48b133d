"""The form engine turn by turn: every path the forms issue lists, with Rasa-notation turns."""

from __future__ import annotations

import json

from support.engines import PIZZA

from workbench.task.registry import Registry


def test_asks_by_priority_and_finishes(build):
    chat = build(PIZZA)
    assert chat.say("/order_pizza") == ["What size?"]
    assert chat.state["form"] == "pizza" and chat.state["requested_slot"] == "size"
    assert chat.say('/inform{"size": "small"}') == ["Which topping?"]
    assert chat.say('/inform{"topping": "ham"}') == ["Where to?"]
    assert chat.say("12 Main Street") == ["Ordered: a small ham pizza to 12 Main Street."]
    assert chat.state["form"] is None
    assert chat.state["outcome"] == {"form": "pizza", "result": "finished", "turns": 3}
    assert chat.trace["slots_changed"] == [
        {"slot": "address", "old": None, "new": "12 Main Street", "how": "from_text"}
    ]


def test_several_slots_from_one_message(build):
    chat = build(PIZZA)
    chat.say("/order_pizza")
    replies = chat.say('/inform{"size": "medium", "topping": "ham", "address": "1 Road"}')
    assert replies == ["Ordered: a medium ham pizza to 1 Road."]
    # in the order the form lists its slots
    assert [c["slot"] for c in chat.trace["slots_changed"]] == ["topping", "size", "address"]


def test_slots_in_the_activating_message_are_not_asked(build):
    chat = build(PIZZA)
    assert chat.say('/order_pizza{"topping": "ham"}') == ["What size?"]
    assert chat.slots["topping"] == "ham"
    assert chat.state["filled"]["topping"]["message"] == 1
    assert chat.say('/inform{"size": "small"}') == ["Where to?"]


def test_from_trigger_intent_fills_only_on_activation(build):
    chat = build(PIZZA)
    chat.say("/order_cheesy_pizza")
    assert chat.slots["extra_cheese"] is True
    assert chat.state["filled"]["extra_cheese"]["how"] == "from_trigger_intent order_cheesy_pizza=True"
    plain = build(PIZZA)
    plain.say("/order_pizza")
    assert plain.slots["extra_cheese"] is None


def test_rules_need_and_lose_and_their_undoing(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "large"}')
    # large: topping is lost, so the address comes next; drink is needed
    assert chat.state["requested_slot"] == "address"
    assert chat.trace["rules"] == [{"slot": "size", "value": "large", "need": ["drink"], "lose": ["topping"]}]
    assert chat.trace["required"] == ["size", "address", "drink"]
    assert chat.say('/inform{"address": "1 Road"}') == ["A drink with that?"]
    # the value that fired the rule changes: its effect is undone
    assert chat.say('/inform{"size": "small"}') == ["Which topping?"]
    assert chat.trace["rules"] == []
    assert chat.trace["required"] == ["size", "topping", "address"]


def test_keep_is_need(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "small", "topping": "mushroom", "address": "x"}')
    assert chat.state["requested_slot"] == "extra_cheese"
    assert chat.say("/affirm") == ["Ordered: a small mushroom pizza to x."]


def test_chitchat_then_the_question_again(build):
    chat = build(PIZZA)
    chat.say("/order_pizza")
    assert chat.say("/chitchat") == ["Why did the pizza go to the doctor? It was feeling saucy.", "What size?"]
    assert chat.state["turns"] == 1 and chat.state["form"] == "pizza"
    assert chat.trace["slots_changed"] == []


def test_details_intent_clarifies_the_pending_slot_or_the_form(build):
    chat = build(PIZZA)
    chat.say("/order_pizza")
    assert chat.say("/explain") == ["Sizes change the price.", "What size?"]
    chat.say('/inform{"size": "small"}')
    # topping has no clarification of its own: the form's (utter_explain_details_pizza)
    assert chat.say("/explain") == ["I need a few things to make your pizza.", "Which topping?"]


def test_exit_intent_ends_the_form(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "small"}')
    assert chat.say("/stop") == ["Okay, no pizza then."]
    assert chat.state["form"] is None and chat.state["requested_slot"] is None
    assert chat.state["outcome"]["result"] == "exited"
    assert chat.slots["size"] == "small"


def test_switching_forms_through_an_exit_action(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"address": "1 Road"}')
    # the taxi form needs the address too: it is not asked again
    assert chat.say("/order_taxi") == ["When?"]
    assert chat.state["form"] == "taxi"
    assert chat.trace["decisions"][:3] == [
        "exit intent 'order_taxi'",
        "form 'pizza' exited",
        "form 'taxi' activated by intent 'order_taxi'",
    ]
    assert chat.say('/inform{"time": "now"}') == ["Taxi booked."]


def test_max_turns_ends_in_the_failure_action(build):
    chat = build(PIZZA)
    chat.say("/order_pizza")
    for _ in range(3):
        assert chat.say("/chitchat")[-1] == "What size?"
    assert chat.say("/chitchat") == [
        "Why did the pizza go to the doctor? It was feeling saucy.",
        "A human will call you.",
    ]
    assert chat.state["outcome"] == {"form": "pizza", "result": "failed", "turns": 4}
    assert chat.trace["max_turns"] is None and chat.state["form"] is None


def test_failure_action_defaults_to_the_finish_action(build):
    chat = build(
        PIZZA.replace("    finish_action: utter_taxi_ready", "    finish_action: utter_taxi_ready\n    max_turns: 1")
    )
    chat.say("/order_taxi")
    assert chat.say("/chitchat") == ["Taxi booked."]
    assert chat.state["outcome"]["result"] == "failed"


FOLLOW_UP = """
responses:
  utter_ask_receipt: Do you want a receipt?
  utter_ask_email: Your e-mail?
  utter_joke: Ha ha.
  utter_thanks: Thanks!
  utter_bye: Bye.
slots:
  receipt: {type: bool, mappings: []}
  email: {type: text, regex: '[^@ ]+@[^@ ]+'}
forms:
  checkout:
    triggers: [checkout]
    slots:
      receipt: {follow_up_action: parse_yes_no}
    finish_action: utter_thanks
    exit: {deny: utter_bye}
    chitchat: {chitchat: utter_joke}
"""


def _yes_no_registry() -> Registry:
    reg = Registry()

    def parse_yes_no(ctx):
        if ctx.intent in ("affirm", "deny"):
            return {"slots": {ctx.requested_slot: ctx.intent == "affirm"}, "say": "Got it."}
        return None

    reg.actions["parse_yes_no"] = parse_yes_no
    return reg


def test_follow_up_action_answers_a_yes_no_slot(build):
    chat = build(FOLLOW_UP, registry=_yes_no_registry())
    assert chat.say("/checkout") == ["Do you want a receipt?"]
    assert chat.state["follow_up"] == "receipt"
    # deny is an exit intent, but here it answers the pending question; false is a value
    assert chat.say("/deny") == ["Got it.", "Thanks!"]
    assert chat.slots["receipt"] is False
    assert chat.state["filled"]["receipt"] == {
        "message": 2,
        "text": "/deny",
        "intent": "deny",
        "how": "action parse_yes_no",
        "by": "action",
    }


def test_follow_up_waits_through_chitchat_and_non_answers(build):
    chat = build(FOLLOW_UP, registry=_yes_no_registry())
    chat.say("/checkout")
    assert chat.say("/chitchat") == ["Ha ha.", "Do you want a receipt?"]
    assert chat.state["follow_up"] == "receipt"
    assert chat.say("/inform") == ["Do you want a receipt?"]
    assert chat.say("/affirm") == ["Got it.", "Thanks!"]


def test_without_an_answer_the_exit_intent_still_exits(build):
    reg = _yes_no_registry()
    reg.actions["parse_yes_no"] = lambda ctx: None
    chat = build(FOLLOW_UP, registry=reg)
    chat.say("/checkout")
    assert chat.say("/deny") == ["Bye."]
    assert chat.state["outcome"]["result"] == "exited"


def test_validation_rejects_a_value_and_asks_again(build):
    chat = build(PIZZA)
    chat.say("/order_pizza")
    assert chat.say('/inform{"size": "huge"}') == [
        "We only make small, medium and large pizzas, not huge.",
        "What size?",
    ]
    assert chat.slots["size"] is None
    assert chat.trace["rejected"][0]["slot"] == "size"
    # a choice matches whatever its case
    assert chat.say('/inform{"size": "LARGE"}') == ["Where to?"]
    assert chat.slots["size"] == "large"


VALIDATED = """
responses:
  utter_ask_guests: How many guests?
  utter_ask_phone: Your phone number?
  utter_ask_code: Promo code?
  utter_ok: OK
slots:
  guests: {type: int, min: 1, max: 8}
  phone: {type: text, regex: '\\+?[0-9 ]{6,}'}
  code: {type: text, validator: known_code}
forms:
  booking:
    triggers: [book]
    required_slots: [guests, phone, code]
    finish_action: utter_ok
"""


def test_type_range_regex_and_python_validators(build):
    reg = Registry()

    def known_code(value, ctx):
        if value.upper() not in ("PIZZA10", "FREE"):
            raise ValueError(f"{value} is not a code we know.")
        return value.upper()

    reg.validators["known_code"] = known_code
    chat = build(VALIDATED, registry=reg)
    chat.say("/book")
    assert chat.say('/inform{"guests": "many"}')[0] == "Sorry, many is not a valid guests (expected a number)."
    assert chat.say('/inform{"guests": 12}')[0] == "Sorry, 12 is not a valid guests (must be at most 8)."
    assert chat.say('/inform{"guests": "three"}') == ["Your phone number?"]
    assert chat.slots["guests"] == 3
    assert chat.say('/inform{"phone": "call me"}')[0].startswith("Sorry, call me is not a valid phone")
    chat.say('/inform{"phone": "+44 1234 5678"}')
    assert chat.say('/inform{"code": "nope"}') == ["nope is not a code we know.", "Promo code?"]
    assert chat.say('/inform{"code": "free"}') == ["OK"]
    assert chat.slots["code"] == "FREE"


def test_from_text_only_where_its_conditions_hold(build):
    chat = build(PIZZA)
    chat.say("/order_pizza")
    # size is asked: free text is not the address
    chat.say("somewhere nice")
    assert chat.slots["address"] is None
    chat.say('/inform{"size": "small", "topping": "ham"}')
    assert chat.state["requested_slot"] == "address"
    chat.say("/chitchat")  # not_intent: chitchat never fills the address
    assert chat.slots["address"] is None
    chat.say("4 Elm Street")
    assert chat.slots["address"] == "4 Elm Street"


def test_from_intent_with_conditions_and_false_as_a_value(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "large"}')
    chat.say("/affirm")  # drink is not asked yet: affirm fills nothing
    assert chat.slots["drink"] is None
    chat.say('/inform{"address": "1 Road"}')
    assert chat.state["requested_slot"] == "drink"
    replies = chat.say("/deny")
    assert chat.slots["drink"] is False
    assert chat.state["outcome"]["result"] == "finished" and replies[0].startswith("Ordered")


def test_ignored_intents_fill_no_slot(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "small", "topping": "ham"}')
    assert chat.say("/greet") == ["Where to?"]
    assert chat.slots["address"] is None
    assert "intent 'greet' is ignored by form 'pizza': no slot filled" in chat.trace["decisions"]


def test_reactivation_keeps_what_it_knew(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "small"}')
    chat.say("/stop")
    assert chat.say("/greet") == ["Hello!"]
    assert chat.say("/order_pizza") == ["Which topping?"]
    assert chat.state["form"] == "pizza" and chat.state["turns"] == 0


def test_reset_after_finish_starts_a_finished_form_afresh(build):
    chat = build(PIZZA.replace("    max_turns: 4", "    max_turns: 4\n    reset: after_finish"))
    chat.say('/order_pizza{"size": "small", "topping": "ham", "address": "x"}')
    assert chat.state["outcome"]["result"] == "finished"
    assert chat.say("/order_pizza") == ["What size?"]
    assert chat.slots["topping"] is None


def test_dynamic_required_slots_from_a_hook(build):
    reg = Registry()
    calls = []

    def late_delivery(required, ctx):
        calls.append(ctx.form)
        return [*required, "time"] if ctx.slots.get("address") == "far away" else required

    reg.hooks["late_delivery"] = late_delivery
    forms = PIZZA.replace(
        "    failure_action: utter_help", "    failure_action: utter_help\n    required_slots_hook: late_delivery"
    )
    chat = build(forms, registry=reg)
    chat.say('/order_pizza{"size": "small", "topping": "ham"}')
    assert chat.say('/inform{"address": "far away"}') == ["When?"]
    assert chat.trace["hook"] == {"hook": "late_delivery", "added": ["time"], "removed": []}
    assert calls and calls[0] == "pizza"


def test_outside_a_form_unknown_intents_fall_back_unhandled(build):
    chat = build(PIZZA)
    assert chat.say("/greet") == ["Hello!"]
    assert chat.trace["handled"] is True
    assert chat.say("/weather") == ["Sorry?"]
    assert chat.trace["handled"] is False


def test_state_is_json_and_survives_a_new_engine(build):
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "small"}')
    stored = json.loads(json.dumps(chat.state))
    fresh = build(PIZZA)  # another process, the same forms
    fresh.state = stored
    assert fresh.say('/inform{"topping": "ham"}') == ["Where to?"]
    assert fresh.state["turns"] == 1


def test_trace_says_why(build):
    chat = build(PIZZA)
    chat.say("/order_pizza")
    chat.say('/inform{"size": "small"}')
    t = chat.trace
    assert t["engine"] == "form" and t["form_before"] == "pizza" and t["form"] == "pizza"
    assert t["parse"]["intent"] == "inform" and t["parse"]["source"] == "notation"
    assert t["parse"]["entities"][0]["entity"] == "size"
    assert t["slots_changed"] == [{"slot": "size", "old": None, "new": "small", "how": "from_entity size (notation)"}]
    assert t["decisions"] == ["ask topping"] and t["actions"] == ["utter_ask_topping"]
    assert t["turns"] == 1 and t["max_turns"] == 4 and t["requested_slot"] == "topping"


def test_quick_reply_payloads_are_understood(build):
    forms = """
    responses:
      utter_ask_ok:
        text: Shall I?
        quick_replies: [{title: "Sure", payload: /affirm}, {title: "No way", payload: /deny}]
      utter_done: Done.
    slots:
      ok:
        type: bool
        mappings:
          - {type: from_intent, intent: affirm, value: true}
          - {type: from_intent, intent: deny, value: false}
    forms:
      confirm:
        triggers: [go]
        slots: [ok]
        finish_action: utter_done
    """
    chat = build(forms)
    chat.say("/go")
    assert chat.turn.replies[0]["quick_replies"] == ["Sure", "No way"]
    assert chat.say("no way") == ["Done."]
    assert chat.slots["ok"] is False
    assert chat.trace["decisions"][0] == "quick reply 'no way' means /deny"


def test_default_form_asks_its_first_question_as_the_greeting(build):
    chat = build(PIZZA, default_form="pizza", greeting=["utter_hi"])
    turn = chat.engine.greeting(chat.state, chat.context)
    assert [m.text for m in turn.replies] == ["Hello!", "What size?"]
    assert turn.state["form"] == "pizza"


def test_activate_from_outside_fills_from_the_message(build):
    from workbench.message import Message

    chat = build(PIZZA)
    turn = chat.engine.activate(chat.state, "pizza", chat.context, Message(text='/inform{"size": "medium"}'))
    assert [m.text for m in turn.replies] == ["Which topping?"]
    assert turn.state["slots"]["size"] == "medium"


TRIP = """
responses:
  utter_ask_origin: From where?
  utter_ask_destination: To where?
  utter_ask_first_size: What size is the first pizza?
  utter_done: "{origin} to {destination}; pizzas: {first_size} {first_topping}, {second_size} {second_topping}; stops: {stops}"
slots:
  origin:
    mappings: [{type: from_entity, entity: city, role: from}]
  destination:
    mappings: [{type: from_entity, entity: city, role: to}]
  first_size:
    mappings: [{type: from_entity, entity: size, group: 1}]
  first_topping:
    mappings: [{type: from_entity, entity: topping, group: 1}]
  second_size:
    mappings: [{type: from_entity, entity: size, group: 2}]
  second_topping:
    mappings: [{type: from_entity, entity: topping, group: 2}]
  stops:
    type: list
    mappings: [{type: from_entity, entity: stop}]
forms:
  trip:
    triggers: [travel]
    required_slots: [origin, destination, first_size]
    finish_action: utter_done
"""

TRIP_NLU = """
intents:
  travel: [I want to travel, book a trip]
entities:
  city: {lookup: [berlin, paris, rome], roles: {from: [from, leaving], to: [to, towards]}}
  size: {lookup: [small, large], groups: true}
  topping: {lookup: [ham, olives], groups: true}
  stop: {lookup: [lyon, basel, milan]}
"""


def test_from_entity_with_role_group_and_list_slots_through_nlu(build):
    chat = build(TRIP, nlu=TRIP_NLU)
    assert chat.say("I want to travel") == ["From where?"]
    replies = chat.say("to Rome from Berlin via lyon and basel, a large pizza with ham and a small one with olives")
    assert replies == ["berlin to rome; pizzas: large ham, small olives; stops: lyon, basel"]
    ents = chat.trace["parse"]["entities"]
    assert {
        "entity": "city",
        "value": "rome",
        "start": 3,
        "end": 7,
        "text": "Rome",
        "extractor": "lookup",
        "role": "to",
        "confidence": 1.0,
    } in ents
    assert chat.slots["stops"] == ["lyon", "basel"]


def test_a_failing_python_action_is_traced_not_fatal(build):
    reg = _yes_no_registry()

    def broken(ctx):
        raise ConnectionError("the booking service is down")

    reg.actions["parse_yes_no"] = broken
    chat = build(FOLLOW_UP, registry=reg)
    chat.say("/checkout")
    assert chat.say("/affirm") == ["Do you want a receipt?"]
    assert chat.trace["errors"] == [{"action": "parse_yes_no", "error": "ConnectionError: the booking service is down"}]
