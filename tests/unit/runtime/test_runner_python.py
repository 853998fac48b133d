"""Python worlds and bots from a task's worlds.py: sync (ParlAI, in threads) and async worlds,
boteval- and ParlAI-style bots, and bot state kept across a restart by get_state/set_state."""

from __future__ import annotations

import threading

import pytest
from support import Person, say, wait_for

from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task

TASK = """
name: py
bots:
  hearer: {engine: python, name: hearer, args: {start: 10}}
  actor: {engine: python, name: actor}
  plain: {engine: python, name: plain}
worlds:
  overworld:
    type: menu
    text: Pick
    options: {sync: sync_echo, async: async_echo, hear: hear, act: act, plain: plain, relay: relay, gated: gated}
  sync_echo: {type: python, world: sync_echo, timeout: 0.3}
  async_echo: {type: python, world: AsyncEcho, timeout: 0.3}
  hear: {type: bot_chat, bot: hearer}
  act: {type: bot_chat, bot: actor}
  plain: {type: bot_chat, bot: plain}
  relay: {type: python, world: relay, bots: [actor]}
  gated: {type: python, world: gated}
"""

WORLDS = '''
import threading

from workbench import bot, world
from workbench.runtime.worlds import World

THREADS = []


@world("sync_echo")
class SyncEcho(World):
    """ParlAI style: a synchronous parley() around a blocking act()."""

    def parley(self):
        THREADS.append(("sync", threading.current_thread().name))
        a = self.agent.act()
        if a is None or a["text"] == "[DONE]":
            self.episodeDone = True
            return
        self.agent.observe({"id": "Sync", "text": "sync: " + a["text"]})


class AsyncEcho(World):
    """Not registered: found by its class name in worlds.py."""

    async def parley(self):
        THREADS.append(("async", threading.current_thread().name))
        a = await self.agent.act()
        if a is None or a["text"] == "[DONE]":
            self.episodeDone = True
            return
        await self.agent.observe({"id": "Async", "text": "async: " + a["text"]})


@world("relay")
class Relay(World):
    """A ParlAI-style world that hands the person's message to a bot and back."""

    def parley(self):
        a = self.agent.act()
        if a is None or a["text"] == "[DONE]":
            self.episodeDone = True
            return
        bot = self.bots["actor"]
        bot.observe(a)
        self.agent.observe(bot.act())


@world("gated")
class Gated(World):
    @staticmethod
    def eligibility_function(agent):
        return agent.data.get("vip", False)

    def parley(self):
        self.episodeDone = True


@bot("hearer")
class Hearer:
    """boteval style, with its state kept by the runtime."""

    def __init__(self, start=0):
        self.n = start
        self.heard = None

    def hear(self, msg):
        self.heard = msg["text"]

    def talk(self):
        self.n += 1
        return {"text": f"{self.n}: {self.heard}"}

    def get_state(self):
        return {"n": self.n}

    def set_state(self, state):
        self.n = state["n"]


@bot("actor")
class Actor:
    """ParlAI style with an async act() that answers with two messages."""

    def __init__(self):
        self.n = 0
        self.seen = None

    def observe(self, msg):
        self.seen = msg["text"]

    async def act(self):
        self.n += 1
        return [{"text": f"#{self.n}"}, {"text": self.seen.upper(), "quick_replies": ["more"]}]

    def get_state(self):
        return {"n": self.n}

    def set_state(self, state):
        self.n = state["n"]


@bot("plain")
class Plain:
    """No get_state: only the turn count is stored."""

    def __init__(self):
        self.n = 0

    def observe(self, msg):
        pass

    def act(self):
        self.n += 1
        return {"text": f"plain {self.n}"}
'''


@pytest.fixture
def root(task_dir):
    return task_dir(TASK, WORLDS)


async def _open(root, db):
    task = load_task(root)
    store = open_store(db)
    return task, store, Runner(task, store)


async def _join(runner, name="you") -> Person:
    p = Person(name)
    p.session = await runner.connect(p.deliver, person=name)
    assert await runner.wait_idle(timeout=5)
    return p


async def test_sync_world_runs_in_a_worker_thread_and_async_world_on_the_loop(root, tmp_path) -> None:
    task, store, runner = await _open(root, tmp_path / "wb.db")
    try:
        p = await _join(runner)
        await say(runner, p, "sync")
        assert await say(runner, p, "one") == ["sync: one"]
        assert await say(runner, p, "[DONE]") == ["Pick"]
        await say(runner, p, "async")
        assert await say(runner, p, "two") == ["async: two"]
        threads = task.python_module.THREADS
        sync_threads = {name for kind, name in threads if kind == "sync"}
        async_threads = {name for kind, name in threads if kind == "async"}
        assert sync_threads and all(n.startswith("world") for n in sync_threads), sync_threads
        assert async_threads == {threading.main_thread().name}
    finally:
        await runner.stop(wait=2)
        store.close()


@pytest.mark.parametrize("choice", ["sync", "async"])
async def test_python_world_timeout_tells_the_person_and_returns_to_the_menu(root, tmp_path, choice) -> None:
    task, store, runner = await _open(root, tmp_path / "wb.db")
    try:
        p = await _join(runner)
        await say(runner, p, choice)
        await wait_for(lambda: "This conversation timed out." in p.texts, timeout=5, what="the world timeout")
        await wait_for(lambda: p.texts[-1] == "Pick", what="the menu again")
        assert p.session.world == "overworld" and not p.session.closed
    finally:
        await runner.stop(wait=2)
        store.close()


@pytest.mark.parametrize(
    ("choice", "bot", "first", "second", "resumed"),
    [
        ("hear", "hearer", ["11: a"], ["12: b"], ["13: c"]),
        ("act", "actor", ["#1", "A"], ["#2", "B"], ["#3", "C"]),
    ],
    ids=["boteval-hear-talk", "parlai-observe-act"],
)
async def test_python_bot_state_persists_across_a_restart(root, tmp_path, choice, bot, first, second, resumed) -> None:
    db = tmp_path / "wb.db"
    task, store, runner = await _open(root, db)
    p = await _join(runner)
    await say(runner, p, choice)
    assert await say(runner, p, "a") == first
    assert await say(runner, p, "b") == second
    n = int(second[0].strip("#").split(":")[0])
    assert store.state(p.session.conversation_id, bot) == {"turns": 2, "bot_state": {"n": n}}
    cid = p.session.conversation_id
    await runner.stop(wait=2)
    store.close()

    # a new process, in effect: the task (and so the bot instances) loaded afresh
    task, store, runner = await _open(root, db)
    try:
        q = Person("you")
        q.session = await runner.connect(q.deliver, conversation_id=cid, resume=True)
        assert await runner.wait_idle(timeout=5)
        assert q.session.world == choice
        assert await say(runner, q, "c") == resumed
        assert store.state(cid, bot) == {"turns": 3, "bot_state": {"n": n + 1}}
        # the trace (on the first reply of a turn) names the engine and the style
        trace = [r for r in store.messages(cid) if r["role"] == "bot" and r["trace"]][-1]["trace"]
        assert trace["engine"] == "python" and trace["style"] == ("boteval" if choice == "hear" else "parlai")
    finally:
        await runner.stop(wait=2)
        store.close()


async def test_bot_without_get_state_starts_afresh_after_a_restart(root, tmp_path) -> None:
    db = tmp_path / "wb.db"
    task, store, runner = await _open(root, db)
    p = await _join(runner)
    await say(runner, p, "plain")
    assert await say(runner, p, "x") == ["plain 1"]
    assert await say(runner, p, "y") == ["plain 2"]
    cid = p.session.conversation_id
    assert store.state(cid, "plain") == {"turns": 2}
    await runner.stop(wait=2)
    store.close()

    task, store, runner = await _open(root, db)
    try:
        q = Person()
        q.session = await runner.connect(q.deliver, conversation_id=cid, resume=True)
        assert await runner.wait_idle(timeout=5)
        assert await say(runner, q, "z") == ["plain 1"]
        assert store.state(cid, "plain") == {"turns": 3}
    finally:
        await runner.stop(wait=2)
        store.close()


async def test_sync_world_drives_a_bot_through_observe_and_act(root, tmp_path) -> None:
    task, store, runner = await _open(root, tmp_path / "wb.db")
    try:
        p = await _join(runner)
        await say(runner, p, "relay")
        # a bot's several replies reach a ParlAI-style world as one act
        assert await say(runner, p, "hey") == ["#1\nHEY"]
        assert p.received[-1].quick_replies == ["more"]
        cid = p.session.conversation_id
        assert store.state(cid, "actor") == {"turns": 1, "bot_state": {"n": 1}}
        texts = [r["text"] for r in store.messages(cid)]
        # each bot reply is stored once; the joined act is not stored again
        assert texts == ["Pick", "relay", "hey", "#1", "HEY"]
    finally:
        await runner.stop(wait=2)
        store.close()


async def test_eligibility_function_keeps_a_person_out(root, tmp_path) -> None:
    task, store, runner = await _open(root, tmp_path / "wb.db")
    try:
        p = await _join(runner)
        assert await say(runner, p, "gated") == ["Sorry, you are not eligible for gated.", "Pick"]
        assert p.session.world == "overworld"
    finally:
        await runner.stop(wait=2)
        store.close()
