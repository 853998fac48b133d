"""LiveServer without Textual: start and stop in a running loop, errors, sessions, takeovers."""

from __future__ import annotations

import contextlib
import socket

import httpx
import pytest
from support import FRAGILE_TASK, FRAGILE_WORLDS, Person, copy_sample, free_port, wait_for, write_task

from workbench.services.live import AppServer, LiveServer, ServeError
from workbench.store import open_store
from workbench.task import load_task


@pytest.fixture
async def live(tmp_path):
    servers: list[LiveServer] = []

    async def make(task_dir, db_name: str = "live.db") -> LiveServer:
        task = load_task(task_dir)
        store = open_store(tmp_path / db_name)
        task.use_store(store)
        server = LiveServer(task, store=store)
        servers.append(server)
        return server

    yield make
    for s in servers:
        await s.stop()


async def test_starts_serves_and_stops_in_the_running_loop(live, tmp_path) -> None:
    server = await live(copy_sample("echo", tmp_path))
    events = []
    server.subscribe(events.append)
    url = await server.start("127.0.0.1", 0)
    assert server.state == "running" and url.startswith("http://127.0.0.1:")
    async with httpx.AsyncClient() as client:
        health = (await client.get(f"{url}/health")).json()
    assert health["status"] == "ok" and health["task"] == "echo"
    await server.stop()
    assert server.state == "stopped" and server.runner is None
    states = [e.fields["state"] for e in events if e.kind == "server"]
    assert states == ["starting", "running", "stopping", "stopped"]
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"{url}/health")
    # and again, on the same port
    port = int(url.rsplit(":", 1)[1])
    assert await server.start("127.0.0.1", port) == url


async def test_a_busy_port_is_an_error_with_a_reason(live, tmp_path) -> None:
    server = await live(copy_sample("echo", tmp_path))
    events = []
    server.subscribe(events.append)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServeError, match=f"port {port} on 127.0.0.1 is already in use"):
            await server.start("127.0.0.1", port)
    assert server.state == "stopped"
    assert [e.fields["error"] for e in events if e.kind == "server_error"] == [server.error]
    await server.start("127.0.0.1", port)  # free now
    assert server.state == "running"


async def test_an_app_that_fails_to_start_is_reported_not_fatal(tmp_path) -> None:
    from starlette.applications import Starlette

    @contextlib.asynccontextmanager
    async def broken(app):
        raise RuntimeError("no database")
        yield

    server = AppServer(Starlette(lifespan=broken), "127.0.0.1", 0, log_level="critical")
    with pytest.raises(ServeError, match="failed to start"):
        await server.start()
    assert not server.running


async def test_take_over_answer_hand_back(live, tmp_path) -> None:
    server = await live(copy_sample("echo", tmp_path))
    await server.start("127.0.0.1", free_port())
    runner = server.runner
    ada = Person()
    ada.session = await runner.connect(ada.deliver, person="ada", channel="test")
    assert await runner.wait_idle(timeout=5)
    cid = ada.session.conversation_id
    [row] = server.sessions()
    assert (row.channel, row.person, row.world, row.taken_over) == ("test", "ada", "echo", False)

    takeover = server.take_over(cid)
    assert takeover.supported and ada.session.takeover is takeover
    ada.session.put("are you a bot?")
    await wait_for(lambda: takeover.waiting is not None, what="the message to wait for the developer")
    assert server.sessions()[0].waiting
    assert await server.answer(cid, "No, a person.") == "answered"
    await wait_for(lambda: ada.texts == ["No, a person."])

    # nothing waits: the developer's message goes out on its own
    assert await server.answer(cid, "Anything else?") == "sent"
    await wait_for(lambda: ada.texts[-1] == "Anything else?")

    # handed back while a message waits: the bot answers it
    ada.session.put("echo this")
    await wait_for(lambda: takeover.waiting is not None)
    server.hand_back(cid)
    await wait_for(lambda: ada.texts[-1] == "echo this")
    assert ada.session.takeover is None

    ada.session.put("and this")
    await wait_for(lambda: ada.texts[-1] == "and this")

    rows = server.store.messages(cid)
    developer = [r for r in rows if (r["act"].get("meta") or {}).get("takeover")]
    assert [(r["role"], r["text"], r["agent"]) for r in developer] == [
        ("bot", "No, a person.", "echo"),
        ("bot", "Anything else?", "echo"),
    ]
    # the live transcript has everything, in order
    assert [e["act"]["text"] for e in server.transcript(cid)] == [
        "are you a bot?",
        "No, a person.",
        "Anything else?",
        "echo this",
        "echo this",
        "and this",
        "and this",
    ]


async def test_a_person_who_leaves_while_the_developer_types_ends_cleanly(live, tmp_path) -> None:
    server = await live(copy_sample("echo", tmp_path))
    await server.start("127.0.0.1", 0)
    ada = Person()
    ada.session = await server.runner.connect(ada.deliver, person="ada", channel="test")
    assert await server.runner.wait_idle(timeout=5)
    takeover = server.take_over(ada.session.conversation_id)
    ada.session.put("hello?")
    await wait_for(lambda: takeover.waiting is not None)
    await server.runner.disconnect(ada.session, wait=5)
    await wait_for(lambda: server.sessions() == [], what="the session to end")
    assert ada.session.conversation_id not in server.takeovers


async def test_stopping_hands_back_and_tells_people(live, tmp_path) -> None:
    server = await live(copy_sample("echo", tmp_path))
    await server.start("127.0.0.1", 0)
    ada = Person()
    ada.session = await server.runner.connect(ada.deliver, person="ada", channel="test")
    assert await server.runner.wait_idle(timeout=5)
    takeover = server.take_over(ada.session.conversation_id)
    ada.session.put("still there?")
    await wait_for(lambda: takeover.waiting is not None)
    await server.stop()
    assert any("shutting down" in t for t in ada.texts)
    assert server.store.conversation(ada.session.conversation_id)["status"] == "ended"


async def test_runtime_errors_and_warnings_arrive_as_events(live, tmp_path) -> None:
    server = await live(write_task(tmp_path / "boom", FRAGILE_TASK, FRAGILE_WORLDS))
    events = []
    server.subscribe(events.append)
    await server.start("127.0.0.1", 0)
    ada = Person()
    ada.session = await server.runner.connect(ada.deliver, person="ada", channel="test")
    assert await server.runner.wait_idle(timeout=5)
    ada.session.put("boom")
    await wait_for(lambda: any(e.kind == "error" for e in events), what="the error event")
    [error] = [e for e in events if e.kind == "error"]
    assert "the fragile bot broke" in error.fields["error"] and error.session is ada.session
    await wait_for(lambda: any(e.kind == "log" and "the fragile bot broke" in e.fields["text"] for e in events))


async def test_a_resumed_conversation_shows_its_history(live, tmp_path) -> None:
    server = await live(copy_sample("echo", tmp_path))
    await server.start("127.0.0.1", 0)
    ada = Person()
    ada.session = await server.runner.connect(ada.deliver, person="ada", channel="test")
    ada.session.put("before")
    await wait_for(lambda: ada.texts == ["before"])
    cid = ada.session.conversation_id
    await server.runner.disconnect(ada.session)
    again = Person()
    again.session = await server.runner.connect(again.deliver, conversation_id=cid, resume=True, channel="test")
    again.session.put("after")
    await wait_for(lambda: again.texts == ["after"])
    assert [e["act"]["text"] for e in server.transcript(cid)] == ["before", "before", "after", "after"]
