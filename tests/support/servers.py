"""Servers on 127.0.0.1 for tests: the app inside the test's loop (InLoopServer) or
`workbench serve` as a subprocess (ServeProcess), and websocket clients whose every wait
is bounded (Client, connect)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets

from support import free_port
from support.cli import WORKBENCH


class Client:
    """A websocket client that keeps every frame it received."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame = json.loads(raw)
        self.frames.append(frame)
        return frame

    async def until(
        self, predicate: Callable[[dict], bool], timeout: float = 5.0, what: str = "a frame"
    ) -> dict[str, Any]:
        """Receive until a frame satisfies ``predicate``; fail after ``timeout`` s with what came."""
        deadline = time.monotonic() + timeout
        seen: list[dict] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout} s; received {seen}")
            try:
                frame = await self.recv(left)
            except TimeoutError:
                continue
            seen.append(frame)
            if predicate(frame):
                return frame

    async def text(self, text: str, timeout: float = 5.0) -> dict[str, Any]:
        """Receive until a frame whose text contains ``text``."""
        return await self.until(lambda f: text in (f.get("text") or ""), timeout, f"frame with {text!r}")

    async def say(self, text: str, expect: str, timeout: float = 5.0) -> dict[str, Any]:
        await self.send({"text": text})
        return await self.text(expect, timeout)

    async def quiet(self, spell: float = 0.3, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Every frame until none arrives for ``spell`` seconds."""
        out: list[dict] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                out.append(await self.recv(spell))
            except TimeoutError:
                return out
        return out

    async def hello(self, session: str | None = None, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = dict(extra)
        if session is not None:
            body["session"] = session
        await self.send({"hello": body})
        return await self.until(lambda f: "session" in f, what="hello reply")

    async def closed(self, timeout: float = 5.0) -> tuple[int | None, str]:
        """Receive until the server closes; the close code and reason."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    await self.recv(max(0.01, deadline - time.monotonic()))
                except TimeoutError:
                    pass
        except websockets.ConnectionClosed as exc:
            rcvd = exc.rcvd
            return (rcvd.code, rcvd.reason) if rcvd is not None else (None, "")
        raise AssertionError(f"the connection stayed open for {timeout} s; frames: {self.frames[-5:]}")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)


@contextlib.asynccontextmanager
async def connect(url: str, **kwargs: Any):
    ws = await asyncio.wait_for(websockets.connect(url, open_timeout=5, close_timeout=2, **kwargs), 10)
    client = Client(ws)
    try:
        yield client
    finally:
        await client.close()


class InLoopServer:
    """A task's app served by uvicorn inside the test's event loop, on a free port."""

    def __init__(
        self, task_dir: Path, db: Path, settings: dict[str, Any] | None = None, password: str | None = None
    ) -> None:
        self.task_dir, self.db, self.settings, self.password = task_dir, db, settings, password
        self.port = 0
        self.ctx: Any = None
        self.server: Any = None
        self.task: asyncio.Task | None = None
        self.store: Any = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> InLoopServer:
        from workbench.services.server import create_app, make_server
        from workbench.store import open_store
        from workbench.task import load_task

        task = load_task(self.task_dir)
        self.store = open_store(self.db)
        task.use_store(self.store)
        app = create_app(task, store=self.store, password=self.password, settings=self.settings)
        self.ctx = app.state.ctx
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self.server = make_server(app, log_level="warning", log_config=None, access_log=False)
        self.server.capture_signals = contextlib.nullcontext  # the test process keeps its signal handlers
        self.task = asyncio.ensure_future(self.server.serve(sockets=[sock]))
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert not self.task.done(), "the server stopped while starting"
            assert time.monotonic() < deadline, "the server did not start within 15 s"
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self.task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 20)
        except TimeoutError:
            self.server.force_exit = True
            self.task.cancel()
        self.task = None
        self.store.close()

    @property
    def runner(self) -> Any:
        return self.ctx.runner


class ServeProcess:
    """`workbench serve TASK` in a subprocess on a fixed port (so a restart keeps the URL)."""

    def __init__(self, task_dir: Path, port: int | None = None, args: tuple[str, ...] = ()) -> None:
        self.task_dir = task_dir
        self.port = port or free_port()
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.log = task_dir.parent / f"serve-{self.port}.log"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServeProcess:
        import httpx

        env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1")
        out = open(self.log, "a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [*WORKBENCH, "serve", str(self.task_dir), "--port", str(self.port), "--log-level", "warning", *self.args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"workbench serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.http_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(
                    f"workbench serve did not answer /health within {timeout} s:\n{self.log.read_text()}"
                )
            time.sleep(0.1)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the graceful shutdown."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""
