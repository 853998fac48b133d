"""Forms against their references (issue 14, points 10-12): entities fill slots in any message,
an entity several slots share fills only the requested one, and a correction mid-form is not
the answer to the question asked."""

from __future__ import annotations

import pytest
from support import copy_sample
from support.engines import PIZZA, Chat

from workbench.task import load_task

# -- 10: entities in any message fill slots -------------------------------------------------------


def test_a_chitchat_message_fills_the_slots_its_entities_carry(build):
    chat = build(PIZZA)
    assert chat.say("/order_pizza") == ["What size?"]
    replies = chat.say('/chitchat{"size": "large"}')
    assert replies[0] == "Why did the pizza go to the doctor? It was feeling saucy."
    assert chat.slots["size"] == "large"
    # the slot given in passing is not asked again: the next question is the next slot's
    assert replies[-1] == "Where to?"
    assert any("filled in passing" in d for d in chat.trace["decisions"])


def test_an_exit_message_keeps_what_it_carries(build):
    chat = build(PIZZA)
    chat.say("/order_pizza")
    assert chat.say('/stop{"topping": "ham"}') == ["Okay, no pizza then."]
    assert chat.state["outcome"]["result"] == "exited"
    assert chat.slots["topping"] == "ham"


def test_a_details_message_fills_in_passing_then_explains(build):
    chat = build(PIZZA)
    chat.say("/order_pizza")
    replies = chat.say('/explain{"topping": "ham"}')
    assert replies[0] == "Sizes change the price."
    assert chat.slots["topping"] == "ham"


def test_chitchat_text_never_becomes_the_requested_slot(build):
    """In passing, only entities fill: the sentence itself is not the address."""
    chat = build(PIZZA)
    chat.say('/order_pizza{"size": "small", "topping": "ham"}')
    assert chat.state["requested_slot"] == "address"
    chat.say("/chitchat")
    assert chat.slots["address"] is None


# -- 11: a non-unique entity mapping fills only the requested slot ----------------------------------

TRAVEL = """
responses:
  utter_ask_origin: From where?
  utter_ask_destination: To where?
  utter_ask_day: Which day?
  utter_done: "{origin} to {destination} on {day}."
slots:
  origin:
    type: text
    mappings: [{type: from_entity, entity: city}]
  destination:
    type: text
    mappings: [{type: from_entity, entity: city}]
  day:
    type: text
    mappings: [{type: from_entity, entity: day}]
forms:
  trip:
    triggers: [travel]
    required_slots: [origin, destination, day]
    finish_action: utter_done
"""


def test_an_entity_several_slots_map_fills_only_the_requested_one(build):
    chat = build(TRAVEL)
    assert chat.say("/travel") == ["From where?"]
    assert chat.say('/inform{"city": "Paris"}') == ["To where?"]
    assert chat.slots == {"origin": "Paris", "destination": None, "day": None}
    assert chat.say('/inform{"city": "Rome"}') == ["Which day?"]
    assert chat.slots["origin"] == "Paris" and chat.slots["destination"] == "Rome"


def test_a_unique_entity_mapping_fills_its_slot_whatever_is_asked(build):
    chat = build(TRAVEL)
    chat.say("/travel")
    assert chat.say('/inform{"day": "monday", "city": "Oslo"}') == ["To where?"]
    assert chat.slots == {"origin": "Oslo", "destination": None, "day": "monday"}


# -- 12: corrections mid-form ---------------------------------------------------------------------


@pytest.fixture
def restaurant(tmp_path, store) -> Chat:
    task = load_task(copy_sample("restaurant", tmp_path))
    task.use_store(store)
    chat = Chat(task.engine("booking"), registry=task.registry, bot="booking")
    chat.greet()
    return chat


def test_a_correction_while_the_location_is_asked_changes_people_not_the_location(restaurant):
    chat = restaurant
    chat.say("I want to book a table for two tonight")
    chat.say("cheap")
    assert chat.say("italian") == ["Where?"]
    assert chat.slots["people"] == 2
    replies = chat.say("actually we will be 4 people")
    assert replies == ["Ok, I've changed the number of people to 4", "Where?"]
    assert chat.slots["people"] == 4 and chat.slots["location"] is None
    assert chat.state["requested_slot"] == "location"
    # the location is still answered with a bare name
    chat.say("Little Snoring")
    assert chat.slots["location"] == "Little Snoring"


def test_no_after_the_hotel_suggestion_is_understood(restaurant):
    chat = restaurant
    chat.say("I need a hotel")
    chat.say("amsterdam")
    chat.say("2030-07-01")
    assert chat.say("2030-07-03")[-1].startswith("Here is what I found")
    replies = chat.say("no")
    assert replies == ["Alright, I won't book it. Tell me what to change, or ask for another restaurant or hotel."]
    assert chat.trace["parse"]["intent"] == "deny"
