"""A Graph API double and a workbench server, both served on 127.0.0.1 in the test's loop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.graph_double import GraphDouble

from workbench.services.live import AppServer
from workbench.services.server import create_app, make_server
from workbench.store import Store, open_store
from workbench.task import load_task

from .helpers import APP_SECRET, VERIFY_TOKEN, encode, page, sign, wait_for


@pytest.fixture
async def graph():
    double = GraphDouble()
    server = AppServer(double.app(), "127.0.0.1", 0, log_level="warning")
    await server.start()
    double.url = server.url
    yield double
    await server.stop()


@pytest.fixture
def fb_env(monkeypatch, graph):
    monkeypatch.setenv("WORKBENCH_FB_PAGE_TOKEN", graph.token)
    monkeypatch.setenv("WORKBENCH_FB_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WORKBENCH_FB_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("WORKBENCH_FB_GRAPH_URL", graph.url)
    monkeypatch.setenv("WORKBENCH_FB_GRAPH_VERSION", graph.version)
    return graph


@dataclass
class Served:
    """A running workbench server and an HTTP client for its webhook."""

    server: AppServer
    ctx: Any
    client: httpx.AsyncClient
    graph: GraphDouble

    @property
    def webhook(self) -> str:
        return f"{self.server.url}/webhook/messenger"

    async def post(
        self, *events: dict[str, Any], signature: str | None = "sign", body: bytes | None = None
    ) -> httpx.Response:
        raw = body if body is not None else encode(page(*events))
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Hub-Signature-256"] = sign(raw)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return await self.client.post(self.webhook, content=raw, headers=headers)

    async def say(self, *events: dict[str, Any]) -> None:
        resp = await self.post(*events)
        assert resp.status_code == 200, resp.text
        assert resp.text == "EVENT_RECEIVED"

    async def until(self, predicate, what: str = "the Graph API double to receive it", timeout: float = 10.0) -> None:
        await wait_for(predicate, timeout, what)

    @property
    def service(self) -> Any:
        return _service(self.ctx)

    async def settle(self) -> None:
        """Wait until every conversation waits for its person and every reply is out."""
        runner = self.ctx.runner
        assert await runner.wait_idle(timeout=10)
        service = self.service
        await wait_for(
            lambda: all(p.outbox.empty() and (p.worker is None or p.worker.done()) for p in service.people.values()),
            10,
            "the outboxes to drain",
        )


def _service(ctx: Any) -> Any:
    from workbench.services.messenger.service import MessengerService

    for hook in ctx.shutdown_hooks:
        owner = getattr(hook, "__self__", None)
        if isinstance(owner, MessengerService):
            return owner
    raise AssertionError("no Messenger service on this server")


@pytest.fixture
async def serve(fb_env, tmp_path):
    """``await serve(task_dir, settings=None, db=None)``: the task's server with the webhook."""
    running: list[tuple[AppServer, httpx.AsyncClient, Store]] = []

    async def start(task_dir: Path, settings: dict[str, Any] | None = None, db: Path | None = None) -> Served:
        task = load_task(task_dir)
        store = open_store(db or tmp_path / "wb.db")
        task.use_store(store)
        app = create_app(task, store=store)
        ctx = app.state.ctx
        ctx.settings["messenger"] = {"backoff": 0.01, **(settings or {})}
        server = AppServer(app, "127.0.0.1", 0, log_level="warning", make_server=make_server)
        await server.start()
        client = httpx.AsyncClient(timeout=10)
        running.append((server, client, store))
        return Served(server, ctx, client, fb_env)

    yield start
    for server, client, store in reversed(running):
        await client.aclose()
        await server.stop()
        store.close()
