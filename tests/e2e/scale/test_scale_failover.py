"""Failover with real processes: PostgreSQL and three `workbench serve` instances of one task; 300
websocket conversations spread over them; one instance is SIGKILLed mid-load. Every client whose
instance died reconnects to another one and resumes its conversation with a ``hello``.

Afterwards: every acknowledged message is in the store, every conversation continued where it
was (its messages in order, none missing, none twice, the bot's engine state counting every
turn across instances), and no turn was answered twice."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import websockets
from support import write_task

from workbench.store import open_store

TASK = """
name: failover
bots:
  echo: {engine: echo, prefix: "echo: "}
worlds:
  talk: {type: bot_chat, bot: echo}
serve:
  rate_limit: 0
  max_detached_per_client: 1000
"""

CONVERSATIONS = 300
MESSAGES = 6
INSTANCES = 3
#: the whole load, kill and recovery must finish within this
DEADLINE = 45.0
#: one reply (or a reconnect) within this, else the client counts its instance as gone
REPLY_WAIT = 8.0


@dataclass
class Conversation:
    number: int
    home: int
    session: str | None = None
    #: messages whose answer the client saw (live, or in the history after a resume)
    acknowledged: list[str] = field(default_factory=list)
    resumed_on: list[int] = field(default_factory=list)


class Load:
    """The clients: each conversation says MESSAGES lines, one after the other, and survives its
    instance's death by resuming on the next live one."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.dead: set[int] = set()
        self.answered = 0
        self.reached = asyncio.Event()

    def url(self, instance: int) -> str:
        return f"ws://127.0.0.1:{self.ports[instance]}/websocket"

    async def run(self, conv: Conversation, deadline: float) -> None:
        instance = conv.home
        while len(conv.acknowledged) < MESSAGES:
            if time.monotonic() > deadline:
                raise AssertionError(f"conversation {conv.number} did not finish in time: {conv}")
            try:
                async with websockets.connect(self.url(instance), open_timeout=5, close_timeout=1) as ws:
                    await self._talk(ws, conv)
            except (OSError, websockets.ConnectionClosed, TimeoutError):
                pass  # the instance is gone (or going): the next live one takes over
            if len(conv.acknowledged) < MESSAGES:
                instance = self._next_live(instance)
                conv.resumed_on.append(instance)

    def _next_live(self, instance: int) -> int:
        for step in range(1, len(self.ports) + 1):
            candidate = (instance + step) % len(self.ports)
            if candidate not in self.dead:
                return candidate
        raise AssertionError("no instance left")

    async def _talk(self, ws, conv: Conversation) -> None:
        resuming = conv.session is not None
        if resuming:
            # the last two stored messages come back after the hello reply; a second hello's
            # reply marks their end (frames are handled in order)
            await ws.send(json.dumps({"hello": {"session": conv.session, "history": 2}}))
            await ws.send(json.dumps({"hello": {"session": conv.session}}))
        else:
            await ws.send(json.dumps({"hello": {}}))
        reply = await self._frame(ws)
        assert "session" in reply, reply
        if resuming:
            assert reply["session"] == conv.session and reply["resumed"] is True, reply
            history = []
            while "session" not in (frame := await self._frame(ws)):
                history.append(frame)
            # was the line in flight answered (and stored) before the instance died?
            pending = f"c{conv.number} m{len(conv.acknowledged) + 1}"
            if any(f.get("role") == "bot" and f.get("text") == f"echo: {pending}" for f in history):
                conv.acknowledged.append(pending)
        conv.session = reply["session"]
        while len(conv.acknowledged) < MESSAGES:
            text = f"c{conv.number} m{len(conv.acknowledged) + 1}"
            await ws.send(json.dumps({"text": text}))
            frame = await self._frame(ws)
            assert frame.get("text") == f"echo: {text}", f"conversation {conv.number} got {frame} for {text!r}"
            conv.acknowledged.append(text)
            self.answered += 1
            if self.answered >= CONVERSATIONS * MESSAGES // 3:
                self.reached.set()

    @staticmethod
    async def _frame(ws) -> dict:
        return json.loads(await asyncio.wait_for(ws.recv(), REPLY_WAIT))


@pytest.mark.slow
async def test_scale_three_instances_survive_one_killed(
    tmp_path: Path, pg_url: str, monkeypatch, serve_process
) -> None:
    task = write_task(tmp_path / "failover", TASK)
    monkeypatch.setenv("WORKBENCH_STORE_URL", pg_url)
    servers = await asyncio.gather(*(asyncio.to_thread(serve_process, task) for _ in range(INSTANCES)))
    load = Load([s.port for s in servers])
    deadline = time.monotonic() + DEADLINE
    conversations = [Conversation(n, n % INSTANCES) for n in range(CONVERSATIONS)]
    clients = [asyncio.ensure_future(load.run(c, deadline)) for c in conversations]

    # mid-load: a third of every line answered, then instance 0 dies without a word
    await asyncio.wait_for(load.reached.wait(), DEADLINE)
    victim = servers[0]
    load.dead.add(0)
    victim.kill()
    done, pending = await asyncio.wait(clients, timeout=max(1.0, deadline - time.monotonic()))
    for task_ in pending:
        task_.cancel()
    failures = [t.exception() for t in done if t.exception() is not None]
    assert not pending and not failures, f"{len(pending)} clients stuck, failures: {failures[:3]}"

    # the killed instance's unfinished conversations went on elsewhere; the others never moved
    moved = [c for c in conversations if c.resumed_on]
    assert len(moved) >= CONVERSATIONS // (2 * INSTANCES), f"only {len(moved)} conversations were cut off"
    assert all(c.home == 0 and 0 not in c.resumed_on for c in moved)
    assert all(c.acknowledged == [f"c{c.number} m{i}" for i in range(1, MESSAGES + 1)] for c in conversations)

    store = open_store(pg_url)
    try:
        for conv in conversations:
            rows = store.messages(conv.session)
            said = [r["text"] for r in rows if r["role"] == "human"]
            answers = [r["text"] for r in rows if r["role"] == "bot"]
            # every acknowledged line once, in order; each answered once, right after it
            assert said == conv.acknowledged, (conv.number, said)
            assert answers == [f"echo: {t}" for t in said], (conv.number, answers)
            assert [r["role"] for r in rows] == ["human", "bot"] * MESSAGES
            assert [r["seq"] for r in rows] == list(range(1, 2 * MESSAGES + 1))
            # the bot's state went on across instances: it counted every turn, not only the last instance's
            assert store.state(conv.session, "echo") == {"turns": MESSAGES}
    finally:
        store.close()
    for server in servers[1:]:
        assert server.proc.poll() is None, server.output()[-2000:]
