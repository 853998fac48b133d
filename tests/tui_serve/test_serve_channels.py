"""The serve screen with real clients over 127.0.0.1: a websocket client (ParlAI's frames)
and Messenger (signed webhook events in, the Graph API double receiving the replies)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from messenger import helpers as fb  # tests/messenger: the Graph API double and webhook events
from support.graph_double import GraphDouble
from textual.widgets import Static

from workbench.services.live import AppServer

from .helpers import copy_sample, free_port
from .pilot import SIZE, make_app, open_serve, shown, start, table_rows, transcript_texts, type_reply, until


async def recv(ws, timeout: float = 10.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_a_websocket_client_watched_taken_over_and_handed_back(tmp_path) -> None:
    app, store = make_app(copy_sample("echo", tmp_path), tmp_path)
    port = free_port()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_serve(pilot, app, port)
        await start(pilot, screen)
        async with websockets.connect(f"ws://127.0.0.1:{port}/websocket") as ws:
            await ws.send(json.dumps({"text": "hi"}))  # ParlAI: the first frame starts the conversation
            await until(pilot, lambda: len(table_rows(screen)) == 1, what="the websocket session in the list")
            cid, channel = table_rows(screen)[0][:2]
            assert channel == "websocket"
            await screen.open(cid)

            await ws.send(json.dumps({"text": "hello"}))
            assert (await recv(ws))["text"] == "hello"
            await until(pilot, lambda: transcript_texts(screen)[-2:] == ["hello", "hello"])

            await pilot.press("f6")
            await until(pilot, lambda: screen.live.takeovers.get(cid) is not None)
            await ws.send(json.dumps({"text": "who is this?"}))
            await until(
                pilot, lambda: "the person waits for your answer" in shown(screen.query_one("#serve-title", Static))
            )
            await type_reply(pilot, screen, "A developer.")
            frame = await recv(ws)
            assert frame["text"] == "A developer." and frame["id"] == "echo"

            await pilot.press("f6")
            await until(pilot, lambda: cid not in screen.live.takeovers)
            await ws.send(json.dumps({"text": "bot again?"}))
            assert (await recv(ws))["text"] == "bot again?"

            await pilot.press("f5")
            frames = []
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    frames.append(await recv(ws))
            assert any("shutting down" in f["text"] for f in frames)
        await until(pilot, lambda: screen.live.state == "stopped")
    store.close()


@pytest.fixture
async def graph(monkeypatch):
    double = GraphDouble()
    server = AppServer(double.app(), "127.0.0.1", 0, log_level="warning")
    await server.start()
    for name, value in (
        ("PAGE_TOKEN", double.token),
        ("APP_SECRET", fb.APP_SECRET),
        ("VERIFY_TOKEN", fb.VERIFY_TOKEN),
        ("GRAPH_URL", server.url),
        ("GRAPH_VERSION", double.version),
    ):
        monkeypatch.setenv(f"WORKBENCH_FB_{name}", value)
    yield double
    await server.stop()


async def test_a_messenger_person_watched_and_taken_over(tmp_path, graph) -> None:
    app, store = make_app(copy_sample("echo", tmp_path), tmp_path)
    port = free_port()
    webhook = f"http://127.0.0.1:{port}/webhook/messenger"

    async def say(client: httpx.AsyncClient, text: str) -> None:
        body = fb.encode(fb.page(fb.text("4242", text)))
        resp = await client.post(
            webhook, content=body, headers={"X-Hub-Signature-256": fb.sign(body), "Content-Type": "application/json"}
        )
        assert resp.status_code == 200

    async with app.run_test(size=SIZE) as pilot, httpx.AsyncClient() as client:
        screen = await open_serve(pilot, app, port)
        await start(pilot, screen)
        await say(client, "hello")
        await until(pilot, lambda: graph.texts("4242") == ["hello"], what="the echo through the Send API")
        cid, channel, person = table_rows(screen)[0][:3]
        assert (channel, person) == ("messenger", "4242")
        await screen.open(cid)
        assert transcript_texts(screen) == ["hello", "hello"]

        await pilot.press("f6")
        await until(pilot, lambda: screen.live.takeovers.get(cid) is not None)
        await say(client, "a human please")
        await until(
            pilot, lambda: "the person waits for your answer" in shown(screen.query_one("#serve-title", Static))
        )
        await type_reply(pilot, screen, "Hello from the developer.")
        await until(pilot, lambda: graph.texts("4242")[-1:] == ["Hello from the developer."])

        await pilot.press("f6")
        await until(pilot, lambda: cid not in screen.live.takeovers)
        await say(client, "thanks")
        await until(pilot, lambda: graph.texts("4242")[-1:] == ["thanks"])
        assert graph.rejected == []
    store.close()
