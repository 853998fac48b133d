"""A task's safety rules over a real websocket: what people send and receive is masked, warned
about or blocked before the bot or the store sees it; /report flags the conversation."""

from __future__ import annotations

import sqlite3

from support import SAFE_TASK, write_task
from support.servers import connect


async def test_rules_apply_to_what_people_send_and_receive(serve, tmp_path) -> None:
    task = write_task(tmp_path / "safe", SAFE_TASK, files={"blocklist.txt": "# words\nheck*\n"})
    server = await serve(task)
    async with connect(server.ws_url) as c:
        sid = (await c.hello())["session"]
        await c.text("Hello.")
        # mask: the bot (and the store) only ever see the masked text
        await c.say("call me on +1 (555) 123-4567, darn it", "call me on [phone number], **** it")
        # block: nothing reaches the bot; the person is told why
        await c.send({"text": "my card: 4111 1111 1111 1111"})
        note = await c.text("was not sent")
        assert "a card number" in note["text"] and note["id"] == "System"
        await c.send({"text": "SSN 123-45-6789 and heckin 5555 5555 5555 4444"})
        await c.text("was not sent")
        # warn: the message goes through (the outgoing rule then masks the bot's echo of it)
        await c.send({"text": "mail me at jo@example.com"})
        await c.text("Please do not share it here")
        await c.text("mail me at [e-mail]")
        assert not any("4111" in f["text"] or "5555" in f["text"] for f in c.frames)
    rows = (
        sqlite3.connect(server.db)
        .execute("SELECT role, text, act FROM messages WHERE conversation_id = ?", (sid,))
        .fetchall()
    )
    stored = " ".join(t or "" for _, t, _ in rows)
    assert "555) 123" not in stored and "4111" not in stored and "123-45-6789" not in stored
    assert "call me on [phone number], **** it" in stored
    # the person's warned message is stored as sent, flagged; the bot's reply as the bot said it
    assert "jo@example.com" in stored
    assert any('"safety"' in act for role, _, act in rows if role == "human")


async def test_report_flags_the_conversation_for_review(serve, tmp_path) -> None:
    task = write_task(tmp_path / "safe", SAFE_TASK, files={"blocklist.txt": ""})
    server = await serve(task)
    async with connect(server.ws_url) as c:
        sid = (await c.hello())["session"]
        await c.text("Hello.")
        await c.say("/report the bot repeats everything", "flagged for review")
        await c.say("still works", "still works")
    meta = server.store.conversation(sid)["meta"]
    assert meta["flagged"] is True
    assert meta["reports"][0]["reason"] == "the bot repeats everything" and meta["reports"][0]["world"] == "echo"
    humans = [m["text"] for m in server.store.messages(sid) if m["role"] == "human"]
    assert "/report the bot repeats everything" not in humans  # a command, not a message to the bot
