"""Breakpoints on live conversations (workbench/runtime/debugger.py), through the real runner:
a matching turn is held before anything of it is stored or sent, the person's messages wait,
a hand edit is taken, and continuing answers from the state as it now is."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from support import FRAGILE_TASK, FRAGILE_WORLDS, Person, copy_sample, wait_for, write_task

from workbench.runtime.debugger import Breakpoint, Breakpoints
from workbench.runtime.runner import TURN_FAILED_TEXT, Runner
from workbench.store import open_store
from workbench.task import load_task


class Events:
    """The runner's events, and a bounded wait for the next one of a kind."""

    def __init__(self, runner: Runner) -> None:
        self.seen: list[Any] = []
        runner.subscribe(self.seen.append)

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.seen if e.kind == kind]

    async def wait(self, kind: str, count: int = 1, timeout: float = 10.0) -> Any:
        await wait_for(lambda: len(self.of(kind)) >= count, timeout, what=f"{count} {kind} event(s)")
        return self.of(kind)[count - 1]


@pytest.fixture
async def live(tmp_path: Path):
    """``await live(sample)``: a runner over a copy of a sample task, a person connected."""
    made: list[tuple[Runner, Any]] = []

    async def start(sample: str | Path) -> tuple[Runner, Person, Events]:
        root = sample if isinstance(sample, Path) else copy_sample(sample, tmp_path)
        task = load_task(root)
        store = open_store(tmp_path / f"debug{len(made)}.db")
        task.use_store(store)
        runner = Runner(task, store)
        made.append((runner, store))
        events = Events(runner)
        person = Person("ann")
        person.session = await runner.connect(person.deliver, person="ann")
        assert await runner.wait_idle(timeout=10)
        return runner, person, events

    yield start
    for runner, store in made:
        await runner.stop(wait=2)
        store.close()


async def test_a_state_breakpoint_holds_the_turn_and_continues_from_a_hand_edit(live) -> None:
    runner, ann, events = await live("helpdesk")
    cid = ann.session.conversation_id
    runner.breakpoints.add(Breakpoint("state", "account_locked"))
    stored_before = len(runner.store.messages(cid))
    ann.put("my account is locked")
    paused = await events.wait("paused")
    assert paused.fields["bot"] == "desk" and paused.fields["reasons"] == ["entered account_locked"]
    assert paused.fields["trace"]["states"] == ["account_locked", "any_further"]  # what the turn would do
    assert cid in runner.breakpoints.paused
    # nothing of the turn is stored or sent; what the person sends meanwhile waits
    ann.put("hello?")
    await asyncio.sleep(0)
    assert len(runner.store.messages(cid)) == stored_before and len(ann.received) == 1
    # a hand edit: account_locked has been visited twice (its max_state_count), so it is out
    state = runner.bot_state(cid, "desk")
    await runner.set_bot_state(cid, "desk", {**state, "counts": {"account_locked": 2}})
    assert runner.breakpoints.resume(cid)
    await events.wait("resumed")
    assert events.of("resumed")[0].fields["edited"] is True
    assert await runner.wait_idle(timeout=10)
    # the answer comes from the edited state, then the message sent during the pause is answered
    assert ann.texts[1] == "What seems to be the problem exactly?"
    assert ann.texts[2] == "I do not understand your input, please try again."
    said = [(r["role"], r["text"]) for r in runner.store.messages(cid)[stored_before:]]
    assert said == [
        ("human", "my account is locked"),
        ("bot", "What seems to be the problem exactly?"),
        ("human", "hello?"),
        ("bot", "I do not understand your input, please try again."),
    ]
    assert [h.source for h in runner.store.state_history(cid, "desk")] == ["turn", "hand", "turn", "turn"]
    assert runner.breakpoints.paused == {}


async def test_continuing_without_an_edit_sends_the_held_turn_as_it_was(live) -> None:
    runner, ann, events = await live("helpdesk")
    cid = ann.session.conversation_id
    runner.breakpoints.add(Breakpoint("state", "account_locked", bot="desk", conversation=cid))
    ann.put("my account is locked")
    await events.wait("paused")
    runner.breakpoints.resume(cid)
    await wait_for(lambda: len(ann.received) >= 3, what="the held replies")
    assert ann.texts[1].startswith("If your account is locked")
    assert events.of("resumed")[0].fields["edited"] is False


async def test_stepping_holds_every_next_turn_until_continued(live) -> None:
    runner, ann, events = await live("helpdesk")
    cid = ann.session.conversation_id
    runner.breakpoints.step_mode(cid)
    ann.put("bye")
    first = await events.wait("paused")
    assert first.fields["reasons"] == ["stepping one turn at a time"]
    runner.breakpoints.resume(cid, step=True)
    await wait_for(lambda: len(ann.received) >= 2, what="the first answer")
    ann.put("Excellent")
    await events.wait("paused", 2)
    runner.breakpoints.resume(cid)  # continue: no more stepping
    await wait_for(lambda: "Great! See you soon!" in ann.texts, what="the second answer")
    ann.put("bye")
    await wait_for(lambda: ann.texts.count("Would you mind rating this conversation so my developers know if they're doing a good job?") == 2, what="an unheld answer")  # fmt: skip
    assert len(events.of("paused")) == 2 and not runner.breakpoints.stepping(cid)


async def test_a_fallback_breakpoint_and_one_for_another_conversation(live) -> None:
    runner, ann, events = await live("helpdesk")
    runner.breakpoints.add(Breakpoint("fallback", conversation="someone-else"))
    ann.put("is there a mobile app")
    assert await runner.wait_idle(timeout=10)
    assert events.of("paused") == []  # not this conversation's breakpoint
    runner.breakpoints.add(Breakpoint("fallback", bot="desk"))
    ann.put("is there a mobile app")
    paused = await events.wait("paused")
    assert paused.fields["reasons"] == ["nothing matched: a fallback"]
    runner.breakpoints.resume(ann.session.conversation_id)
    assert await runner.wait_idle(timeout=10)


async def test_an_engine_error_pauses_then_fails_only_that_turn(live, tmp_path: Path) -> None:
    root = write_task(tmp_path / "boom", FRAGILE_TASK, FRAGILE_WORLDS)
    runner, ann, events = await live(root)
    runner.breakpoints.add(Breakpoint("error"))
    ann.put("boom")
    paused = await events.wait("paused")
    assert paused.fields["error"].startswith("RuntimeError: the fragile bot broke")
    assert paused.fields["state"] is None
    runner.breakpoints.resume(ann.session.conversation_id)
    # stepped again from the same state, it fails again: that turn fails as it always does
    await wait_for(lambda: TURN_FAILED_TEXT in ann.texts, what="the failed-turn notice")
    ann.put("hello")
    await wait_for(lambda: "fine" in ann.texts, what="the next answer")


async def test_slot_breakpoints_on_a_form_bot(live) -> None:
    runner, ann, events = await live("restaurant")
    cid = ann.session.conversation_id
    runner.breakpoints.add(Breakpoint("slot_set", "cuisine"))
    runner.breakpoints.add(Breakpoint("state", "restaurant"))
    ann.put("I'm looking for a restaurant")
    paused = await events.wait("paused")
    assert paused.fields["reasons"] == ["entered restaurant"]
    runner.breakpoints.resume(cid)
    await wait_for(lambda: "What price range?" in ann.texts, what="the first question")
    ann.put("low")
    await wait_for(lambda: "What kind of cuisine would you like?" in ann.texts, what="the second question")
    ann.put("italian please")
    paused = await events.wait("paused", 2)
    assert paused.fields["reasons"] == ["set slot cuisine"]
    # cleared by hand while held: the form asks for it again
    engine = runner.task.engine("booking")
    await runner.set_bot_state(cid, "booking", engine.clear_slot(runner.bot_state(cid, "booking"), "price"))
    runner.breakpoints.resume(cid)
    await wait_for(lambda: ann.texts.count("What price range?") == 2, what="price asked again")


async def test_a_person_who_leaves_ends_the_pause_and_their_message_is_kept(live) -> None:
    runner, ann, events = await live("helpdesk")
    cid = ann.session.conversation_id
    runner.breakpoints.add(Breakpoint("state"))
    ann.put("my account is locked")
    await events.wait("paused")
    await runner.disconnect(ann.session, wait=5)
    assert runner.breakpoints.paused == {}
    assert "my account is locked" in [r["text"] for r in runner.store.messages(cid)]


def test_breakpoints_say_what_they_wait_for() -> None:
    with pytest.raises(ValueError, match="unknown breakpoint kind 'nope'"):
        Breakpoint("nope")
    with pytest.raises(ValueError, match="a fallback breakpoint takes no name"):
        Breakpoint("fallback", "x")
    assert Breakpoint("state", "start", bot="desk").describe() == "state start entered (bot desk)"
    points = Breakpoints()
    bp = points.add(Breakpoint("slot_cleared"))
    points.add(Breakpoint("slot_cleared"))
    assert points.points == [bp] and points.armed("c", "any")
    assert points.remove(bp) and not points.remove(bp) and not points.armed("c", "any")
    assert points.resume("c") is False
