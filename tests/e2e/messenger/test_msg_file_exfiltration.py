"""Issue 8 item 1: a person can never make the server read a file and send it to Messenger.

A websocket person and a Messenger person share a ``human_chat`` world on a real server;
the websocket person sends payloads that name files (``/proc/self/environ``, ``..``,
absolute paths, ``file://`` URLs). Whatever the websocket edge lets through, the Messenger
channel must refuse it: the Graph API double receives no byte of any of those files. A
payload in the accepted shape (base64 ``data`` with a MIME type) is relayed as exactly
those bytes under a generated file name.
"""

from __future__ import annotations

import base64

import pytest
from support import wait_for, write_task
from support.messenger import graph_double, post, text
from support.servers import connect

PAIR = """
name: pair
worlds:
  chat:
    type: human_chat
    agents_required: 2
    text: "You are talking with {partners}."
"""

CANARY = "canary-d41d8cd98f00b204e980"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture
async def graph(monkeypatch):
    async with graph_double(monkeypatch) as double:
        yield double


def _leaked(graph, *secrets: bytes) -> list[bytes]:
    return [raw for raw in graph.received if any(s in raw for s in secrets)]


async def test_msg_a_websocket_person_cannot_send_a_server_file_to_their_messenger_partner(
    graph, serve, tmp_path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(f"outside the task {CANARY}", encoding="utf-8")
    task = write_task(tmp_path / "pair", PAIR, files={"notes.txt": f"task file {CANARY}"})
    (task / "link.txt").symlink_to(outside)
    server = await serve(task, settings={"messenger": {"backoff": 0.01, "mark_seen": False, "typing": False}})

    async with connect(server.ws_url) as ws:
        await ws.send({"text": "hi"})
        assert (await post(server.http_url, text("4242", "hello from messenger"))).status_code == 200
        await ws.text("hello from messenger", timeout=10)  # paired: the Messenger person's line arrived

        attacks = [
            {"type": "file", "path": "/proc/self/environ"},
            {"type": "file", "path": str(outside)},
            {"type": "file", "path": "../outside.txt"},
            {"type": "file", "path": "notes.txt"},
            {"type": "file", "path": "link.txt"},
            {"type": "image", "path": "/proc/self/environ", "mime_type": "image/png"},
            {"type": "file", "url": f"file://{outside}"},
            {"type": "file", "url": "file:///proc/self/environ", "upload": True},
            {"type": "file", "url": "http://127.0.0.1:1/secret", "upload": True},
        ]
        for payload in attacks:
            await ws.send({"text": "", "payload": payload})
        # a later event: the next text the websocket person sends reaches Messenger
        await ws.send({"text": "after the attacks"})
        await wait_for(lambda: "after the attacks" in graph.texts("4242"), 10, "the later message on Messenger")

        # the process environment starts with PATH=...; the files carry the canary
        secrets = (CANARY.encode(), b"outside the task", b"task file", b"PATH=")
        assert _leaked(graph, *secrets) == []
        assert [r for r in graph.requests if r["endpoint"] == "message_attachments"] == []

        # the accepted shape goes through, re-encoded from the checked bytes
        good = {"type": "image", "mime_type": "image/png", "data": base64.b64encode(PNG).decode()}
        await ws.send({"text": "", "payload": good})
        await wait_for(
            lambda: any("attachment" in m for m in graph.messages("4242")), 10, "the relayed image on Messenger"
        )
    [upload] = [r for r in graph.requests if r["endpoint"] == "message_attachments"]
    assert (upload["mode"], upload["content"], upload["mime_type"], upload["filename"]) == (
        "file",
        PNG,
        "image/png",
        "image.png",
    )
    assert _leaked(graph, *secrets) == []
    assert graph.rejected == []


async def test_msg_relayed_attachments_that_are_not_what_they_claim_are_refused(graph, serve, tmp_path) -> None:
    task = write_task(tmp_path / "pair", PAIR)
    server = await serve(task, settings={"messenger": {"backoff": 0.01, "mark_seen": False, "typing": False}})
    async with connect(server.ws_url) as ws:
        await ws.send({"text": "hi"})
        assert (await post(server.http_url, text("4343", "hello"))).status_code == 200
        await ws.text("hello", timeout=10)
        environ = base64.b64encode(b"PATH=/usr/bin\0" + CANARY.encode()).decode()
        for payload in (
            {"type": "image", "mime_type": "image/png", "data": environ},  # not a PNG
            {"type": "image", "mime_type": "image/svg+xml", "data": base64.b64encode(b"<svg/>").decode()},
            {"type": "image", "mime_type": "image/png", "data": "not base64!"},
            {"type": "file", "mime_type": "text/plain", "data": environ, "filename": "../../etc/passwd"},
            {"type": "image", "mime_type": "image/png", "data": base64.b64encode(PNG).decode(), "path": "x"},
        ):
            await ws.send({"text": "", "payload": payload})
        await ws.send({"text": "the end"})
        await wait_for(lambda: "the end" in graph.texts("4343"), 10, "the later message on Messenger")
    assert [r for r in graph.requests if r["endpoint"] == "message_attachments"] == []
    assert _leaked(graph, CANARY.encode()) == []
