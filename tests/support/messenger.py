"""Messenger webhook events as Facebook sends them (signed or not), the Graph API double
served on 127.0.0.1 with the environment pointing at it, and a poster for a server's webhook."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from support.graph_double import GraphDouble

APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
PAGE_ID = "1234567890"
WEBHOOK = "/webhook/messenger"

_mids = itertools.count(1)


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def page(*events: dict[str, Any]) -> dict[str, Any]:
    """A webhook body: one page entry with these messaging events."""
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": list(events)}]}


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def event(psid: str, **body: Any) -> dict[str, Any]:
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": int(time.time() * 1000), **body}


def text(psid: str, value: str, mid: str | None = None) -> dict[str, Any]:
    return event(psid, message={"mid": mid or f"m_in_{next(_mids)}", "text": value})


def quick_reply(psid: str, title: str, payload: str) -> dict[str, Any]:
    return event(psid, message={"mid": f"m_in_{next(_mids)}", "text": title, "quick_reply": {"payload": payload}})


def postback(psid: str, payload: str, title: str = "Get Started", mid: str | None = None) -> dict[str, Any]:
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
