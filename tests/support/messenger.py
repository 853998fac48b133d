"""Messenger from the outside: webhook events as Messenger sends them (signed or not), the
environment that points a server at the Graph API double, and a served task's webhook with
bounded waits (:class:`Webhook`, what the ``messenger`` fixture of tests/conftest.py gives)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from support import wait_for
from support.graph_double import GraphDouble
from support.servers import InLoopServer

APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
PAGE_ID = "1234567890"

_mids = itertools.count(1)


WEBHOOK = "/webhook/messenger"


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def page(*events: dict[str, Any]) -> dict[str, Any]:
    """A webhook body: one page entry with these messaging events."""
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": list(events)}]}


def event(psid: str, **body: Any) -> dict[str, Any]:
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": int(time.time() * 1000), **body}


def text(psid: str, value: str, mid: str | None = None) -> dict[str, Any]:
    return event(psid, message={"mid": mid or f"m_in_{next(_mids)}", "text": value})


def quick_reply(psid: str, title: str, payload: str) -> dict[str, Any]:
    return event(psid, message={"mid": f"m_in_{next(_mids)}", "text": title, "quick_reply": {"payload": payload}})


def postback(psid: str, payload: str, title: str = "Get Started", mid: str | None = None) -> dict[str, Any]:
    """A postback; ``mid=""`` leaves its message id out (Messenger omits it for some)."""
    body: dict[str, Any] = {"title": title, "payload": payload}
    if mid != "":
        body["mid"] = mid or f"m_in_{next(_mids)}"
    return event(psid, postback=body)


def attachment(psid: str, kind: str, url: str) -> dict[str, Any]:
    return event(psid, message={"mid": f"m_in_{next(_mids)}", "attachments": [{"type": kind, "payload": {"url": url}}]})


def echo_of_page(psid: str, value: str) -> dict[str, Any]:
    """What Messenger sends back about the page's own message (must be ignored)."""
    return {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": psid},
        "timestamp": 1,
        "message": {"mid": f"m_echo_{next(_mids)}", "is_echo": True, "text": value},
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def graph_env(graph: GraphDouble, url: str) -> dict[str, str]:
    """The environment that points a server's Messenger channel at the double served at ``url``."""
    return {
        "WORKBENCH_FB_PAGE_TOKEN": graph.token,
        "WORKBENCH_FB_APP_SECRET": APP_SECRET,
        "WORKBENCH_FB_VERIFY_TOKEN": VERIFY_TOKEN,
        "WORKBENCH_FB_GRAPH_URL": url,
        "WORKBENCH_FB_GRAPH_VERSION": graph.version,
    }


@dataclass
class Webhook:
    """A running workbench server, an HTTP client for its Messenger webhook, and the double."""

    server: InLoopServer
    client: httpx.AsyncClient
    graph: GraphDouble

    @property
    def ctx(self) -> Any:
        return self.server.ctx

    @property
    def webhook(self) -> str:
        return f"{self.server.http_url}/webhook/messenger"

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

    async def until(
        self, predicate: Callable[[], bool], what: str = "the Graph API double to receive it", timeout: float = 10.0
    ) -> None:
        await wait_for(predicate, timeout, what)

    @property
    def service(self) -> Any:
        """The server's Messenger service (it registers its shutdown with the server)."""
        from workbench.services.messenger.service import MessengerService

        for hook in self.ctx.shutdown_hooks:
            owner = getattr(hook, "__self__", None)
            if isinstance(owner, MessengerService):
                return owner
        raise AssertionError("no Messenger service on this server")

    async def settle(self) -> None:
        """Wait until every event posted so far is handled, every conversation waits for its
        person and every reply is out."""
        service = self.service
        await wait_for(lambda: service.handling == 0, 10, "the webhook's events to be handled")
        assert await self.ctx.runner.wait_idle(timeout=10)
        await wait_for(
            lambda: all(p.outbox.empty() and (p.worker is None or p.worker.done()) for p in service.people.values()),
            10,
            "the outboxes to drain",
        )


@contextlib.asynccontextmanager
async def graph_double(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[GraphDouble]:
    """The Graph API double on a free port, and the WORKBENCH_FB_* environment pointing at it."""
    from workbench.services.live import AppServer

    double = GraphDouble()
    server = AppServer(double.app(), "127.0.0.1", 0, log_level="warning")
    await server.start()
    double.url = server.url
    monkeypatch.setenv("WORKBENCH_FB_PAGE_TOKEN", double.token)
    monkeypatch.setenv("WORKBENCH_FB_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WORKBENCH_FB_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("WORKBENCH_FB_GRAPH_URL", server.url)
    monkeypatch.setenv("WORKBENCH_FB_GRAPH_VERSION", double.version)
    try:
        yield double
    finally:
        await server.stop()


async def post(
    base_url: str, *events: dict[str, Any], body: bytes | None = None, signature: str | None = "sign"
) -> httpx.Response:
    """POST a webhook body (``events`` in one page entry, or ``body`` as is), signed unless told."""
    raw = body if body is not None else encode(page(*events))
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(base_url + WEBHOOK, content=raw, headers=headers)
