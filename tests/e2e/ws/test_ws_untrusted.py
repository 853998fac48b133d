"""What a person sends over the websocket is data, checked at the edge, and one person's bad
message ends at most their own turn: attachments that name a path or a non-https URL are
refused, surrogates are made valid, deep JSON gets an error frame (no traceback), and in a
two-person human_chat a message whose commit fails never ends the partner's conversation.

Issue 8, items 1, 2 and 3 (websocket side), against a real server on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import sqlite3

from support import write_task
from support.servers import connect

from workbench.runtime.runner import TURN_FAILED_TEXT
from workbench.services.websocket_frames import SERVER_FRAMES

PAIR = """
name: pair
start: overworld
bots:
  echo: {engine: echo}
worlds:
  overworld:
    type: menu
    text: Pick one
    options: {Echo: echo, Pair: pair}
  echo: {type: bot_chat, bot: echo}
  pair: {type: human_chat, agents_required: 2}
"""

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360f8cfc0f01f0005000201a5f1bd9b0000000049454e44ae426082"
    )
).decode()


def documented(frame: dict) -> bool:
    """Whether ``frame`` is one of the server frames docs/serve.md describes."""
    for model in SERVER_FRAMES:
        try:
            model.model_validate(frame)
        except ValueError:
            continue
        return True
    return False


def error_code(frame: dict) -> str:
    assert set(frame["error"]) == {"code", "message"} and frame["text"] == frame["error"]["message"]
    return frame["error"]["code"]


async def paired(server, a, b) -> tuple[str, str]:
    """Both people in the pair world; their conversation ids."""
    ids = []
    for c in (a, b):
        ids.append((await c.hello())["session"])
        await c.text("Pick one")
    await a.say("Pair", "Waiting")
    await b.say("Pair", "chatting with")
    await a.text("chatting with")
    return ids[0], ids[1]


async def test_an_attachment_naming_a_file_or_a_non_https_url_is_refused_and_never_relayed(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "pair", PAIR))
    async with connect(server.ws_url) as a, connect(server.ws_url) as b:
        await paired(server, a, b)
        for payload in (
            {"type": "file", "path": "/proc/self/environ"},
            {"type": "file", "path": "../../etc/passwd", "mime_type": "text/plain"},
            {"type": "image", "url": "file:///etc/passwd"},
            {"type": "image", "url": "http://169.254.169.254/latest/meta-data/"},
            {"type": "image", "url": "/etc/passwd"},
            {"type": "file", "data": "aGk=", "mime_type": "text/plain", "name": "../../.env"},
            {"type": "file", "data": "aGk=", "mime_type": "text/plain", "filename": "x"},
            {"type": "image", "data": PNG, "mime_type": "image/png", "url": "https://example.org/a.png"},
            {"type": "template", "payload": {"template_type": "generic"}},
        ):
            await a.send({"text": "", "payload": payload})
            refused = await a.until(lambda f: "error" in f, what=f"an error frame for {payload}")
            assert error_code(refused) == "invalid_field"
        # the connection keeps working, and the partner only ever sees checked, normalised payloads
        await a.send({"text": "a picture", "payload": {"type": "image", "data": PNG, "mime_type": "IMAGE/PNG"}})
        got = await b.until(lambda f: "payload" in f, what="the relayed image")
        assert got["payload"] == {"type": "image", "data": PNG, "mime_type": "image/png"}
        link = {"type": "file", "url": "https://example.org/report.pdf", "name": "report.pdf"}
        await a.send({"text": "", "payload": link})
        got = await b.until(lambda f: f.get("payload", {}).get("type") == "file", what="the relayed link")
        assert got["payload"] == link
        relayed = [f.get("payload") for f in b.frames if f.get("payload")]
        assert all("path" not in p and "filename" not in p for p in relayed), relayed
        # every frame either of them received is one the docs describe
        assert [f for f in a.frames + b.frames if not documented(f)] == []


async def test_a_lone_surrogate_is_made_valid_and_both_conversations_go_on(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "pair", PAIR))
    async with connect(server.ws_url) as a, connect(server.ws_url) as b:
        ida, idb = await paired(server, a, b)
        await a.send('{"text": "x\\ud800y"}')  # JSON's escape for an unpaired surrogate
        got = await b.until(lambda f: f.get("id") != "System" and "y" in f["text"], what="the relayed text")
        assert got["text"] == "x\ufffdy"
        await b.send({"text": "still here?"})
        await a.text("still here?")
        await a.send({"text": "yes"})
        await b.text("yes")
    stored = [m["text"] for m in server.store.messages(ida)]
    assert "x\ufffdy" in stored


async def test_a_message_whose_commit_fails_ends_only_that_turn(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "pair", PAIR))
    async with connect(server.ws_url) as a, connect(server.ws_url) as b:
        ida, idb = await paired(server, a, b)
        # a real SQLite failure for one message (another connection adds the trigger)
        with sqlite3.connect(server.db) as db:
            db.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.text LIKE '%POISON%' "
                "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
        await a.send({"text": "POISON pill"})
        told = await a.text(TURN_FAILED_TEXT)
        assert told["id"] == "System"
        # the partner never got it, and both conversations go on
        await b.send({"text": "hello after the failure"})
        await a.text("hello after the failure")
        await a.send({"text": "all good"})
        await b.text("all good")
        assert not any("POISON" in f["text"] for f in b.frames)

        # a relay that cannot be stored in the partner's conversation: the sender hears it, both go on
        with sqlite3.connect(server.db) as db:
            db.execute(
                "CREATE TRIGGER relay_poison BEFORE INSERT ON messages WHEN NEW.text LIKE '%BITTER%' "
                f"AND NEW.conversation_id = '{idb}' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
        await a.send({"text": "BITTER pill"})
        await a.text("could not be delivered")
        await b.send({"text": "still chatting"})
        await a.text("still chatting")
    assert server.store.conversation(idb)["status"] != "failed"
    assert [m["text"] for m in server.store.messages(ida) if "POISON" in m["text"]] == []
    assert any(m["text"] == "BITTER pill" for m in server.store.messages(ida))


async def test_deep_json_gets_an_error_frame_and_no_traceback(serve, tmp_path, caplog) -> None:
    server = await serve(write_task(tmp_path / "pair", PAIR), settings={"rate_limit": 0, "max_strikes": 100})
    caplog.set_level(logging.DEBUG)
    deep = "[" * 30_000 + "]" * 30_000
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.text("Pick one")
        for _ in range(20):
            await c.send(deep)
            assert error_code(await c.until(lambda f: "error" in f)) == "invalid_json"
        await c.send('{"text": ' + "[" * 40 + "]" * 40 + "}")
        assert "nested" in (await c.until(lambda f: "error" in f))["text"]
        await c.send({"text": "Echo"})  # the connection still works
        await c.say("after the flood", "after the flood")
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
    # refused frames are counted for one summary line, never logged one by one
    assert len([r for r in caplog.records if r.name.startswith("workbench.services")]) <= 1
