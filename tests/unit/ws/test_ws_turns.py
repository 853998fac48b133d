"""A turn that cannot be completed fails for its person only (issue 8 item 2, the runtime's
side): a bot raising on a message, or a commit failing, ends that turn; the conversation and
the world go on, in async and synchronous (ParlAI-style) worlds alike, and a person whose
turns keep failing is taken out in bounded time. Real SQLite files, no sockets."""

from __future__ import annotations

import sqlite3

import pytest
from support import Person, wait_for, write_task

from workbench.runtime.runner import MAX_FAILED_TURNS, TOO_MANY_FAILED_TEXT, TURN_FAILED_TEXT, Runner
from workbench.store import open_store
from workbench.task import load_task

FRAGILE_YML = """
name: fragile
bots:
  fragile: {engine: python, name: Fragile}
worlds:
  talk: {type: bot_chat, bot: fragile}
  parrot: {type: python, world: Parrot}
"""

FRAGILE_PY = """
from workbench import bot
from workbench.runtime.worlds import World


@bot("Fragile")
class Fragile:
    def observe(self, msg):
        self.text = msg["text"]

    def act(self):
        if self.text == "boom":
            raise RuntimeError("the fragile bot broke")
        return {"text": "fine: " + self.text}


class Parrot(World):
    '''ParlAI style: a blocking parley in a worker thread.'''

    def parley(self):
        said = self.agent.act()
        if said is None:
            self.episodeDone = True
            return None
        self.agent.observe({"id": "Parrot", "text": "you said " + said["text"]})
"""


@pytest.fixture
async def world(tmp_path):
    task = load_task(write_task(tmp_path / "fragile", FRAGILE_YML, FRAGILE_PY))
    db = tmp_path / "wb.db"
    store = open_store(db)
    runner = Runner(task, store)
    events: list = []
    runner.subscribe(events.append)

    async def join(world: str) -> Person:
        p = Person()
        p.session = await runner.connect(p.deliver, world=world)
        assert await runner.wait_idle(timeout=5)
        return p

    yield runner, store, db, join, events
    await runner.stop(wait=2)
    store.close()


async def say(runner: Runner, p: Person, text: str) -> list[str]:
    before = len(p.received)
    p.put(text)
    assert await runner.wait_idle(timeout=5), f"no answer to {text!r}"
    return p.texts[before:]


async def test_a_bot_that_raises_fails_only_that_turn(world) -> None:
    runner, store, _, join, events = world
    p = await join("talk")
    assert await say(runner, p, "hi") == ["fine: hi"]
    assert await say(runner, p, "boom") == [TURN_FAILED_TEXT]
    assert await say(runner, p, "again") == ["fine: again"]
    assert not p.session.closed
    [error] = [e for e in events if e.kind == "error"]
    assert "the fragile bot broke" in error.fields["error"] and error.session is p.session
    # the message the bot failed on is kept (the transcript shows what broke it)
    assert "boom" in [m["text"] for m in store.messages(p.session.conversation_id)]


async def test_a_failed_commit_in_a_synchronous_world_fails_only_that_turn(world) -> None:
    runner, store, db, join, _ = world
    p = await join("parrot")
    assert await say(runner, p, "one") == ["you said one"]
    with sqlite3.connect(db) as other:
        other.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.text LIKE '%POISON%' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
        )
    assert await say(runner, p, "POISON") == [TURN_FAILED_TEXT]
    assert await say(runner, p, "two") == ["you said two"]
    texts = [m["text"] for m in store.messages(p.session.conversation_id)]
    assert "POISON" not in texts and texts[-2:] == ["two", "you said two"]


async def test_a_person_whose_turns_keep_failing_is_taken_out(world) -> None:
    runner, _, _, join, _ = world
    p = await join("talk")
    for _ in range(MAX_FAILED_TURNS - 1):
        assert await say(runner, p, "boom") == [TURN_FAILED_TEXT]
    p.put("boom")
    await wait_for(lambda: p.session.closed, what="the person to be taken out")
    assert p.texts[-1] == TOO_MANY_FAILED_TEXT


async def test_a_message_too_deep_for_the_runtime_is_refused_not_raised(world) -> None:
    runner, _, _, join, _ = world
    p = await join("talk")
    deep: dict = {}
    node = deep
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    p.put({"text": "deep", "payload": deep})
    await wait_for(lambda: any("refused" in t for t in p.texts), what="the refusal")
    assert await say(runner, p, "fine?") == ["fine: fine?"]
