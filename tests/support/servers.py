"""Servers on 127.0.0.1 for tests: a task's app inside the test's loop (InLoopServer, or in a
loop of its own for synchronous tests: LoopThread), any other ASGI app such as a double of an
outside service (serve_app), `workbench serve` as a subprocess (ServeProcess), and websocket
clients whose every wait is bounded (Client, connect). tests/conftest.py wraps them in the
fixtures ``serve``, ``serve_in_thread`` and ``serve_process``, which always stop them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import threading
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
        """Every frame until none arrives for ``spell`` seconds. It waits for silence, so it proves
        nothing about what did not come: for that, wait for a later frame (``say``) and look at
        ``frames``. No test here uses it any more; kept for tests written against it."""
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
    """A task's app served by uvicorn inside the running event loop, on a free port of 127.0.0.1.

    The server itself is the product's :class:`~workbench.services.live.AppServer` (the one the
    TUI's serve screen runs) with :func:`~workbench.services.server.make_server`, so a test
    serves exactly what `workbench serve` serves, without a subprocess.
    """

    def __init__(
        self,
        task_dir: Path,
        db: Path,
        settings: dict[str, Any] | None = None,
        password: str | None = None,
        providers: list[str] | None = None,
    ) -> None:
        self.task_dir, self.db, self.settings, self.password = task_dir, db, settings, password
        #: route modules instead of the server's own (None: every one the server has)
        self.providers = providers
        self.port = 0
        self.task: Any = None
        self.store: Any = None
        self.ctx: Any = None
        self.app_server: Any = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> InLoopServer:
        from workbench.services.live import AppServer
        from workbench.services.server import create_app, make_server
        from workbench.store import open_store
        from workbench.task import load_task

        self.task = load_task(self.task_dir)
        self.store = open_store(self.db)
        self.task.use_store(self.store)
        app = create_app(
            self.task, store=self.store, password=self.password, settings=self.settings, providers=self.providers
        )
        self.ctx = app.state.ctx
        self.app_server = AppServer(app, "127.0.0.1", self.port, log_level="warning", make_server=make_server)
        await self.app_server.start()
        self.port = self.app_server.port
        return self

    async def stop(self) -> None:
        """Graceful shutdown (live people hear it), then the store closes; again is a no-op."""
        if self.app_server is None:
            return
        server, self.app_server = self.app_server, None
        await server.stop(timeout=20)
        self.store.close()

    @property
    def runner(self) -> Any:
        return self.ctx.runner


async def serve_app(app: Any) -> Any:
    """Any ASGI app (a double of an outside service) on a free port of 127.0.0.1, in the running
    loop; the caller stops it (``await server.stop()``; its address is ``server.url``)."""
    from workbench.services.live import AppServer

    server = AppServer(app, "127.0.0.1", 0, log_level="warning")
    await server.start()
    return server


class LoopThread:
    """An event loop of its own in a daemon thread: a synchronous test (httpx.Client, a
    browser) runs an :class:`InLoopServer` there and keeps its own thread free to block."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-server-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run ``coro`` in the thread's loop and wait (at most ``timeout`` s) for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


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

    def terminate(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> int:
        """SIGTERM (or ``sig``, e.g. SIGINT) and wait: the graceful shutdown; the exit code."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""
