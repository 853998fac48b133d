"""Resources one client can hold are bounded (issue 8, item 5): dropped conversations kept for
resuming are capped in total and per client address (the oldest given up first) and count
against max_connections; a connection that does not speak within the handshake timeout is
closed, at the HTTP level (request headers) as at the websocket level (first frame); request
headers are bounded in size; `workbench serve` raises its open-file limit so idle sockets
cannot lock everyone out."""

from __future__ import annotations

import asyncio
import resource
import socket
import subprocess

import httpx
import pytest
from support import free_port, write_task
from support.cli import WORKBENCH, LineReader, run_cli
from support.servers import connect

ECHO = """
name: echo
bots:
  echo: {engine: echo}
worlds:
  echo: {type: bot_chat, bot: echo}
"""


async def wait_until(predicate, timeout: float = 5.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def hello_then_close(server) -> str:
    async with connect(server.ws_url) as c:
        return (await c.hello())["session"]


async def test_dropped_conversations_are_capped_per_client_and_in_total(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "echo", ECHO), settings={"max_detached_per_client": 3})
    ids = [await hello_then_close(server) for _ in range(40)]
    live = server.runner.sessions
    await wait_until(lambda: len(live) <= 3, what="the oldest dropped conversations to be given up")
    # the three newest are held, live, for their people; the others ended (and stay in the store)
    assert set(live) == set(ids[-3:])
    assert all(live[i].detached for i in ids[-3:])
    assert server.store.conversation(ids[0])["status"] == "ended"
    # a given-up conversation still resumes, from the store
    async with connect(server.ws_url) as c:
        assert (await c.hello(ids[0]))["resumed"] is True
        await c.say("back again", "back again")


async def test_the_total_cap_gives_up_the_oldest(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "echo", ECHO), settings={"max_detached": 2})
    ids = [await hello_then_close(server) for _ in range(5)]
    await wait_until(lambda: set(server.runner.sessions) == set(ids[-2:]), what="two held")


async def test_dropped_conversations_count_against_max_connections(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "echo", ECHO), settings={"max_connections": 2})
    held = await hello_then_close(server)
    await wait_until(lambda: server.runner.sessions[held].detached, what="the conversation to be held")
    async with connect(server.ws_url) as a:
        await a.send({"text": ""})
        # one open socket and one held conversation fill the server: the newcomer gets in by
        # giving up the held conversation, never by being refused for it
        async with connect(server.ws_url) as b:
            await b.send({"text": ""})
            await b.say("in", "in")
            await wait_until(lambda: held not in server.runner.sessions, what="the held conversation given up")
            # two open sockets: a third is told to come back
            async with connect(server.ws_url) as c:
                busy = await c.until(lambda f: "error" in f)
                assert busy["error"]["code"] == "server_busy"
                assert (await c.closed())[0] == 1013
        await a.say("still fine", "still fine")


async def test_a_websocket_that_sends_nothing_is_closed_at_the_handshake_timeout(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "echo", ECHO), settings={"handshake_timeout": 0.5})
    async with connect(server.ws_url) as silent, connect(server.ws_url) as talker:
        await talker.send({"text": ""})
        err = await silent.until(lambda f: "error" in f, timeout=5)
        assert err["error"]["code"] == "handshake_timeout"
        assert (await silent.closed())[0] == 1008
        # one that spoke in time is not affected, however long it then stays quiet
        await talker.say("still here", "still here")


def _closed_by_server(sock: socket.socket, timeout: float) -> bytes:
    """What the server sent before closing ``sock``; fails if it stays open past ``timeout``."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open for {timeout} s") from None
    return received


async def test_http_connections_must_send_their_headers_in_time_and_within_a_size(serve, tmp_path) -> None:
    server = await serve(
        write_task(tmp_path / "echo", ECHO), settings={"handshake_timeout": 0.5, "max_header_bytes": 4096}
    )

    def probe() -> tuple[bytes, bytes, bytes, int]:
        silent = socket.create_connection(("127.0.0.1", server.port))
        slow = socket.create_connection(("127.0.0.1", server.port))
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        big = socket.create_connection(("127.0.0.1", server.port))
        big.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 8000 + b"\r\n\r\n")
        out = (_closed_by_server(silent, 5), _closed_by_server(slow, 5), _closed_by_server(big, 5))
        status = httpx.get(server.http_url + "/health", timeout=5).status_code
        return (*out, status)

    silent, slow, big, status = await asyncio.to_thread(probe)
    assert silent.startswith(b"HTTP/1.1 408") and slow.startswith(b"HTTP/1.1 408")
    assert big.startswith(b"HTTP/1.1 431")
    assert status == 200


@pytest.mark.skipif(resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 4096, reason="needs a hard open-file limit of 4096")
def test_serve_raises_its_open_file_limit_and_idle_sockets_do_not_lock_people_out(tmp_path) -> None:
    task = write_task(tmp_path / "echo", ECHO)
    port = free_port()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # this process holds the idle sockets: give it room for them
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))

    def low_limit() -> None:  # the server starts under a soft limit of 256
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    proc = subprocess.Popen(
        [*WORKBENCH, "serve", str(task), "--port", str(port), "--handshake-timeout", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=low_limit,
    )
    idle: list[socket.socket] = []
    try:
        out = LineReader(proc.stdout)
        line = out.wait_for("open-file limit", timeout=30)
        assert f"open-file limit {hard}" in line, line
        out.wait_for("Uvicorn running", timeout=30)
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(400)]
        response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert response.status_code == 200
        # and the idle ones are closed at the handshake timeout
        for sock in idle[:5]:
            assert _closed_by_server(sock, 10).startswith(b"HTTP/1.1 408")
    finally:
        for sock in idle:
            sock.close()
        proc.terminate()
        proc.wait(30)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_serve_refuses_a_bad_limit_with_a_clear_error(tmp_path) -> None:
    result = run_cli("serve", str(write_task(tmp_path / "echo", ECHO)), "--handshake-timeout", "-1")
    assert result.returncode == 2
    assert "--handshake-timeout" in result.stderr and "Traceback" not in result.stderr
