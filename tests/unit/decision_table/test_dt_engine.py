"""The engine turn by turn: routing, buttons, forms, actions, templates, knowledge base, limits and loops."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from support.engines import Chat

from workbench.engines.base import Context
from workbench.message import Message
from workbench.store import open_store
from workbench.task.loader import load_task


def open_task(root: Path):
    task = load_task(root)
    task.use_store(open_store(root / "data" / "test.db"))
    return task


def write_task(root: Path, table_csv: str, bot: str = "", worlds: str = "", kb: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "table.csv").write_text(textwrap.dedent(table_csv).lstrip(), encoding="utf-8")
    extra = textwrap.indent(textwrap.dedent(bot).strip(), "    ") if bot else ""
    kb_line = "    knowledge_base: kb.csv\n" if kb is not None else ""
    if kb is not None:
        (root / "kb.csv").write_text(textwrap.dedent(kb).lstrip(), encoding="utf-8")
    (root / "task.yml").write_text(
        "name: t\nbots:\n  desk:\n    engine: decision_table\n    table: table.csv\n"
        + kb_line
        + (extra + "\n" if extra else "")
        + "worlds:\n  help: {type: bot_chat, bot: desk}\n",
        encoding="utf-8",
    )
    if worlds:
        (root / "worlds.py").write_text(textwrap.dedent(worlds), encoding="utf-8")
    return root


@pytest.fixture
def desk(helpdesk):
    task = open_task(helpdesk)
    yield task.engine("desk")
    task.store.close()


def test_greeting_and_a_match_with_buttons(desk):
    chat = Chat(desk)
    assert chat.greet()[0].startswith("Hello and welcome")
    assert chat.state["current"] == "start"
    assert chat.say("I have a problem with my account") == ["What seems to be the problem exactly?"]
    assert chat.replies[0]["quick_replies"][0] == "Forgot Password"
    assert chat.replies[0]["meta"]["state_data"]["verification"].startswith("did you mean")
    assert chat.trace["route"] == "match"
    top = chat.trace["candidates"][0]
    assert top["state"] == "further_details_access_question" and top["score"] == 1.0 and top["why"]
    assert chat.state["pending"]["kind"] == "buttons"
    # a click names the next state
    assert chat.say("Account locked")[0].startswith("If your account is locked")
    assert chat.trace["route"] == "button"
    # a state without action moves on to its success_value
    assert chat.trace["states"] == ["account_locked", "any_further"]
    assert chat.state["traversed"][-2:] == ["account_locked", "any_further"]
    json.dumps(chat.state)  # engine state is plain JSON


def test_email_form_action_success_and_templates(desk, helpdesk):
    chat = Chat(desk)
    chat.say("I forgot my password")
    assert chat.replies[0]["payload"] == {"type": "input_form", "fields": {"email": "email"}}
    assert chat.say("no idea")[0].startswith("That does not look like an e-mail address")
    assert chat.trace["route"] == "form_invalid" and chat.state["pending"]["attempts"] == 1
    replies = chat.say("ann@example.org")
    assert replies[0] == (
        "Thank you. An e-mail will be sent to this address: ann@example.org with your account "
        "details and the necessary steps for you to reset your password."
    )
    assert replies[1].startswith("Let me know if you have any other request")
    assert chat.state["data"]["email"] == "ann@example.org"
    assert chat.state["data"]["reset_sent_to"] == "ann@example.org"
    (action,) = chat.trace["actions"]
    assert action["action"] == "send_password_generation_link" and action["ok"] is True
    assert "unfilled" not in chat.trace  # %link% comes from the task's data
    outbox = desk.task.python_module.OUTBOX
    assert outbox[-1]["to"] == "ann@example.org"
    assert "https://support.example.com/reset-password" in outbox[-1]["body"]


def test_failing_action_takes_the_failure_value(desk):
    chat = Chat(desk)
    chat.say("reset my password")
    replies = chat.say("bob@bounce.example.com")
    assert replies[-1] == "You can talk with a human operator calling 800 000 000"
    assert chat.trace["actions"][0]["ok"] is False
    assert chat.trace["states"] == ["send_password_generation_link", "call_operator"]


def test_form_gives_up_after_attempts_and_can_be_abandoned(desk):
    chat = Chat(desk)
    chat.say("forgot password")
    chat.say("nope")
    assert chat.say("still nope") == ["I do not understand your input, please try again."]
    assert chat.state["pending"] is None
    chat.say("forgot password")
    # asking something else instead of answering leaves the form
    assert chat.say("I want to talk with an operator") == ["You can talk with a human operator calling 800 000 000"]
    assert chat.trace["form"]["abandoned"] is True


def test_knowledge_base_answers_when_no_state_matches(desk):
    chat = Chat(desk)
    assert chat.say("What are your opening hours?") == ["Our customer service is open Monday to Friday, 9:00 to 18:00."]
    assert chat.trace["route"] == "knowledge_base" and chat.trace["kb"]["id"] == "1"
    # an unverified answer is not given; the fallback state is
    assert chat.say("is there a mobile app") == ["I do not understand your input, please try again."]
    assert chat.trace["route"] == "fallback_state"
    # a decisiontable Q/A leads to its state
    assert chat.say("can I speak to a human") == ["You can talk with a human operator calling 800 000 000"]
    assert chat.trace["kb"]["state"] == "call_operator" and chat.state["current"] == "call_operator"


def test_max_state_count_per_conversation(desk):
    chat = Chat(desk)
    for _ in range(2):
        assert chat.say("my account is locked")[0].startswith("If your account is locked")
    chat.say("my account is locked")
    assert "account_locked" in chat.trace["exhausted"]
    assert chat.state["counts"]["account_locked"] == 2
    # another conversation has its own counts
    other = Chat(desk, conversation_id="c2")
    assert other.say("my account is locked")[0].startswith("If your account is locked")


def test_alternatives_are_chosen_per_conversation_and_reported(desk):
    chat = Chat(desk)
    chat.say("I have a problem with my account")
    text = chat.say("Specify your problem")[0]
    assert text in (
        "Please describe your problem in a few words, and I will do my best to help.",
        "Tell me a little more about the problem, please.",
    )
    assert chat.trace["alternatives"]["specify_problem"].endswith("of 2")


def test_an_edit_takes_effect_in_the_next_turn(desk):
    chat = Chat(desk)
    assert chat.say("my card is frozen")[0] == "I do not understand your input, please try again."
    desk.table.update(
        "account_locked", {"analyzer": 'bor(vOneKeyword("frozen"), vOneKeyword("locked"))', "bubble": "Call us."}
    )
    assert chat.say("my card is frozen")[0] == "Call us."
    assert chat.trace.get("table_revision") is None or chat.trace["table_revision"] == desk.table.revision


def test_return_value_to_a_missing_state_is_a_clear_error(desk):
    chat = Chat(desk)
    replies = chat.say("", data={"return_value": "no_such_state"})
    assert "no_such_state" in replies[0] and chat.trace["route"] == "not_found"
    out, state, trace = desk.respond(desk.initial_state(), return_value="no_such_state")
    assert out.status == "not_found" and "no_such_state" in out.error


def test_protocol_mode_returns_one_state_and_leaves_actions_to_the_client(desk):
    out, state, trace = desk.respond(desk.initial_state(), text="", return_value="forgot_password")
    (r,) = out.rendered
    assert (
        r.state == "forgot_password" and r.action == "input_form" and r.success_value == "send_password_generation_link"
    )
    out, state, trace = desk.respond(state, return_value="send_password_generation_link", data={"email": "a@b.com"})
    (r,) = out.rendered
    assert r.action_input["email"] == "a@b.com" and r.success_value == "any_further"
    assert "actions" not in trace  # the client runs send_password_generation_link
    out, state, _ = desk.respond(state, text="what is the colour of the sky")
    assert out.status == "ok" and out.rendered[-1].state == "dont_understand"


LOOP_TABLE = """
state,bubble,success_value,analyzer,max_state_count
ping,Ping,pong,"bor(vOneKeyword(""ping""))",0
pong,Pong,ping,,0
chain,One,chain2,"bor(vOneKeyword(""chain""))",0
chain2,Two,,,0
"""


def test_loops_of_automatic_transitions_are_stopped(tmp_path):
    task = open_task(write_task(tmp_path / "t", LOOP_TABLE, bot="start_state: null"))
    chat = Chat(task.engine("desk"))
    assert chat.greet() == []
    assert chat.say("ping") == ["Ping", "Pong"]
    assert chat.trace["loop"] == ["ping", "pong", "ping"]
    assert any("loop" in e for e in chat.trace["errors"])
    assert chat.say("chain") == ["One", "Two"] and "loop" not in chat.trace


def test_no_answer_is_honest_and_configurable(tmp_path):
    task = open_task(write_task(tmp_path / "t", LOOP_TABLE, bot='no_answer_text: "I have no answer to that."'))
    chat = Chat(task.engine("desk"))
    assert chat.say("tell me about dinosaurs") == ["I have no answer to that."]
    assert chat.trace["route"] == "no_answer" and chat.replies[0]["meta"]["no_answer"] is True


def test_unfilled_variables_are_removed_and_reported(tmp_path):
    table = """
    state,bubble,analyzer,action,action_input
    hi,"Hello %name%, your code is %code%.","bor(vOneKeyword(""hi""))",priv_show,"{""who"": ""%name%""}"
    """
    task = open_task(write_task(tmp_path / "t", table))
    chat = Chat(task.engine("desk"), data={"name": "Ann"})
    assert chat.say("hi") == ["Hello Ann, your code is."]
    assert chat.trace["unfilled"] == ["code"]
    # a client-side action travels in the payload for the client to run
    assert chat.replies[0]["payload"]["action"] == "priv_show"
    assert chat.replies[0]["payload"]["action_input"] == {"who": "Ann"}
    chat.state["data"]["code"] = {"not": "text"}
    chat.say("hi")
    assert chat.trace["route"] == "match" and "not text" in chat.trace["errors"][0]
    out, _, _ = task.engine("desk").respond({"data": {"code": [1]}}, text="hi")
    assert out.status == "template_error"


def test_match_pattern_regex_fills_data_and_evaluation_classes(tmp_path):
    table = """
    state,analyzer,bubble,evaluationClass
    email,"matchPatternRegex(""[email](\\S+@\\S+)"")",Noted %email%.,
    vip_hello,"bor(vOneKeyword(""hello""))",Welcome back.,vip
    hello,"bor(vOneKeyword(""hello""))",Hello.,default
    """
    task = open_task(write_task(tmp_path / "t", table))
    chat = Chat(task.engine("desk"))
    assert chat.say("mail me at zoe@example.com") == ["Noted zoe@example.com."]
    assert chat.state["data"]["email"] == "zoe@example.com"
    assert chat.say("hello") == ["Hello."]
    assert chat.say("hello", data={"evaluation_class": "vip"}) == ["Welcome back."]


def test_raising_actions_take_the_failure_branch(tmp_path):
    table = """
    state,bubble,analyzer,action,success_value,failure_value
    go,Going.,"bor(vOneKeyword(""go""))",explode,ok,bad
    ok,OK.,,,,
    bad,It failed.,,,,
    """
    worlds = """
    import workbench

    @workbench.action("explode")
    def explode(inputs):
        raise RuntimeError("boom")
    """
    task = open_task(write_task(tmp_path / "t", table, worlds=worlds))
    chat = Chat(task.engine("desk"))
    assert chat.say("go") == ["Going.", "It failed."]
    assert chat.trace["actions"][0]["error"] == "RuntimeError: boom"


async def test_fallback_bot_answers_when_nothing_else_does(tmp_path):
    root = write_task(tmp_path / "t", LOOP_TABLE, bot="fallback_bot: echo")
    text = (root / "task.yml").read_text().replace("worlds:", "  echo: {engine: echo, prefix: 'echo: '}\nworlds:")
    (root / "task.yml").write_text(text)
    task = open_task(root)
    engine = task.engine("desk")
    ctx = Context(conversation_id="c", bot="desk", task=task)
    pending = engine.step(engine.initial_state(), Message(text="dinosaurs"), ctx)
    turn = await pending
    assert [m.text for m in turn.replies] == ["echo: dinosaurs"]
    assert turn.trace["route"] == "fallback_bot" and turn.state["fallback_bot_state"] == {"turns": 1}
    turn = engine.step(turn.state, Message(text="ping"), ctx)
    assert [m.text for m in turn.replies] == ["Ping", "Pong"]


def test_reimport_note_reaches_the_trace(tmp_path):
    root = write_task(tmp_path / "t", LOOP_TABLE)
    task = open_task(root)
    chat = Chat(task.engine("desk"))
    chat.say("ping")
    assert "imported: 4 states" in chat.trace["notes"][0]
    chat.say("ping")
    assert "notes" not in chat.trace
    (root / "table.csv").write_text((root / "table.csv").read_text() + "extra,Extra,,,0\n")
    task.reset_engines()
    chat = Chat(task.engine("desk"))
    chat.say("ping")
    assert "re-imported" in chat.trace["notes"][0]
