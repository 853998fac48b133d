"""Bad input against a running server: each case gets an error frame or the right close code,
and a second connection chatting at the same time never notices."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from support import wait_for, write_task
from support.servers import connect

ECHO = """
name: echo
bots:
  echo: {engine: echo}
worlds:
  echo: {type: bot_chat, bot: echo}
"""


@pytest.fixture
async def echo_server(serve, tmp_path):
    async def start(**settings):
        return await serve(write_task(tmp_path / "echo", ECHO), settings=settings or None)

    return start


class Bystander:
    """A person chatting on another connection: every check asks them for an echo."""

    def __init__(self, client) -> None:
        self.client = client
        self.n = 0

    async def still_fine(self) -> None:
        self.n += 1
        text = f"still here {self.n}"
        await self.client.say(text, text)


@pytest.fixture
async def bystander(echo_server):
    server = await echo_server()
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        yield server, Bystander(c)


def error_of(frame: dict) -> str:
    assert set(frame["error"]) == {"code", "message"}
    assert frame["text"] == frame["error"]["message"] and frame["text"]
    return frame["error"]["code"]


async def test_invalid_json_and_non_objects_get_error_frames_and_the_socket_stays(bystander) -> None:
    server, other = bystander
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        for raw, code in [
            ("{not json", "invalid_json"),
            ('"just a string"', "invalid_frame"),
            ("[1, 2]", "invalid_frame"),
        ]:
            await c.send(raw)
            assert error_of(await c.until(lambda f: "error" in f)) == code
        await c.say("and now a real one", "and now a real one")
        await other.still_fine()


async def test_unknown_fields_and_wrong_types_are_refused(bystander) -> None:
    server, other = bystander
    async with connect(server.ws_url) as c:
        # ParlAI's clients send an id (and some a message_history): those are fine
        await c.send({"id": "f00", "text": ""})
        await c.send({"text": "with a tip", "tip": 5})
        err = await c.until(lambda f: "error" in f)
        assert error_of(err) == "unknown_field" and "tip" in err["text"]
        for bad in (
            {"text": 42},
            {"text": "", "payload": "x"},
            {"text": "", "payload": {"type": "image", "data": "%%%", "mime_type": "image/png"}},
            {"text": "", "payload": {"type": "image", "data": "aGk=", "mime_type": "text/html"}},
            {"debug": "yes"},
        ):
            await c.send(bad)
            assert error_of(await c.until(lambda f: "error" in f)) == "invalid_field"
        await c.say("fine", "fine")
        await other.still_fine()


async def test_a_frame_over_the_limit_gets_an_error_and_1009(bystander) -> None:
    server, other = bystander
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.send({"text": "x" * 70_000})
        err = await c.until(lambda f: "error" in f)
        assert error_of(err) == "frame_too_big" and "65536" in err["text"]
        assert (await c.closed())[0] == 1009
    # multi-byte text is measured in bytes: 30,000 euro signs are 90,000 bytes
    async with connect(server.ws_url) as c:
        await c.send({"text": "€" * 30_000})
        assert (await c.closed())[0] == 1009
    # far over the limit the protocol layer refuses the frame before it is read whole
    async with connect(server.ws_url, max_size=None) as c:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await c.send({"text": "y" * (2 << 20)})
            await c.recv(5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    await other.still_fine()


async def test_the_frame_limit_is_configurable(echo_server) -> None:
    server = await echo_server(max_frame_bytes=1000)
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.say("a" * 900, "a" * 900)
        await c.send({"text": "b" * 1000})
        assert (await c.closed())[0] == 1009


async def test_binary_frames_get_an_error_and_1003(bystander) -> None:
    server, other = bystander
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.send(b"\x00\x01binary")
        assert error_of(await c.until(lambda f: "error" in f)) == "binary_frame"
        assert (await c.closed())[0] == 1003
    await other.still_fine()


async def test_a_flood_is_rate_limited_then_closed_with_1008(bystander) -> None:
    server, other = bystander
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        for i in range(200):
            try:
                await c.send({"text": f"flood {i}"})
            except websockets.ConnectionClosed:
                break
        code, reason = await c.closed(10)
        assert code == 1008
        codes = [f["error"]["code"] for f in c.frames if "error" in f]
        assert "rate_limited" in codes and codes[-1] == "too_many_errors"
        await other.still_fine()
    await other.still_fine()
    # the burst got through to the bot (and the store), the rest was dropped
    await wait_for(lambda: len(server.runner.sessions) == 1, what="the flooder's conversation to end")
    flooded = [
        r
        for c in server.store.conversations()
        for r in server.store.messages(c["id"])
        if r["role"] == "human" and r["text"].startswith("flood")
    ]
    assert 15 <= len(flooded) <= 21


async def test_a_person_typing_at_a_human_pace_is_never_limited(echo_server) -> None:
    server = await echo_server(rate_limit=20, rate_burst=3)
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        for i in range(8):
            await c.say(f"msg {i}", f"msg {i}")
            await asyncio.sleep(0.06)
        assert not any("error" in f for f in c.frames)


async def test_origins_other_than_the_servers_own_are_refused(echo_server) -> None:
    server = await echo_server(allowed_origins=["https://chat.example.org"])
    port = server.port
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(server.ws_url, origin="https://evil.example.com"):
            pass
    assert refused.value.response.status_code == 403
    for origin in (f"http://127.0.0.1:{port}", "https://chat.example.org", None):
        async with connect(server.ws_url, origin=origin) as c:
            await c.send({"text": ""})
            await c.say("allowed", "allowed")


async def test_idle_connections_are_closed(echo_server) -> None:
    server = await echo_server(idle_timeout=1.0)
    async with connect(server.ws_url) as idle, connect(server.ws_url) as busy:
        await idle.send({"text": ""})
        await busy.send({"text": ""})
        for i in range(8):
            await busy.say(f"ping {i}", f"ping {i}")
            await asyncio.sleep(0.2)
        err = await idle.until(lambda f: "error" in f, timeout=5)
        assert error_of(err) == "idle_timeout"
        assert (await idle.closed())[0] == 1000
        await busy.say("still talking", "still talking")


async def test_connections_over_the_maximum_are_told_to_come_back(echo_server) -> None:
    server = await echo_server(max_connections=2)
    async with connect(server.ws_url) as a, connect(server.ws_url) as b:
        async with connect(server.ws_url) as c:
            assert error_of(await c.until(lambda f: "error" in f)) == "server_busy"
            assert (await c.closed())[0] == 1013
        await a.send({"text": ""})
        await a.say("first", "first")
        await b.send({"text": ""})
        await b.say("second", "second")


async def test_a_client_that_does_not_read_does_not_hold_up_the_others(echo_server) -> None:
    server = await echo_server(rate_limit=0)
    async with connect(server.ws_url) as other:
        await other.send({"text": ""})
        # a raw socket that sends a lot and reads nothing
        async with websockets.connect(server.ws_url, max_queue=1, open_timeout=5, close_timeout=1) as lazy:
            await lazy.send(json.dumps({"text": ""}))
            for _ in range(300):
                await lazy.send(json.dumps({"text": "z" * 4000}))
            for i in range(3):
                await other.say(f"unaffected {i}", f"unaffected {i}")
