"""`workbench chat --connect` against a running `workbench serve`, both real subprocesses."""

from __future__ import annotations

import os
import subprocess

from support import copy_sample
from support.cli import WORKBENCH, LineReader, popen_cli, run_cli


def chat(url: str, lines: str, timeout: float = 90.0) -> subprocess.CompletedProcess:
    return run_cli("chat", "--connect", url, input=lines, timeout=timeout)


def test_chat_connect_walks_the_overworld_demo(serve_process, tmp_path) -> None:
    server = serve_process(copy_sample("overworld_demo", tmp_path))
    # a bare host:port gets ws:// and /websocket; "1" picks the first quick reply, as in local chat
    done = chat(f"127.0.0.1:{server.port}", "1\nhello over the wire\n[DONE]\nonboard data\nAda\nteal\n4\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0] == "Overworld: Welcome to the overworld demo. Pick a demo from the quick replies."
    assert out[1].split() == ["[1]", "echo", "[2]", "onboard", "data", "[3]", "chat", "[4]", "EXIT"]
    assert "World: hello over the wire" in out
    assert "World: Your name is Ada and your favourite colour is teal. Back to the menu!" in out
    assert out[-1] == "Overworld: Goodbye!"


def test_chat_connect_reports_a_server_that_is_not_there(tmp_path) -> None:
    done = chat("ws://127.0.0.1:9/websocket", "hello\n", timeout=60)
    assert done.returncode == 1
    assert "cannot connect to ws://127.0.0.1:9/websocket" in done.stderr


def test_chat_connect_hears_the_shutdown_and_ends(serve_process, tmp_path) -> None:
    server = serve_process(copy_sample("overworld_demo", tmp_path))
    proc = popen_cli(
        "chat", "--connect", server.ws_url, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out = LineReader(proc.stdout)
    try:
        out.wait_for("Welcome to the overworld demo", timeout=30)
        proc.stdin.write("echo\n")
        proc.stdin.flush()
        out.wait_for("Echo demo", timeout=30)
        assert server.terminate() == 0
        out.wait_for("System: The server is shutting down", timeout=30)
        assert proc.wait(30) == 0  # ends without more input: the server closed the connection
        assert "connection closed: server shutting down" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


async def test_chat_connect_speaks_only_parlais_protocol(tmp_path) -> None:
    """Against a server that behaves like ParlAI's websocket service (no id, <br /> for
    newlines, a payload frame with empty text), the client needs nothing else."""
    import asyncio
    import json

    import websockets

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg+M/AwAAFAAIBpfG9mwAAAABJRU5ErkJggg=="
    received: list[dict] = []

    async def parlai(ws) -> None:
        received.append(json.loads(await ws.recv()))
        await ws.send(
            json.dumps({"text": "Welcome to the overworld!<br />Pick one.", "quick_replies": ["echo", "EXIT"]})
        )
        async for raw in ws:
            msg = json.loads(raw)
            received.append(msg)
            if msg["text"] == "EXIT":
                await ws.send(json.dumps({"text": "Bye", "quick_replies": None}))
                await ws.close()
                return
            await ws.send(json.dumps({"text": msg["text"], "quick_replies": None}))
            if msg["text"] == "picture":
                await ws.send(
                    json.dumps(
                        {
                            "text": "",
                            "payload": {"type": "image", "data": png, "mime_type": "image/png"},
                            "quick_replies": None,
                        }
                    )
                )

    async with websockets.serve(parlai, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        env = dict(os.environ, NO_COLOR="1", COLUMNS="200", PYTHONUNBUFFERED="1")
        proc = await asyncio.create_subprocess_exec(
            *WORKBENCH,
            "chat",
            "--connect",
            f"ws://127.0.0.1:{port}/websocket",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(b"1\npicture\nEXIT\n"), 90)
        finally:
            if proc.returncode is None:
                proc.kill()
                await asyncio.wait_for(proc.wait(), 10)
    assert proc.returncode == 0, err.decode()
    # ParlAI's first frame, then plain {"text": ...} frames and nothing else
    assert received == [{"text": ""}, {"text": "echo"}, {"text": "picture"}, {"text": "EXIT"}]
    lines = out.decode().splitlines()
    assert lines[:3] == ["bot: Welcome to the overworld!", "Pick one.", "  [1] echo  [2] EXIT"]
    assert "bot: echo" in lines and "bot: picture" in lines
    assert "  [image] image/png" in lines
    assert lines[-1] == "bot: Bye"
