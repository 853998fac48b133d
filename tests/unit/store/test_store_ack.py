"""The store: a turn's messages and engine state commit in one transaction before the reply
is delivered; nothing unacknowledged is sent; a conversation resumes in its world and state."""

from __future__ import annotations

import json
import sqlite3

import pytest
from support import Person, say

from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task

TASK = """
bots: {echo: {engine: echo, prefix: "E: "}}
worlds:
  overworld: {type: menu, text: Pick, options: {Echo: echo, Ask: asked}}
  echo: {type: bot_chat, bot: echo}
  asked: {type: bot_chat, bot: echo, onboarding: form}
  form: {type: onboarding, questions: [{key: name, text: "Name?"}]}
"""


@pytest.fixture
def task(task_dir):
    return load_task(task_dir(TASK))


def _rows(db_path) -> tuple[list[tuple[str, str]], dict[str, dict]]:
    """What another process would see: a second, independent connection to the file."""
    conn = sqlite3.connect(str(db_path))
    try:
        msgs = conn.execute("SELECT role, text FROM messages ORDER BY conversation_id, seq").fetchall()
        states = {bot: json.loads(st) for bot, st in conn.execute("SELECT bot, state FROM engine_state")}
    finally:
        conn.close()
    return msgs, states


async def test_turn_is_committed_before_its_reply_is_delivered(task, tmp_path) -> None:
    db = tmp_path / "wb.db"
    store = open_store(db)
    runner = Runner(task, store)
    seen: list[tuple[str, list, dict]] = []

    async def deliver(msg) -> None:
        # at the moment of delivery, the message is already in the file for anyone to read
        msgs, states = _rows(db)
        seen.append((msg.text, msgs, states))

    session = await runner.connect(deliver)
    try:
        assert await runner.wait_idle(timeout=5)
        for text in ("Echo", "one", "two"):
            session.put(text)
            assert await runner.wait_idle(timeout=5)
        assert [t for t, _, _ in seen] == ["Pick", "E: one", "E: two"]
        for text, msgs, _ in seen:
            assert ("world", text) in msgs or ("bot", text) in msgs, (text, msgs)
        # the person's message and the bot's reply, and the state after that turn, together
        _, msgs, states = seen[1]
        assert msgs[-2:] == [("human", "one"), ("bot", "E: one")]
        assert states == {"echo": {"turns": 1}}
        _, msgs, states = seen[2]
        assert msgs[-2:] == [("human", "two"), ("bot", "E: two")]
        assert states == {"echo": {"turns": 2}}
    finally:
        await runner.stop(wait=2)
        store.close()


async def test_a_turn_whose_commit_fails_is_neither_stored_nor_sent(task, tmp_path) -> None:
    """One transaction: when writing the state fails, the turn's messages roll back too; the
    turn fails for its person, who is told, and the conversation goes on from the stored state."""
    from workbench.runtime.runner import TURN_FAILED_TEXT

    db = tmp_path / "wb.db"
    store = open_store(db)
    # a real SQLite failure in the middle of the turn's transaction (the state write), set up
    # through a connection of its own, as another process would
    with sqlite3.connect(str(db)) as other:
        other.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON engine_state "
            "WHEN json_extract(NEW.state, '$.turns') = 2 BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )
    other.close()
    runner = Runner(task, store)
    p = Person()
    p.session = await runner.connect(p.deliver)
    try:
        assert await runner.wait_idle(timeout=5)
        await say(runner, p, "Echo")
        assert await say(runner, p, "one") == ["E: one"]
        assert await say(runner, p, "two") == [TURN_FAILED_TEXT]
        assert not p.session.closed
        msgs, states = _rows(db)
        assert ("human", "two") not in msgs and ("bot", "E: two") not in msgs
        assert ("human", "one") in msgs and ("bot", "E: one") in msgs
        assert states == {"echo": {"turns": 1}}
        # sequence numbers stay dense after the rollback
        seqs = [r["seq"] for r in store.messages(p.session.conversation_id)]
        assert seqs == list(range(1, len(seqs) + 1))
        # the bot goes on from the stored state, not from the turn that failed
        store.conn.execute("DROP TRIGGER refuse")
        assert await say(runner, p, "three") == ["E: three"]
        assert _rows(db)[1] == {"echo": {"turns": 2}}
    finally:
        await runner.stop(wait=2)
        store.close()


async def test_resume_continues_in_the_world_with_the_engine_state(task, tmp_path) -> None:
    db = tmp_path / "wb.db"
    store = open_store(db)
    runner = Runner(task, store)
    p = Person()
    p.session = await runner.connect(p.deliver, person="ada")
    assert await runner.wait_idle(timeout=5)
    await say(runner, p, "Echo")
    await say(runner, p, "one")
    await say(runner, p, "two")
    cid = p.session.conversation_id
    await runner.stop(wait=2)
    store.close()
    assert open_store(db).conversation(cid)["world"] == "echo"

    store = open_store(db)
    runner = Runner(task, store)
    try:
        q = Person()
        q.session = await runner.connect(q.deliver, conversation_id=cid, resume=True)
        assert await runner.wait_idle(timeout=5)
        assert q.session.person == "ada"
        assert q.session.world == "echo"
        assert q.received == []  # no menu again: the conversation goes on where it was
        assert await say(runner, q, "three") == ["E: three"]
        assert store.state(cid, "echo") == {"turns": 3}
        rows = store.messages(cid)
        assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
        assert [r["text"] for r in rows if r["role"] == "human"] == ["Echo", "one", "two", "three"]
        assert store.conversation(cid)["status"] == "active"
    finally:
        await runner.stop(wait=2)
        store.close()


async def test_resume_from_onboarding_starts_over_but_keeps_the_answers(task, tmp_path) -> None:
    db = tmp_path / "wb.db"
    store = open_store(db)
    runner = Runner(task, store)
    p = Person()
    p.session = await runner.connect(p.deliver)
    assert await runner.wait_idle(timeout=5)
    assert await say(runner, p, "Ask") == ["Name?"]
    cid = p.session.conversation_id
    await runner.stop(wait=2)
    store.close()

    store = open_store(db)
    runner = Runner(task, store)
    try:
        q = Person()
        q.session = await runner.connect(q.deliver, conversation_id=cid, resume=True)
        assert await runner.wait_idle(timeout=5)
        assert q.session.world == "overworld"
        assert q.texts == ["Pick"]
    finally:
        await runner.stop(wait=2)
        store.close()


async def test_resume_of_an_unknown_conversation_is_a_clear_error(task, tmp_path) -> None:
    store = open_store(tmp_path / "wb.db")
    runner = Runner(task, store)
    try:
        with pytest.raises(LookupError, match="no conversation 'nope'"):
            await runner.connect(None, conversation_id="nope", resume=True)
    finally:
        await runner.stop()
        store.close()


def test_store_file_is_in_wal_mode(tmp_path) -> None:
    """Readers (an export, another process) never wait for the writer."""
    store = open_store(tmp_path / "wb.db")
    store.close()
    with sqlite3.connect(str(tmp_path / "wb.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # kept in the file
    conn.close()


def test_store_lists_conversations_newest_first(tmp_path) -> None:
    store = open_store(tmp_path / "wb.db")
    a = store.new_conversation("t", "ada")
    b = store.new_conversation("t", "bob")
    store.update_conversation(a, world="w")
    assert [c["id"] for c in store.conversations()] == [a, b]
    assert store.latest_conversation(person="bob")["id"] == b
    assert store.conversations()[0]["n_messages"] == 0
    store.close()
