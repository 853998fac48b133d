"""Webhook events as Messenger sends them, signed or not, and bounded waits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import shutil
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_tasks"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
PAGE_ID = "1234567890"

_mids = itertools.count(1)


def copy_sample(name: str, dest: Path) -> Path:
    """A copy of a sample task without its data/, so nothing is written into the repo."""
    target = dest / name
    shutil.copytree(SAMPLES / name, target, ignore=shutil.ignore_patterns("data", "__pycache__", "exports"))
    return target


def write_task(root: Path, task_yml: str, worlds_py: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "task.yml").write_text(textwrap.dedent(task_yml), encoding="utf-8")
    if worlds_py is not None:
        (root / "worlds.py").write_text(textwrap.dedent(worlds_py), encoding="utf-8")
    return root


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
    return _event(psid, message={"mid": f"m_in_{next(_mids)}", "attachments": [{"type": kind, "payload": {"url": url}}]})


def echo_of_page(psid: str, value: str) -> dict[str, Any]:
    """What Messenger sends back about the page's own message (must be ignored)."""
    return {"sender": {"id": PAGE_ID}, "recipient": {"id": psid}, "timestamp": 1,
            "message": {"mid": f"m_echo_{next(_mids)}", "is_echo": True, "text": value}}


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)
