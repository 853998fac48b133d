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
import os
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: modules whose ``routes(ctx)`` join the app, in order
ROUTE_PROVIDERS: list[str] = [
    "workbench.services.starchat.routes",
    "workbench.services.messenger.routes",
    "workbench.services.websocket",
    "workbench.services.browser",
    "workbench.services.evaluation.routes",
]

SHUTDOWN_TEXT = "The server is shutting down. Your conversation is saved; come back to continue it."


@dataclass
class ServerContext:
    task: Any
    store: Any
    runner: Any = None
    password: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    #: coroutine functions awaited after the runner stops (a channel sends what is queued, closes clients)
    shutdown_hooks: list[Any] = field(default_factory=list)
    #: True once :meth:`drain` has begun: channels refuse newcomers
    stopping: bool = False

    async def drain(self, message: str | None = SHUTDOWN_TEXT) -> None:
        """Tell live people, finish turns in flight, close every channel (once)."""
        if self.stopping:
            return
        self.stopping = True
        if self.runner is not None:
            await self.runner.stop(message=message)
        for hook in self.shutdown_hooks:
            try:
                await hook()
            except Exception:  # one channel's failure must not keep the others from closing
                log.exception("a shutdown hook failed")

    def serve_spec(self) -> Any:
        """The task's ``serve:`` settings with the command line's overrides (``settings``)."""
        return serve_spec(self.task, self.settings)


def serve_spec(task: Any, overrides: dict[str, Any] | None = None) -> Any:
    from workbench.task.schema import ServeSpec

    base = getattr(getattr(task, "spec", None), "serve", None) or ServeSpec()
    known = {k: v for k, v in (overrides or {}).items() if k in ServeSpec.model_fields and v is not None}
    return ServeSpec.model_validate({**base.model_dump(), **known})


def create_app(
    task: Any,
    store: Any = None,
    password: str | None = None,
    providers: list[str] | None = None,
    settings: dict[str, Any] | None = None,
):
    """Build the ASGI app for ``task``; the runner starts with the app's lifespan."""
    import contextlib

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from workbench import __version__
    from workbench.runtime.runner import Runner

    store = store if store is not None else task.store
    ctx = ServerContext(task=task, store=store, password=password or task.spec.password, settings=dict(settings or {}))

    async def health(request):
        runner = ctx.runner
        return JSONResponse(
            {
                "status": "ok",
                "task": task.name,
                # which process answered: with --workers or several instances, each has its own
                "pid": os.getpid(),
                "version": __version__,
                "sessions": len(runner.sessions) if runner else 0,
                "running_worlds": runner.running_worlds if runner else 0,
            }
        )

    routes: list = [Route("/health", health, methods=["GET"])]
    for name in ROUTE_PROVIDERS if providers is None else providers:
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
            await ctx.drain()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.ctx = ctx
    return app


def make_server(app: Any, log_messages: bool = False, **config: Any) -> Any:
    """A uvicorn server for ``app`` whose shutdown first drains the workbench.

    uvicorn closes open websockets (code 1012) before the lifespan's shutdown
    runs, so live people would never hear the shutdown message; this server
    tells them and closes their channels itself, then lets uvicorn finish.
    Its HTTP protocol bounds the time and size of a request's headers, and its
    logs never hold a query string or (unless ``log_messages``) what people send.
    """
    import uvicorn

    from workbench.services.server_logs import protect_logs

    spec = app.state.ctx.serve_spec()
    config.setdefault("lifespan", "on")
    config.setdefault("timeout_graceful_shutdown", 10)
    # frames a little over the limit get a readable error frame; far over it, the protocol closes with 1009
    config.setdefault("ws_max_size", max(4 * spec.max_frame_bytes, 1 << 20))
    config.setdefault("backlog", 4096)
    try:
        from workbench.services.http_protocol import limited_protocol

        config.setdefault("http", limited_protocol(spec.handshake_timeout, spec.max_header_bytes))
    except ImportError:  # pragma: no cover - uvicorn without httptools: h11 bounds the headers' size only
        log.warning("httptools is not installed: request headers have no deadline (pip install httptools)")
    config.setdefault("timeout_keep_alive", spec.keep_alive_timeout)
    config.setdefault("h11_max_incomplete_event_size", spec.max_header_bytes)
    protect_logs(log_messages)

    class WorkbenchServer(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            try:
                await app.state.ctx.drain()
            except Exception:
                log.exception("draining the workbench failed")
            await super().shutdown(sockets)

    return WorkbenchServer(uvicorn.Config(app, **config))


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a process holding thousands of conversations.

    With 5,000 open conversations the collector's passes over every live object took
    nearly half of the server's time (benchmarks/serve.py: 3.2k msgs/s before, 5.7k after).
    What was loaded at start-up (the task, engines, libraries) is frozen out of its
    passes, and young-object passes run every 50,000 allocations instead of 700; most
    garbage is freed by reference counting anyway.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard one; the soft limit now.

    Every connection is a file descriptor: under the common soft limit of 1,024, about a
    thousand idle sockets stop the server from accepting anyone (``/health`` included).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return 0
    infinity = resource.RLIM_INFINITY
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == infinity:
        return 1 << 20
    # an unlimited hard limit is not always settable (macOS caps the soft one at OPEN_MAX)
    for target in (1 << 20, 65536, 10240) if hard == infinity else (hard,):
        if target <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            continue
        soft = target
        break
    return soft


#: file descriptors the process needs besides its connections (the store, the index, logs, libraries)
RESERVED_FILES = 64


def run_server(
    task: Any,
    host: str = "127.0.0.1",
    port: int = 34596,
    password: str | None = None,
    log_level: str = "info",
    settings: dict[str, Any] | None = None,
    log_messages: bool = False,
    reuse_port: bool = False,
) -> int:
    """Serve ``task`` until SIGTERM/SIGINT; with ``reuse_port``, on a socket other workers
    bind too (workbench/services/workers.py)."""
    from workbench.services.server_logs import log_workbench

    log_workbench(log_level)
    files = raise_open_file_limit()
    app = create_app(task, password=password, settings=settings)
    spec = app.state.ctx.serve_spec()
    room = max(files - RESERVED_FILES, 0)
    log.info(
        "open-file limit %d: room for about %d connections (max_connections %d)", files, room, spec.max_connections
    )
    if room < spec.max_connections:
        log.warning(
            "the open-file limit (%d) holds about %d connections, fewer than serve.max_connections (%d); "
            "raise the hard limit (ulimit -Hn) or lower max_connections",
            files,
            room,
            spec.max_connections,
        )
    server = make_server(app, log_messages=log_messages, host=host, port=port, log_level=log_level)
    tune_gc()
    if reuse_port:
        from workbench.services.workers import reuse_port_socket

        server.run(sockets=[reuse_port_socket(host, port)])
        return 0
    server.run()  # SIGTERM/SIGINT: stop accepting, tell live people, close their channels, store everything
    return 0
