"""The server skeleton: create_app under real uvicorn on 127.0.0.1, route providers, and a
`workbench serve` process that shuts down cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import signal

import httpx
import pytest
from support import copy_sample

from workbench import __version__

PROVIDER = """
from starlette.responses import JSONResponse
from starlette.routing import Route


def routes(ctx):
    async def hello(request):
        runner = request.app.state.ctx.runner
        return JSONResponse({"task": ctx.task.name, "runner": runner is not None})

    return [Route("/hello", hello)]
"""


async def test_health_and_a_registered_route_under_uvicorn(serve, tmp_path, monkeypatch) -> None:
    (tmp_path / "prov").mkdir()
    (tmp_path / "prov" / "wb_test_provider.py").write_text(PROVIDER)
    monkeypatch.syspath_prepend(str(tmp_path / "prov"))
    server = await serve(
        copy_sample("echo", tmp_path), providers=["wb_test_provider", "workbench.services.not_installed"]
    )
    async with httpx.AsyncClient(base_url=server.http_url, timeout=5) as client:
        res = await client.get("/health")
        assert res.status_code == 200
        assert res.headers["content-type"].startswith("application/json")
        body = res.json()
        assert body == {
            "status": "ok",
            "task": "echo",
            "pid": os.getpid(),  # the in-loop server is this process
            "version": __version__,
            "sessions": 0,
            "running_worlds": 0,
        }
        hello = await client.get("/hello")
        assert hello.status_code == 200 and hello.json() == {"task": "echo", "runner": True}
        assert (await client.post("/health")).status_code == 405
        assert (await client.get("/nowhere")).status_code == 404
    runner = server.runner
    await server.stop()
    # the lifespan stopped the runner on the way out
    assert runner.stopping


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_shuts_down_cleanly_on_a_signal(serve_process, tmp_path, sig) -> None:
    server = serve_process(copy_sample("echo", tmp_path), args=("--log-level", "info"))
    assert server.terminate(timeout=15, sig=sig) == 0
    log = server.output()
    assert "Traceback" not in log
    assert "Application shutdown complete" in log
