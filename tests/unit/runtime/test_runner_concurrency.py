"""The Runner under load: max_workers bounds concurrent task worlds; idle conversations cost no thread."""

from __future__ import annotations

import threading

import pytest
from support import Person, wait_for

from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task

BUSY = "All our workers are busy; you will be connected shortly."

TASK = """
name: workers
max_workers: 2
worlds:
  overworld:
    type: menu
    text: Pick
    options: {sync: counted_sync, async: counted_async}
  counted_sync: {type: python, world: CountedSync}
  counted_async: {type: python, world: CountedAsync}
"""

WORLDS = '''
import threading

from workbench.runtime.worlds import World

LOCK = threading.Lock()
COUNT = {"now": 0, "max": 0, "served": 0}


def _enter():
    with LOCK:
        COUNT["now"] += 1
        COUNT["served"] += 1
        COUNT["max"] = max(COUNT["max"], COUNT["now"])


def _leave():
    with LOCK:
        COUNT["now"] -= 1


class CountedSync(World):
    """Stays in its world until the person speaks once (a thread while it runs)."""

    def parley(self):
        _enter()
        try:
            self.agent.observe({"id": "W", "text": "in"})
            self.agent.act()
        finally:
            _leave()
        self.episodeDone = True


class CountedAsync(World):
    async def parley(self):
        _enter()
        try:
            await self.agent.observe({"id": "W", "text": "in"})
            await self.agent.act()
        finally:
            _leave()
        self.episodeDone = True
'''


@pytest.mark.parametrize("choice", ["sync", "async"])
async def test_max_workers_bounds_concurrent_task_worlds(task_dir, tmp_path, choice) -> None:
    task = load_task(task_dir(TASK, WORLDS))
    count = task.python_module.COUNT
    store = open_store(tmp_path / "wb.db")
    runner = Runner(task, store)
    people = [Person(f"p{i}") for i in range(4)]
    try:
        for p in people:
            p.session = await runner.connect(p.deliver, person=p.name)
        assert await runner.wait_idle(timeout=5)
        for p in people:
            p.put(choice)
        await wait_for(lambda: sum("in" in p.texts for p in people) == 2, what="two task worlds")
        await wait_for(lambda: sum(BUSY in p.texts for p in people) == 2, what="two people told to wait")
        inside = [p for p in people if "in" in p.texts]
        waiting = [p for p in people if p not in inside]
        # two task worlds run; the two people waiting for a slot run none
        assert runner.running_worlds == 2

        # one world ends: exactly one waiting person gets its slot, the other still waits
        inside[0].put("bye")
        await wait_for(lambda: sum("in" in p.texts for p in waiting) == 1, what="a freed slot to be used")
        # nobody got in while both slots were held: three served so far, never more than two at once
        assert count["served"] == 3 and count["max"] == 2
        for p in people:
            if "in" in p.texts and p.texts[-1] == "in":
                p.put("bye")
        await wait_for(lambda: count["served"] == 4, what="all four to be served")
        for p in people:
            if p.texts[-1] == "in":
                p.put("bye")
        await wait_for(lambda: count["now"] == 0 and all(p.texts[-1] == "Pick" for p in people), what="everyone back")
        assert count["max"] == 2
        # only the four menus (the start world) run now
        assert runner.running_worlds == 4
    finally:
        await runner.stop(wait=2)
        store.close()


async def test_a_person_who_leaves_while_waiting_for_a_slot_stops_waiting(task_dir, tmp_path) -> None:
    task = load_task(task_dir(TASK.replace("max_workers: 2", "max_workers: 1"), WORLDS))
    count = task.python_module.COUNT
    store = open_store(tmp_path / "wb.db")
    runner = Runner(task, store)
    holder, waiter, later = Person("holder"), Person("waiter"), Person("later")
    try:
        for p in (holder, waiter):
            p.session = await runner.connect(p.deliver, person=p.name)
        assert await runner.wait_idle(timeout=5)
        holder.put("async")
        await wait_for(lambda: "in" in holder.texts, what="the holder's task world")
        waiter.put("async")
        await wait_for(lambda: BUSY in waiter.texts, what="the waiter told to wait")
        ended = []
        runner.subscribe(lambda ev: ended.append(ev.session) if ev.kind == "session_end" else None)
        waiter.session.close()
        # the waiter's conversation ends now, not when the holder frees the slot
        await wait_for(lambda: waiter.session in ended, what="the waiter's conversation to end")
        assert store.conversation(waiter.session.conversation_id)["status"] == "ended"
        # and it took no slot: the next person gets the freed one
        later.session = await runner.connect(later.deliver, person=later.name)
        assert await runner.wait_idle(timeout=5)
        later.put("async")
        await wait_for(lambda: BUSY in later.texts, what="the newcomer told to wait")
        holder.put("bye")
        await wait_for(lambda: "in" in later.texts, what="the newcomer served")
        assert count["max"] == 1
    finally:
        await runner.stop(wait=2)
        store.close()


async def test_a_thousand_idle_conversations_add_no_threads(task_dir, tmp_path) -> None:
    # the bot world is the start world, which holds no max_workers slot (a task world
    # would: max_workers bounds task worlds, idle or not, as in ParlAI)
    task = load_task(
        task_dir("bots: {echo: {engine: echo, greeting: Hi}}\nworlds: {echo: {type: bot_chat, bot: echo}}\n")
    )
    store = open_store(tmp_path / "wb.db")
    runner = Runner(task, store)
    try:
        first = Person("first")
        first.session = await runner.connect(first.deliver, person="first")
        assert await runner.wait_idle(timeout=5)
        before = threading.active_count()

        people = [Person(f"p{i}") for i in range(1000)]
        for p in people:
            p.session = await runner.connect(p.deliver, person=p.name)
        assert await runner.wait_idle(timeout=60)
        assert threading.active_count() <= before
        assert all(p.texts == ["Hi"] for p in people)

        # every one of them is live: each gets an answer, and then waits again
        for i, p in enumerate(people):
            p.put(f"hi {i}")
        assert await runner.wait_idle(timeout=60)
        assert all(p.texts == ["Hi", f"hi {i}"] for i, p in enumerate(people))
        assert threading.active_count() <= before
        assert len(runner.sessions) == 1001
        assert store.state(people[-1].session.conversation_id, "echo") == {"turns": 1}
    finally:
        await runner.stop(wait=10)
        store.close()
