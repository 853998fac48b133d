"""Attacks on the websocket channel and the server process, with the figures they leave.

Runs `workbench serve` (a subprocess) on a two-person human_chat task and tries, from a
separate client in this process, what issue 8 found (items 1, 2, 3, 5 and 9):

* ``file``: a person paired with another sends ``{"type": "file", "path": "/proc/self/environ"}``
  and a ``file://`` URL: how many were refused, how many reached the partner;
* ``surrogate``: a lone surrogate in a pair: does the partner's conversation go on;
* ``deep``: frames of 30,000 nested lists at full speed (``--rate-limit 0``) while a
  bystander chats: tracebacks and log lines in the server's output, the bystander's
  worst and median answer time (how long it was stalled);
* ``cycles``: N hello-then-close cycles from one address: conversations still held and
  the server's RSS growth;
* ``idle``: 1,100 silent TCP connections against a server started under a soft open-file
  limit of 1,024: does ``/health`` answer, how many are still open after the handshake timeout;
* ``logs``: ``--log-level debug``, a password, a card number, a verify token in a query
  string: how many of them appear in the server's output.

    .venv/bin/python benchmarks/ws_attacks.py [--cycles 6000] [--only file,surrogate,deep,cycles,idle,logs]

Every wait is bounded; a server that stops answering is reported, not waited for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

PAIR_YML = """
name: pair
start: overworld
bots:
  echo: {engine: echo}
worlds:
  overworld:
    type: menu
    text: Pick one
    options: {Echo: echo, Pair: pair}
  echo: {type: bot_chat, bot: echo}
  pair: {type: human_chat, agents_required: 2}
"""

PASSWORD, CARD, VERIFY = "pw-Sesame-4821", "4111 1111 1111 1111", "VERIFY-tok-9931"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, task: Path, *args: str, soft_files: int | None = None) -> None:
        self.port = free_port()
        self.log = task.parent / f"serve-{self.port}.log"
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

        def limit() -> None:
            if soft_files:
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft_files, hard))

        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "workbench", "serve", str(task), "--port", str(self.port), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1"),
                preexec_fn=limit,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit(f"the server did not start:\n{self.log.read_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket"

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
        return 0.0

    def sessions(self) -> int:
        return httpx.get(self.url + "/health", timeout=5).json()["sessions"]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def frames_until(ws, predicate, timeout: float = 5.0) -> list[dict]:
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        except (TimeoutError, websockets.ConnectionClosed):
            break
        seen.append(frame)
        if predicate(frame):
            break
    return seen


async def pair(server: Server):
    a, b = await websockets.connect(server.ws), await websockets.connect(server.ws)
    for ws in (a, b):
        await ws.send(json.dumps({"text": ""}))
        await frames_until(ws, lambda f: "Pick one" in f.get("text", ""))
    await a.send(json.dumps({"text": "Pair"}))
    await frames_until(a, lambda f: "Waiting" in f.get("text", ""))
    await b.send(json.dumps({"text": "Pair"}))
    await frames_until(b, lambda f: "chatting" in f.get("text", ""))
    await frames_until(a, lambda f: "chatting" in f.get("text", ""))
    return a, b


async def attack_file(server: Server) -> str:
    a, b = await pair(server)
    payloads = [
        {"type": "file", "path": "/proc/self/environ"},
        {"type": "image", "url": "file:///proc/self/environ"},
        {"type": "file", "data": "aGk=", "mime_type": "text/plain", "name": "../../../proc/self/environ"},
    ]
    refused = 0
    for p in payloads:
        await a.send(json.dumps({"text": "", "payload": p}))
        got = await frames_until(a, lambda f: "error" in f, 3)
        refused += any("error" in f for f in got)
    await a.send(json.dumps({"text": "marker"}))
    relayed = await frames_until(b, lambda f: f.get("text") == "marker", 3)
    reached = sum(1 for f in relayed if f.get("payload"))
    await a.close()
    await b.close()
    return f"file: {refused}/{len(payloads)} refused with an error frame, {reached} reached the partner"


async def attack_surrogate(server: Server) -> str:
    a, b = await pair(server)
    await a.send('{"text": "x\\ud800y"}')
    got = await frames_until(b, lambda f: "y" in f.get("text", ""), 3)
    await b.send(json.dumps({"text": "still there?"}))
    back = await frames_until(a, lambda f: f.get("text") == "still there?", 3)
    ok = bool(back) and back[-1].get("text") == "still there?"
    await a.close()
    await b.close()
    relayed = got[-1]["text"] if got else None
    return f"surrogate: partner received {relayed!r}; both conversations go on: {ok}"


async def attack_deep(server: Server, frames: int = 300) -> str:
    deep = "[" * 30_000 + "]" * 30_000
    bystander = await websockets.connect(server.ws)
    await bystander.send(json.dumps({"text": ""}))
    await frames_until(bystander, lambda f: "Pick one" in f.get("text", ""))
    await bystander.send(json.dumps({"text": "Echo"}))
    await asyncio.sleep(0.3)
    latencies: list[float] = []
    stop = asyncio.Event()

    async def chat() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            text = f"ping {n}"
            t = time.perf_counter()
            await bystander.send(json.dumps({"text": text}))
            got = await frames_until(bystander, lambda f, text=text: f.get("text") == text, 5)
            if got and got[-1].get("text") == text:
                latencies.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.01)

    async def flood() -> int:
        sent = 0
        ws = await websockets.connect(server.ws, max_size=None)
        await ws.send(json.dumps({"text": ""}))
        while sent < frames:
            try:
                await ws.send(deep)
                sent += 1
                await frames_until(ws, lambda f: "error" in f, 2)
            except websockets.ConnectionClosed:
                ws = await websockets.connect(server.ws, max_size=None)
                await ws.send(json.dumps({"text": ""}))
        await ws.close()
        return sent

    chatter = asyncio.ensure_future(chat())
    sent = await flood()
    stop.set()
    await chatter
    await bystander.close()
    out = server.output()
    tracebacks = out.count("Traceback")
    return (
        f"deep: {sent} frames of 30,000 nested lists: {tracebacks} tracebacks, "
        f"{out.count('RecursionError')} RecursionError lines in the server's output; bystander answered "
        f"{len(latencies)} times, median {statistics.median(latencies):.1f} ms, worst {max(latencies):.1f} ms"
        if latencies
        else f"deep: {sent} frames, {tracebacks} tracebacks; the bystander got no answer"
    )


async def attack_cycles(server: Server, n: int) -> str:
    before = server.rss_mb()
    t = time.monotonic()
    for _ in range(n):
        async with websockets.connect(server.ws) as ws:
            await ws.send(json.dumps({"hello": {}}))
            await frames_until(ws, lambda f: "session" in f)
    await asyncio.sleep(0.5)
    return (
        f"cycles: {n} hello-then-close cycles in {time.monotonic() - t:.0f} s: "
        f"{server.sessions()} conversations held, RSS {before:.0f} -> {server.rss_mb():.0f} MB"
    )


def _open(sock: socket.socket) -> bool:
    """Whether the server still holds ``sock`` open (what it sent before closing is read first)."""
    sock.setblocking(False)
    try:
        while sock.recv(4096):
            pass
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def attack_idle(task: Path, n: int = 1100) -> str:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    server = Server(task, "--handshake-timeout", "2", soft_files=1024)
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(n)]
    try:
        t = time.perf_counter()
        try:
            health = f"{httpx.get(server.url + '/health', timeout=5).status_code} in {(time.perf_counter() - t) * 1000:.0f} ms"
        except httpx.HTTPError as exc:
            health = f"failed ({type(exc).__name__})"
        time.sleep(4)
        still = sum(1 for s in socks if _open(s))
        return (
            f"idle: {n} silent TCP connections under a soft limit of 1,024: /health {health}; open after 4 s: {still}"
        )
    finally:
        for s in socks:
            s.close()
        server.stop()


async def attack_logs(task: Path) -> str:
    server = Server(task, "--log-level", "debug", "--password", PASSWORD)
    try:
        async with websockets.connect(server.ws) as ws:
            await ws.send(json.dumps({"text": PASSWORD}))
            await ws.send(json.dumps({"text": "Echo"}))
            await ws.send(json.dumps({"text": f"my card is {CARD}"}))
            await frames_until(ws, lambda f: CARD in f.get("text", ""))
        httpx.get(f"{server.url}/webhook/messenger?hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=1")
        httpx.get(f"{server.url}/health?hub.verify_token={VERIFY}")
        time.sleep(0.5)
    finally:
        server.stop()
    out = server.output()
    found = {s: sum(line.count(s) for line in out.splitlines()) for s in (PASSWORD, CARD, VERIFY)}
    return "logs: --log-level debug output holds " + ", ".join(f"{k!r} {v}x" for k, v in found.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=6000)
    parser.add_argument("--only", default="file,surrogate,deep,cycles,idle,logs")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        task = Path(tmp) / "pair"
        task.mkdir()
        (task / "task.yml").write_text(PAIR_YML)
        if wanted & {"file", "surrogate", "deep", "cycles"}:
            server = Server(task, "--rate-limit", "0")
            try:
                if "file" in wanted:
                    print(asyncio.run(attack_file(server)), flush=True)
                if "surrogate" in wanted:
                    print(asyncio.run(attack_surrogate(server)), flush=True)
                if "deep" in wanted:
                    print(asyncio.run(attack_deep(server)), flush=True)
                if "cycles" in wanted:
                    print(asyncio.run(attack_cycles(server, args.cycles)), flush=True)
            finally:
                server.stop()
        if "idle" in wanted:
            print(attack_idle(task), flush=True)
        if "logs" in wanted:
            print(asyncio.run(attack_logs(task)), flush=True)


if __name__ == "__main__":
    main()
