"""The one server `workbench serve` runs: an ASGI app (Starlette) served by uvicorn.

Features register routes through :data:`ROUTE_PROVIDERS`: each entry names a
module with ``routes(ctx) -> list[BaseRoute]`` (imported only when the server
starts). ``ctx`` is the :class:`ServerContext`: the task, its store and the
runner every channel drives. Shutdown on SIGTERM/SIGINT is graceful: uvicorn
stops accepting, then the runner tells live people, finishes turns in flight
and stores every message.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: modules whose ``routes(ctx)`` join the app, in order
ROUTE_PROVIDERS: list[str] = [
    "workbench.services.starchat_api",
]

SHUTDOWN_TEXT = "The server is shutting down. Your conversation is saved; come back to continue it."


@dataclass
class ServerContext:
    task: Any
    store: Any
    runner: Any = None
    password: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def create_app(task: Any, store: Any = None, password: str | None = None, providers: list[str] | None = None):
    """Build the ASGI app for ``task``; the runner starts with the app's lifespan."""
    import contextlib

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from workbench import __version__
    from workbench.runner import Runner

    store = store if store is not None else task.store
    ctx = ServerContext(task=task, store=store, password=password or task.spec.password)

    async def health(request):
        runner = ctx.runner
        return JSONResponse({
            "status": "ok", "task": task.name, "version": __version__,
            "sessions": len(runner.sessions) if runner else 0,
            "running_worlds": runner.running_worlds if runner else 0,
        })

    routes: list = [Route("/health", health, methods=["GET"])]
    for name in (ROUTE_PROVIDERS if providers is None else providers):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a feature not installed in this version
            raise
        routes.extend(module.routes(ctx))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        ctx.runner = Runner(task, store, password=ctx.password)
        app.state.ctx = ctx
        try:
            yield
        finally:
            await ctx.runner.stop(message=SHUTDOWN_TEXT)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.ctx = ctx
    return app


def run_server(task: Any, host: str = "127.0.0.1", port: int = 34596, password: str | None = None, log_level: str = "info") -> int:
    import uvicorn

    app = create_app(task, password=password)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on", timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    server.run()  # uvicorn handles SIGTERM/SIGINT: stop accepting, then the lifespan shuts the runner down
    return 0
