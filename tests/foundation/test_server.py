"""The server skeleton: create_app under real uvicorn on 127.0.0.1, route providers, and a
`workbench serve` process that shuts down cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time

import httpx
import pytest

from workbench import __version__
from workbench.services.server import create_app
from workbench.store import open_store
from workbench.task import load_task

from .helpers import copy_sample, popen_cli

PROVIDER = """
from starlette.responses import JSONResponse
from starlette.routing import Route


def routes(ctx):
    async def hello(request):
        runner = request.app.state.ctx.runner
        return JSONResponse({"task": ctx.task.name, "runner": runner is not None})

    return [Route("/hello", hello)]
"""


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def test_health_and_a_registered_route_under_uvicorn(tmp_path, monkeypatch) -> None:
    import uvicorn

    (tmp_path / "prov").mkdir()
    (tmp_path / "prov" / "wb_test_provider.py").write_text(PROVIDER)
    monkeypatch.syspath_prepend(str(tmp_path / "prov"))
    task = load_task(copy_sample("echo", tmp_path))
    store = open_store(tmp_path / "wb.db")
    app = create_app(task, store=store, providers=["wb_test_provider", "workbench.services.not_installed"])
    sock = _listening_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        assert server.started
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            res = await client.get("/health")
            assert res.status_code == 200
            assert res.headers["content-type"].startswith("application/json")
            body = res.json()
            assert body == {"status": "ok", "task": "echo", "version": __version__, "sessions": 0, "running_worlds": 0}
            hello = await client.get("/hello")
            assert hello.status_code == 200 and hello.json() == {"task": "echo", "runner": True}
            assert (await client.post("/health")).status_code == 405
            assert (await client.get("/nowhere")).status_code == 404
        runner = app.state.ctx.runner
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        sock.close()
        store.close()
    # the lifespan stopped the runner on the way out
    assert runner.stopping


def _free_port() -> int:
    with _listening_socket() as sock:
        return sock.getsockname()[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_shuts_down_cleanly_on_a_signal(tmp_path, sig) -> None:
    root = copy_sample("echo", tmp_path)
    port = _free_port()
    proc = popen_cli(
        "serve",
        str(root),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "info",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert status == 200, proc.poll()
        proc.send_signal(sig)
        started = time.monotonic()
        code = proc.wait(timeout=15)
        assert code == 0
        assert time.monotonic() - started < 10
        _, err = proc.communicate(timeout=5)
        assert "Traceback" not in err
        assert "Application shutdown complete" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
