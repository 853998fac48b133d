"""A `workbench serve` killed with SIGKILL mid-conversation loses no acknowledged message,
and every conversation resumes after the restart (hello with its session id)."""

from __future__ import annotations

import asyncio
import sqlite3

import websockets
from support import write_task
from support.servers import connect

ECHO = """
name: echo
bots:
  echo: {engine: echo}
worlds:
  echo: {type: bot_chat, bot: echo}
serve:
  rate_limit: 0
"""


async def talk(url: str, n: int, acked: list[str], sessions: list[str], stop: asyncio.Event) -> None:
    """Send one message after another; a message is acknowledged once its echo came back."""
    try:
        async with connect(url) as c:
            sid = (await c.hello())["session"]
            sessions.append(sid)
            i = 0
            while not stop.is_set():
                text = f"{sid} message {i}"
                await c.send({"text": text})
                await c.text(text, timeout=10)
                acked.append(text)
                i += 1
    except (TimeoutError, websockets.ConnectionClosed, OSError, AssertionError):
        pass  # the server was killed under us


def stored(db, sid: str) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT role, text FROM messages WHERE conversation_id = ? ORDER BY seq", (sid,)).fetchall()


async def test_sigkill_loses_no_acknowledged_message_and_conversations_resume(serve_process, tmp_path) -> None:
    task = write_task(tmp_path / "echo", ECHO)
    server = serve_process(task)
    acked: list[str] = []
    sessions: list[str] = []
    stop = asyncio.Event()
    talkers = [asyncio.ensure_future(talk(server.ws_url, i, acked, sessions, stop)) for i in range(8)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while len(acked) < 200 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert len(acked) >= 50, f"only {len(acked)} messages acknowledged before the kill"
    server.kill()  # SIGKILL, mid-conversation: the talkers were sending when it hit
    await asyncio.wait(talkers, timeout=15)
    stop.set()
    assert len(sessions) == 8

    # every acknowledged message, and the reply that acknowledged it, is in the store
    db = task / "data" / "workbench.db"
    for sid in sessions:
        rows = stored(db, sid)
        mine = [t for t in acked if t.startswith(sid)]
        humans = [t for role, t in rows if role == "human"]
        bots = [t for role, t in rows if role == "bot"]
        assert humans[: len(mine)] == mine
        assert bots[: len(mine)] == mine

    # after the restart each conversation resumes where it was, with its history
    server.start()
    for sid in sessions:
        async with connect(server.ws_url) as c:
            reply = await c.hello(sid, history=1000)
            assert reply["resumed"] is True
            # the history comes right after the hello, so before the answer to a new message
            await c.say("after the restart", "after the restart")
            history = [f["text"] for f in c.frames if f.get("history") and f["role"] == "human"]
            mine = [t for t in acked if t.startswith(sid)]
            assert history[: len(mine)] == mine
    assert stored(db, sessions[0])[-1] == ("bot", "after the restart")
