"""Webhook events as Messenger sends them, signed or not, and bounded waits."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any

from support import copy_sample, wait_for, write_task  # noqa: F401  (shared by this folder's tests)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_tasks"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
PAGE_ID = "1234567890"

_mids = itertools.count(1)


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def page(*events: dict[str, Any]) -> dict[str, Any]:
    """A webhook body: one page entry with these messaging events."""
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": list(events)}]}


def _event(psid: str, **body: Any) -> dict[str, Any]:
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": int(time.time() * 1000), **body}


def text(psid: str, value: str, mid: str | None = None) -> dict[str, Any]:
    return _event(psid, message={"mid": mid or f"m_in_{next(_mids)}", "text": value})


def quick_reply(psid: str, title: str, payload: str) -> dict[str, Any]:
    return _event(psid, message={"mid": f"m_in_{next(_mids)}", "text": title, "quick_reply": {"payload": payload}})


def postback(psid: str, payload: str, title: str = "Get Started") -> dict[str, Any]:
    return _event(psid, postback={"mid": f"m_in_{next(_mids)}", "title": title, "payload": payload})


def attachment(psid: str, kind: str, url: str) -> dict[str, Any]:
    return _event(
        psid, message={"mid": f"m_in_{next(_mids)}", "attachments": [{"type": kind, "payload": {"url": url}}]}
    )


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
