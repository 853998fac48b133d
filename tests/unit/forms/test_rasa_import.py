"""forms_bot's domain.yml imports: what maps runs, what does not is named in warnings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import FIXTURES

from workbench.engines.base import Context
from workbench.message import Message
from workbench.task.formats.rasa import markdown_stories
from workbench.task.loader import load_task

FORMS_BOT = FIXTURES / "rasa_forms_bot"

pytestmark = pytest.mark.skipif(not FORMS_BOT.is_dir(), reason="the forms_bot fixture is not here")


@pytest.fixture(scope="module")
def bot_dir(tmp_path_factory):
    """A copy of the fixture: building the bot opens the task's default store beside it."""
    return Path(shutil.copytree(FORMS_BOT, tmp_path_factory.mktemp("rasa") / "rasa_forms_bot"))


@pytest.fixture(scope="module")
def task(bot_dir):
    return load_task(bot_dir)


def test_the_domain_loads_as_a_task_with_warnings(task, bot_dir):
    assert task.format == "rasa"
    assert set(task.worlds) == {"chat"} and task.bot_configs["forms"].engine == "form"
    text = "\n".join(task.warnings)
    for expected in (
        "plans.0: plan_actions.RestaurantPlan is Python (not in the fixture)",
        "plans.1: plan_actions.HotelPlan is Python (not in the fixture)",
        "Python action plan_actions.SpaAnswerParse is not in the fixture's domain; not imported",
        "Python action actions.ActionSearchRestaurant",
        "intents: no NLU data: the 12 intents have no examples and the 13 entities no rules",
        "slots.has_spa: slot has_spa has a question (utter_ask_has_spa) but no form asks it",
        "mapped as exit intent 'request_hotel' -> activate_hotel (inferred)",
        "form 'restaurant': the stories finish it with only cuisine, location always filled",
    ):
        assert expected in text, expected
    # every warning points at the domain, with a line where there is one
    assert all(w.startswith(str(bot_dir / "domain.yml")) for w in task.warnings)


def test_the_imported_forms(task):
    forms = task.engine("forms").forms
    restaurant, hotel = forms.forms["restaurant"], forms.forms["hotel"]
    assert restaurant.triggers == ["request_restaurant"] and hotel.triggers == ["request_hotel"]
    assert restaurant.required == ["cuisine", "location"]
    assert hotel.required == ["location", "startdate", "enddate"]
    assert restaurant.finish_action == ["utter_filled_slots", "utter_suggest_restaurant"]
    assert restaurant.exit == {"request_hotel": ["activate_hotel"]}
    assert restaurant.slots["price"].clarify == ["utter_explain_price_restaurant"]
    assert restaurant.after_finish["affirm"] == ["utter_book_restaurant"]
    assert forms.on_intent == {"chitchat": ["utter_chitchat"]}


def _texts(engine, names: list[str]) -> list[str]:
    return [engine.forms.responses[n].variants[0][0] for n in names]


def test_the_fixture_stories_replay(task):
    """Each story, turn by turn, in Rasa notation: the imported bot does what the story shows.

    Exits are Python in forms_bot (StopPlan), so where a story's form ends without
    completing, the replay ends it the same way. One generated story activates the
    restaurant on request_hotel, against every other story; it is the one expected miss.
    """
    engine = task.engine("forms")
    ctx = Context(conversation_id="replay", bot="forms", registry=task.registry, task=task)
    misses, replayed = [], 0
    for file, stories in markdown_stories(FORMS_BOT):
        for n, story in enumerate(stories):
            state = engine.initial_state()
            turns: list[tuple[str, list]] = []
            for kind, value in story:
                if kind == "intent":
                    turns.append((value, []))
                else:
                    turns[-1][1].append((kind, value))
            for intent, events in turns:
                actions = [v for k, v in events if k == "action"]
                turn = engine.step(state, Message(text=f"/{intent}"), ctx)
                state = turn.state
                if not actions or not actions[0].startswith("activate_"):
                    assert [m.text for m in turn.replies] == _texts(engine, actions), (file.name, n, intent)
                    continue
                wanted = actions[0][len("activate_") :]
                if state["form"] != wanted:
                    misses.append((file.name, n, intent, wanted, state["form"]))
                    break
                if "deactivate_plan_switch" in actions:
                    target = actions[actions.index("deactivate_plan_switch") + 1][len("activate_") :]
                    state = engine.step(state, Message(text=f"/request_{target}"), ctx).state
                    assert state["form"] == target
                    continue
                slots = {}
                complete = None
                for k, v in events:
                    if k == "slot":
                        for name, value in json.loads(v).items():
                            if name == "plan_complete" and "deactivate_plan" in actions:
                                complete = value
                            elif name not in ("active_plan", "switch", "plan_complete"):
                                slots[name] = value
                replies = [m.text for m in turn.replies]
                if slots:
                    turn = engine.step(state, Message(text="/inform" + json.dumps(slots)), ctx)
                    state, replies = turn.state, [m.text for m in turn.replies]
                tail = (
                    [a for a in actions[actions.index("deactivate_plan") + 1 :] if a.startswith("utter_")]
                    if "deactivate_plan" in actions
                    else []
                )
                if complete:
                    assert state["outcome"]["result"] == "finished", (file.name, n, intent)
                    assert replies == _texts(engine, tail), (file.name, n)
                else:
                    assert state["form"] == wanted, (file.name, n, intent)
                    state = {**state, "form": None, "requested_slot": None, "after": None}  # StopPlan
            replayed += 1
    assert replayed >= 24
    assert misses == [
        ("form_stories.md", 9, "request_hotel", "restaurant", "hotel"),
        ("restaurant_plan.md", 9, "request_hotel", "restaurant", "hotel"),
    ]
