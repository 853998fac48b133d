"""The scale-out commands as a person runs them: `workbench store copy` between SQLite and
PostgreSQL with its progress, `workbench store info`, a task whose task.yml holds a database
password (refused), and `workbench serve --workers 2` (two processes on one port, one store)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from support import copy_sample, write_task
from support.cli import run_cli
from support.servers import connect

from workbench.message import Message
from workbench.store import Commit, Record, open_store


def _fill(path: Path) -> str:
    store = open_store(path)
    try:
        cid = store.new_conversation("echo", "ann", channel="websocket", world="echo")
        for n in range(3):
            store.commit(
                Commit(
                    records={cid: [Record(Message(text=f"m{n}")), Record(Message(text=f"re m{n}"), role="bot")]},
                    states=[(cid, "echo", {"turns": n + 1})],
                )
            )
        store.documents("knowledge_base:desk").write([("q1", {"question": "hours?"})])
        return cid
    finally:
        store.close()


def test_scale_store_copy_moves_a_task_to_postgres_and_back(tmp_path: Path, pg_url: str) -> None:
    task = copy_sample("echo", tmp_path)
    cid = _fill(task / "data" / "workbench.db")

    there = run_cli("store", "copy", str(task), pg_url)
    assert there.returncode == 0, there.stderr
    assert "copied 13 rows (1 conversations, 6 messages)" in there.stdout
    assert "messages" in there.stdout  # the progress names each table

    info = run_cli("store", "info", pg_url)
    assert info.returncode == 0 and "schema version 3" in info.stdout
    assert any(line.split() == ["messages", "6"] for line in info.stdout.splitlines())

    # the destination must be empty: nothing is merged
    again = run_cli("store", "copy", str(task), pg_url)
    assert again.returncode == 2 and "not empty" in again.stderr

    back = tmp_path / "back.db"
    home = run_cli("store", "copy", pg_url, str(back))
    assert home.returncode == 0, home.stderr
    copied = open_store(back)
    try:
        assert [m["text"] for m in copied.messages(cid)] == ["m0", "re m0", "m1", "re m1", "m2", "re m2"]
        assert copied.state(cid, "echo") == {"turns": 3}
        assert [(h.seq, h.state) for h in copied.state_history(cid)] == [
            (2, {"turns": 1}),
            (4, {"turns": 2}),
            (6, {"turns": 3}),
        ]
        assert copied.documents("knowledge_base:desk").revision() == 1
    finally:
        copied.close()

    missing = run_cli("store", "copy", str(tmp_path / "nothing.db"), str(tmp_path / "x.db"))
    assert missing.returncode == 2 and "no such store" in missing.stderr


def test_scale_a_password_in_task_yml_is_refused_with_its_line(tmp_path: Path) -> None:
    task = write_task(
        tmp_path / "t",
        """
        name: t
        storage: postgresql://bot:hunter2@db.example/workbench
        bots: {echo: {engine: echo}}
        worlds: {talk: {type: bot_chat, bot: echo}}
        """,
    )
    result = run_cli("validate", str(task))
    assert result.returncode == 2
    assert "task.yml:3" in result.stderr and "WORKBENCH_STORE_PASSWORD" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


async def test_scale_serve_workers_share_one_port_and_one_store(tmp_path: Path, serve_process) -> None:
    task = write_task(
        tmp_path / "w",
        """
        name: w
        bots: {echo: {engine: echo}}
        worlds: {talk: {type: bot_chat, bot: echo}}
        serve: {rate_limit: 0}
        """,
    )
    server = await asyncio.to_thread(serve_process, task, None, ("--workers", "2"))
    pids: set[int] = set()
    for _ in range(40):  # a new connection each time: the kernel spreads them over the workers
        async with httpx.AsyncClient(timeout=5) as client:
            pids.add((await client.get(f"{server.http_url}/health")).json()["pid"])
        if len(pids) == 2:
            break
    assert len(pids) == 2 and server.proc.pid not in pids

    # one conversation, resumed over and over on whichever worker the kernel picks
    async with connect(server.ws_url) as ws:
        session = (await ws.hello())["session"]
        await ws.say("line 0", "line 0")
    for n in range(1, 8):
        async with connect(server.ws_url) as ws:
            reply = await ws.hello(session)
            assert reply["resumed"] is True
            await ws.say(f"line {n}", f"line {n}")
    store = open_store(task / "data" / "workbench.db")
    try:
        assert [m["text"] for m in store.messages(session) if m["role"] == "human"] == [f"line {n}" for n in range(8)]
        assert store.state(session, "echo") == {"turns": 8}
    finally:
        store.close()

    assert await asyncio.to_thread(server.terminate, 30, signal.SIGTERM) == 0
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            await client.get(f"{server.http_url}/health")
            raise AssertionError("a worker still answers after the supervisor stopped")
        except httpx.ConnectError:
            pass


def test_scale_index_sync_and_check_on_a_search_server(tmp_path: Path, pg_url: str, osmem, monkeypatch) -> None:
    from support.search_servers import prefix

    monkeypatch.setenv("WORKBENCH_STORE_URL", pg_url)
    task = copy_sample("helpdesk", tmp_path)
    yml = task / "task.yml"
    yml.write_text(
        yml.read_text(encoding="utf-8") + f"index:\n  opensearch: {{url: '{osmem.url}', index_prefix: {prefix()}}}\n",
        encoding="utf-8",
    )
    built = run_cli("index", "sync", str(task))
    assert built.returncode == 0, built.stderr
    assert "2 collection(s) rebuilt in the server index" in built.stdout
    assert "decision_table:desk" in built.stdout and "knowledge_base:desk" in built.stdout

    checked = run_cli("index", "check", str(task))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "cluster status: yellow" in checked.stdout or "cluster status: green" in checked.stdout
    assert checked.stdout.count(" ok") == 2

    # a Q/A written to the store behind the index's back: check says so, sync mends it
    store = open_store(pg_url)
    try:
        store.documents("knowledge_base:desk").write(
            [("extra", {"id": "extra", "question": "Extra?", "answer": "yes"})]
        )
    finally:
        store.close()
    stale = run_cli("index", "check", str(task))
    assert stale.returncode == 1 and "OUT OF STEP" in stale.stdout and "index sync" in stale.stdout
    assert run_cli("index", "sync", str(task), "--bot", "desk").returncode == 0
    assert run_cli("index", "check", str(task)).returncode == 0

    unknown = run_cli("index", "check", str(task), "--bot", "nobody")
    assert unknown.returncode == 2 and "nobody" in unknown.stderr
