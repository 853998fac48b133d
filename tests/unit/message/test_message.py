"""Message: ParlAI's keys, and unknown keys surviving JSON, the store and the runtime."""

from __future__ import annotations

import json

import pytest
from support import Person, say

from workbench.message import Message
from workbench.runtime.runner import Runner
from workbench.store import Commit, Record, open_store
from workbench.task import load_task

FULL = {
    "text": "Pick one",
    "id": "Overworld",
    "episode_done": False,
    "quick_replies": ["echo", "chat"],
    "payload": {"type": "image", "url": "https://example.invalid/cat.png"},
    "data": {"name": "Ada"},
    "meta": {"lang": "en"},
    # not a key workbench knows: must survive untouched
    "task_data": {"nested": [1, 2, {"deep": None}]},
    "reward": 0.5,
}


def test_parlai_keys_are_readable() -> None:
    msg = Message(FULL)
    assert msg.text == "Pick one"
    assert msg["id"] == "Overworld"
    assert msg.quick_replies == ["echo", "chat"]
    assert msg.episode_done is False
    assert Message(text="bye", episode_done=True).episode_done is True
    # a message without text reads as empty text, not None
    assert Message().text == ""


def test_unknown_keys_survive_a_json_round_trip() -> None:
    msg = Message(FULL)
    back = Message.from_json(msg.to_json())
    assert back == FULL
    assert back["task_data"] == {"nested": [1, 2, {"deep": None}]}
    assert json.loads(msg.to_json()) == FULL
    clone = msg.copy()
    assert clone == msg and clone.uid != msg.uid


def test_from_json_refuses_what_is_not_an_object() -> None:
    with pytest.raises(ValueError):
        Message.from_json("[1, 2]")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("hi", {"text": "hi"}), (None, {"text": ""}), ({"text": "x", "zz": 1}, {"text": "x", "zz": 1})],
)
def test_coerce(value, expected) -> None:
    assert Message.coerce(value) == expected
    with pytest.raises(TypeError):
        Message.coerce(42)  # type: ignore[arg-type]


def test_unknown_keys_survive_a_store_round_trip(tmp_path) -> None:
    store = open_store(tmp_path / "wb.db")
    cid = store.new_conversation("t", "ada")
    store.commit(Commit(records={cid: [Record(Message(FULL), world="w", agent="ada", role="human")]}))
    store.close()

    reopened = open_store(tmp_path / "wb.db")
    rows = reopened.messages(cid)
    assert [r["act"] for r in rows] == [FULL]
    assert rows[0]["text"] == "Pick one" and rows[0]["world"] == "w" and rows[0]["role"] == "human"
    reopened.close()


async def test_unknown_keys_survive_the_runtime(task_dir, tmp_path) -> None:
    """A person's act with extra keys is stored whole; the echo bot passes payloads on."""
    root = task_dir(
        """
        bots: {echo: {engine: echo}}
        worlds: {chat: {type: bot_chat, bot: echo}}
        """
    )
    task = load_task(root)
    store = open_store(tmp_path / "wb.db")
    runner = Runner(task, store)
    p = Person()
    p.session = await runner.connect(p.deliver)
    try:
        sent = {"text": "look", "payload": {"type": "image", "url": "u"}, "custom": {"a": [1]}}
        assert await say(runner, p, sent) == ["look"]
        reply = p.received[-1]
        assert reply["payload"] == {"type": "image", "url": "u"}
        human = [r for r in store.messages(p.session.conversation_id) if r["role"] == "human"]
        assert human[0]["act"]["custom"] == {"a": [1]}
        assert human[0]["act"]["payload"] == {"type": "image", "url": "u"}
    finally:
        await runner.stop()
        store.close()
