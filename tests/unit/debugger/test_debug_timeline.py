"""A stored conversation as a timeline of turns (workbench/runtime/timeline.py), forks from a
turn (runtime/fork.py), and a conversation cut at a turn as a conversation test
(testing/from_conversation.py) that passes when run."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import Person, copy_sample, say

from workbench.runtime.fork import fork_conversation
from workbench.runtime.runner import Runner
from workbench.runtime.timeline import build_timeline, load_timeline, state_changes
from workbench.store import open_store
from workbench.task import load_task
from workbench.testing.conversation import load_file, run_test
from workbench.testing.from_conversation import conversation_test, save_test, steps_of


@pytest.fixture
async def helpdesk_chat(tmp_path: Path):
    """A helpdesk conversation of three turns, a hand edit in the second; (task, store, cid)."""
    task = load_task(copy_sample("helpdesk", tmp_path))
    store = open_store(tmp_path / "t.db")
    task.use_store(store)
    runner = Runner(task, store)
    ann = Person("ann")
    ann.session = await runner.connect(ann.deliver, person="ann")
    assert await runner.wait_idle(timeout=10)
    cid = ann.session.conversation_id
    await say(runner, ann, "I have a problem with my account")
    state = runner.bot_state(cid, "desk")
    await runner.set_bot_state(cid, "desk", {**state, "data": {**state["data"], "tier": "gold"}})
    await say(runner, ann, "Account locked")
    await say(runner, ann, "bye")
    await runner.stop()
    yield task, store, cid
    store.close()


async def test_turns_hold_their_messages_states_traces_and_changes(helpdesk_chat) -> None:
    _, store, cid = helpdesk_chat
    tl = load_timeline(store, cid)
    assert tl.numbers == [0, 1, 2, 3] and tl.complete
    opening, first, second, third = tl.turns
    assert opening.said is None and opening.summary().startswith("opening: Hello and welcome")
    assert opening.bots["desk"].state["current"] == "start"
    assert (
        first.said == "I have a problem with my account" and first.summary() == "you: I have a problem with my account"
    )
    desk = first.bots["desk"]
    assert desk.state["current"] == "further_details_access_question" and desk.trace["route"] == "match"
    assert {c.path for c in desk.changes} >= {"current", "turns", "pending"}
    assert any(c.describe() == "current: start → further_details_access_question" for c in desk.changes)
    # the hand edit came after turn 1's messages: turn 1 ends with it
    assert desk.by_hand and desk.state["data"] == {"tier": "gold"}
    assert not second.bots["desk"].by_hand and second.bots["desk"].trace["route"] == "button"
    assert [r["act"]["text"] for r in second.replies()][0].startswith("If your account is locked")
    assert third.bots["desk"].state["current"] == "goodbye_question"
    assert [m["seq"] for m in tl.transcript(1)] == [1, 2, 3]
    with pytest.raises(LookupError, match="has no turn 9"):
        tl.turn(9)


def test_a_conversation_from_before_state_history_has_its_state_at_the_end() -> None:
    rows = [
        {"seq": 1, "role": "bot", "agent": "b", "act": {"text": "hi"}, "trace": {"t": 0}, "world": "w"},
        {"seq": 2, "role": "human", "agent": "ann", "act": {"text": "yo"}, "trace": None, "world": "w"},
        {"seq": 3, "role": "bot", "agent": "b", "act": {"text": "ok"}, "trace": {"t": 1}, "world": "w"},
    ]
    tl = build_timeline({"id": "c", "person": "ann"}, rows, [], {"b": {"n": 1}})
    assert not tl.complete and tl.numbers == [0, 1]
    assert tl.turn(0).bots["b"].state is None and tl.turn(1).bots["b"].state == {"n": 1}
    assert tl.turn(1).bots["b"].trace == {"t": 1}


def test_state_changes_go_key_by_key() -> None:
    changes = state_changes(
        {"a": 1, "d": {"x": 1, "y": [1]}, "gone": 2}, {"a": 1, "d": {"x": 2, "y": [1, 2]}, "new": 3}
    )
    assert [(c.path, c.kind) for c in changes] == [
        ("d.x", "changed"),
        ("d.y", "changed"),
        ("gone", "removed"),
        ("new", "added"),
    ]
    assert state_changes(None, {"a": 1})[0].kind == "added" and state_changes({"a": 1}, {"a": 1}) == []


async def test_a_fork_starts_from_the_turn_with_its_state_restored(helpdesk_chat) -> None:
    task, store, cid = helpdesk_chat
    new = fork_conversation(store, cid, 1)
    conv = store.conversation(new)
    assert conv["meta"]["forked_from"] == {"conversation": cid, "turn": 1, "seq": 3}
    assert [r["text"] for r in store.messages(new)] == [r["text"] for r in store.messages(cid)[:3]]
    assert store.state(new, "desk")["pending"]["kind"] == "buttons"
    assert store.state(new, "desk")["data"] == {"tier": "gold"}
    assert [h.source for h in store.state_history(new)] == ["fork"]
    # resumed, the fork takes another path from the buttons the original was offered
    runner = Runner(task, store)
    bob = Person("ann")
    bob.session = await runner.connect(bob.deliver, conversation_id=new, resume=True)
    try:
        assert await say(runner, bob, "Forgot Password") == [
            "We can reset your password by sending you a message to your registered e-mail address. Please type your email address:"
        ]
    finally:
        await runner.stop()
    assert store.messages(cid)[3]["text"] == "Account locked"  # the original is untouched
    with pytest.raises(LookupError):
        fork_conversation(store, cid, 42)


async def test_a_stored_conversation_becomes_a_test_that_passes(helpdesk_chat, tmp_path: Path) -> None:
    task, store, cid = helpdesk_chat
    tl = load_timeline(store, cid)
    steps = steps_of(tl, 2)
    assert steps[0] == ("bot", tl.turn(0).replies()[0]["act"]["text"])
    assert ("user", "I have a problem with my account") in steps and ("click", "Account locked") in steps
    assert ("user", "bye") not in steps
    assert steps_of(tl)[-2:] == [("user", "bye"), ("bot", "Would you mind rating this conversation so my developers know if they're doing a good job?")]  # fmt: skip
    path = save_test(tmp_path / "saved" / "upto2.yml", conversation_test(tl, 2))
    (test,) = load_file(path)
    assert test.name == f"conversation {cid} up to turn 2"
    result = await run_test(task, test, store_dir=tmp_path)
    assert result.ok, result.failure
    # and it can fail: a bot that says something else now
    (test,) = load_file(save_test(tmp_path / "saved" / "all.yml", conversation_test(tl, name="whole")))
    table = task.path("decision_table.csv")
    table.write_text(table.read_text().replace("Would you mind rating this conversation", "Rate"), encoding="utf-8")
    result = await run_test(task, test, store_dir=tmp_path)
    assert not result.ok and "Would you mind rating" in result.failure
