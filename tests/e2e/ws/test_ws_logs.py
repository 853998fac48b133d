"""`workbench serve --log-level debug` logs what happens, never what people send nor secrets
in URLs and headers (issue 8, item 9, server side): no message text, password or card number
unless `--log-messages`, no query string (the Messenger verify token travels in one), no
Authorization header."""

from __future__ import annotations

import asyncio
import json
import subprocess

import httpx
import websockets
from support import free_port, write_task
from support.cli import LineReader, popen_cli

ECHO = """
name: echo
bots:
  echo: {engine: echo}
worlds:
  echo: {type: bot_chat, bot: echo}
"""

PASSWORD = "pw-Sesame-4821"
CARD = "4111 1111 1111 1111"
VERIFY = "VERIFY-tok-9931"
BEARER = "bearer-tok-5517"


async def _chat(port: int) -> None:
    url = f"ws://127.0.0.1:{port}/websocket?session_token={VERIFY}"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {BEARER}"}) as ws:
        await ws.send(json.dumps({"text": PASSWORD}))
        await ws.send(json.dumps({"text": f"my card is {CARD}"}))
        for _ in range(10):  # until the echo of the card comes back
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if CARD in frame.get("text", ""):
                break


def _serve_and_talk(tmp_path, *flags: str) -> str:
    port = free_port()
    task = write_task(tmp_path / f"echo{len(flags)}", ECHO)
    proc = popen_cli(
        "serve",
        str(task),
        "--port",
        str(port),
        "--log-level",
        "debug",
        "--password",
        PASSWORD,
        *flags,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        out = LineReader(proc.stdout)
        out.wait_for("Uvicorn running", timeout=30)
        asyncio.run(_chat(port))
        base = f"http://127.0.0.1:{port}"
        httpx.get(f"{base}/webhook/messenger?hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=1")
        httpx.get(f"{base}/health?hub.verify_token={VERIFY}")
        out.wait_for('"GET /health HTTP/1.1" 200', timeout=10)
    finally:
        proc.terminate()
        proc.wait(30)
    out.wait_for("Finished server process", timeout=10)
    return "\n".join(out.lines)


def test_debug_logs_hold_no_message_text_query_string_or_credentials(tmp_path) -> None:
    log = _serve_and_talk(tmp_path)
    # the debug log is there (frames are logged by kind and size) ...
    assert "TEXT frame [" in log and "GET /webhook/messenger HTTP/1.1" in log
    # ... and none of what people sent, nor secrets from URLs and headers
    for secret in (PASSWORD, CARD, "4111", VERIFY, BEARER):
        assert secret not in log, f"{secret!r} is in the log:\n{log}"


def test_log_messages_shows_frames_but_still_no_secrets_from_urls(tmp_path) -> None:
    log = _serve_and_talk(tmp_path, "--log-messages")
    assert CARD in log  # asked for: frame contents are logged
    for secret in (VERIFY, BEARER):
        assert secret not in log, f"{secret!r} is in the log:\n{log}"
