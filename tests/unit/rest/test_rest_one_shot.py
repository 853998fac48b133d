"""Runner.one_shot: a turn without a live connection takes the runtime's one path
(safety rules, events, group commit, stored engine state), with a real SQLite store."""

from __future__ import annotations

import asyncio

import pytest
from support import write_task

from workbench.message import Message
from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task

ECHO = """\
name: echo
bots:
  echo: {engine: echo}
worlds:
  echo: {type: bot_chat, bot: echo}
safety:
  incoming: {card_number: mask, email: block, phone: warn}
"""


@pytest.fixture
def runner(tmp_path):
    task = load_task(write_task(tmp_path / "echo", ECHO))
    store = open_store(tmp_path / "wb.db")
    task.use_store(store)
    yield Runner(task, store)
    store.close()


async def test_a_turn_is_committed_with_its_reply_and_state(runner):
    events = []
    runner.subscribe(events.append)
    turn = await runner.one_shot(Message(text="hello"), person="ann", channel="api", bot="echo", world="w")
    assert turn.new and turn.received.text == "hello" and [r.text for r in turn.replies] == ["hello"]
    again = await runner.one_shot(Message(text="again"), person="ann", channel="api", bot="echo", world="w")
    assert not again.new and again.conversation_id == turn.conversation_id
    rows = runner.store.messages(turn.conversation_id)
    assert [(m["role"], m["text"], m["world"]) for m in rows] == [
        ("human", "hello", "w"),
        ("bot", "hello", "w"),
        ("human", "again", "w"),
        ("bot", "again", "w"),
    ]
    assert runner.store.state(turn.conversation_id, "echo") == again.state
    assert [e.kind for e in events].count("session_start") == 1
    assert [e.kind for e in events].count("acknowledged") == 2 and [e.kind for e in events].count("state") == 2
    # another channel is another conversation
    other = await runner.one_shot(Message(text="hi"), person="ann", channel="other", bot="echo")
    assert other.new and other.conversation_id != turn.conversation_id


async def test_the_safety_rules_apply_before_the_bot(runner):
    masked = await runner.one_shot(Message(text="card 4111 1111 1111 1111"), person="b", channel="api", bot="echo")
    assert masked.received.text == "card [card number]" and masked.replies[0].text == "card [card number]"
    warned = await runner.one_shot(Message(text="call +1 555 123 4567"), person="b", channel="api", bot="echo")
    assert warned.received is not None and "phone number" in warned.notices[0]
    blocked = await runner.one_shot(Message(text="mail ann@example.org"), person="b", channel="api", bot="echo")
    assert blocked.received is None and blocked.replies == [] and "e-mail" in blocked.notices[0]
    texts = [m["text"] for m in runner.store.messages(masked.conversation_id)]
    assert not any("example.org" in t for t in texts) and not any("4111" in t for t in texts)


async def test_turns_of_one_person_run_in_order(runner):
    turns = await asyncio.gather(
        *(runner.one_shot(Message(text=f"m{i}"), person="c", channel="api", bot="echo") for i in range(20))
    )
    rows = runner.store.messages(turns[0].conversation_id)
    assert [m["text"] for m in rows] == [t for i in range(20) for t in (f"m{i}", f"m{i}")]
    assert len({t.conversation_id for t in turns}) == 1
