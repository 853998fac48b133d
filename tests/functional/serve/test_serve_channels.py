"""The serve screen with real clients over 127.0.0.1: a websocket client (ParlAI's frames)
and Messenger (signed webhook events in, the Graph API double receiving the replies)."""

from __future__ import annotations

import httpx
import support.messenger as fb
from support import copy_sample, free_port, until
from support.servers import connect
from support.tui import open_serve, shown, start_serving, table_rows, transcript_texts, type_reply
from textual.widgets import Static

from workbench.tui.app import make_app

SIZE = (160, 48)


async def test_a_websocket_client_watched_taken_over_and_handed_back(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    port = free_port()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_serve(pilot, app, port)
        await start_serving(pilot, screen)
        async with connect(f"ws://127.0.0.1:{port}/websocket") as ws:
            await ws.send({"text": "hi"})  # ParlAI: the first frame starts the conversation
            await until(pilot, lambda: len(table_rows(screen)) == 1, what="the websocket session in the list")
            cid, channel = table_rows(screen)[0][:2]
            assert channel == "websocket"
            await screen.open(cid)

            await ws.send({"text": "hello"})
            assert (await ws.recv(10))["text"] == "hello"
            await until(pilot, lambda: transcript_texts(screen)[-2:] == ["hello", "hello"])

            await pilot.press("f6")
            await until(pilot, lambda: screen.live.takeovers.get(cid) is not None)
            await ws.send({"text": "who is this?"})
            await until(
                pilot, lambda: "the person waits for your answer" in shown(screen.query_one("#serve-title", Static))
            )
            await type_reply(pilot, screen, "A developer.")
            frame = await ws.recv(10)
            assert frame["text"] == "A developer." and frame["id"] == "echo"

            await pilot.press("f6")
            await until(pilot, lambda: cid not in screen.live.takeovers)
            await ws.send({"text": "bot again?"})
            assert (await ws.recv(10))["text"] == "bot again?"

            await pilot.press("f5")
            assert (await ws.closed(10))[0] == 1001  # going away: the server stopped
            assert any("shutting down" in f["text"] for f in ws.frames)
        await until(pilot, lambda: screen.live.state == "stopped")


async def test_a_messenger_person_watched_and_taken_over(tmp_path, store, graph) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
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
        await start_serving(pilot, screen)
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
