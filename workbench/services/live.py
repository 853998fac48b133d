"""The task's server run inside an asyncio loop that is already running (the TUI, tests).

:class:`AppServer` serves any ASGI app with uvicorn on a socket it binds first, so a
busy port is an error to show rather than uvicorn's ``sys.exit``, and it leaves the
host's signal handlers alone. :class:`LiveServer` runs a task's app that way and
watches it: the sessions of its runner, their transcripts, errors and log lines as
events, and developer takeovers of the bot's side of a conversation.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.runtime.runner import Event
from workbench.runtime.takeover import Takeover
from workbench.runtime.transcript import entry_from_record, entry_from_row  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 34596
#: ended conversations whose transcripts are kept for viewing
KEEP_ENDED = 200
#: messages kept per conversation transcript
KEEP_MESSAGES = 1000


class ServeError(Exception):
    """The server could not start (busy port, failing app start-up) or stopped unexpectedly."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: any free port), or :class:`ServeError`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(
                f"port {port} on {host} is already in use (another server?); choose another port"
            ) from None
        if exc.errno == errno.EACCES:
            raise ServeError(f"not allowed to listen on {host}:{port}; choose a port above 1023") from None
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


class AppServer:
    """An ASGI app served by uvicorn as a task of the running loop."""

    def __init__(
        self,
        app: Any,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        log_level: str = "info",
        graceful: float = 5.0,
        make_server: Callable[..., Any] | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.log_level = log_level
        self.graceful = graceful
        #: builds the uvicorn server from (app, **config); :func:`workbench.services.server.make_server` for a task
        self.make_server = make_server
        self.server: Any = None
        self.task: asyncio.Task | None = None
        #: why the server stopped, when it was not asked to
        self.failure: str | None = None
        self.stopping = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done() and bool(self.server and self.server.started)

    async def start(self, timeout: float = 15.0) -> None:
        """Bind, start uvicorn and return once it accepts connections (its lifespan ran)."""
        import uvicorn

        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        config: dict[str, Any] = dict(
            log_config=None,
            log_level=self.log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=self.graceful,
        )
        if self.make_server is not None:
            self.server = self.make_server(self.app, **config)
        else:
            self.server = uvicorn.Server(uvicorn.Config(self.app, **config))
        # the host process (the TUI, a test) owns SIGINT/SIGTERM, not this server
        self.server.capture_signals = contextlib.nullcontext
        self.failure, self.stopping = None, False
        self.task = asyncio.ensure_future(self._run(sock))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.server.started:
            if self.task.done():
                raise ServeError(self.failure or "the server stopped while starting")
            if loop.time() > deadline:
                await self.stop()
                raise ServeError(f"the server did not start within {timeout:.0f} s")
            await asyncio.sleep(0.01)

    async def _run(self, sock: socket.socket) -> None:
        try:
            await self.server.serve(sockets=[sock])
        except SystemExit:  # uvicorn exits when the app's start-up fails
            self.failure = "the application failed to start (the log says why)"
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.failure = f"the server failed: {type(exc).__name__}: {exc}"
            log.exception("the server failed")
        finally:
            sock.close()
        if not self.stopping and self.failure is None:
            self.failure = "the server stopped"

    async def stop(self, timeout: float = 15.0) -> None:
        """Graceful: stop accepting, let turns finish and the app shut down; forced after ``timeout``."""
        if self.task is None:
            return
        self.stopping = True
        if self.server is not None:
            self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except TimeoutError:
            self.server.force_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self.task), 2.0)
            except TimeoutError:
                self.task.cancel()
        except Exception:
            pass


@dataclass
class LiveSession:
    """One row of the serve screen's session list."""

    conversation_id: str
    channel: str
    person: str
    world: str | None
    idle: float
    taken_over: bool
    #: a person's message waits for the developer's answer
    waiting: bool


class _LogForwarder(logging.Handler):
    """Log records of the server (uvicorn, workbench) as ``log`` events on the loop."""

    def __init__(self, owner: LiveServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.INFO)
        self.owner = owner
        self.loop = loop
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("workbench") and record.levelno < logging.WARNING:
            return
        if getattr(self._busy, "on", False):
            return  # a listener that fails while handling a log line must not loop
        try:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        except Exception:
            return
        fields = {"level": record.levelname.lower(), "logger": record.name, "text": text}
        if _running_loop() is self.loop:
            self._deliver(fields)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._deliver, fields)

    def _deliver(self, fields: dict[str, Any]) -> None:
        self._busy.on = True
        try:
            self.owner._emit("log", None, **fields)
        finally:
            self._busy.on = False


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class LiveServer:
    """A task's server, started and stopped in this loop, and everything it is doing.

    Events to subscribers (``Event(kind, session, fields)``): the runner's own
    (``session_start``, ``message`` with an ``entry``, ``acknowledged``, ``world``,
    ``state``, ``error``, ``session_end``) and ``server`` (``state``: starting,
    running, stopping, stopped; ``url``), ``server_error`` (``error``), ``takeover``
    (``active``, ``waiting``) and ``log`` (``level``, ``logger``, ``text``).
    """

    LOGGERS = ("uvicorn.error", "workbench")

    def __init__(
        self, task: Any, store: Any = None, password: str | None = None, app_factory: Callable[..., Any] | None = None
    ) -> None:
        self.task = task
        self.store = store
        self.password = password
        self._app_factory = app_factory
        self.state = "stopped"
        self.app_server: AppServer | None = None
        self.runner: Any = None
        self.error: str | None = None
        self._listeners: list[Callable[[Event], object]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._log_handler: _LogForwarder | None = None
        self._watch: asyncio.Task | None = None
        self.transcripts: dict[str, list[dict[str, Any]]] = {}
        self._ended: collections.deque[str] = collections.deque()
        self.takeovers: dict[str, Takeover] = {}
        self.known: dict[str, Any] = {}

    # -- observers -----------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], object]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, kind: str, session: Any, **fields: Any) -> None:
        event = Event(kind, session, fields)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a live-server listener failed")

    @property
    def url(self) -> str | None:
        return self.app_server.url if self.app_server is not None and self.state == "running" else None

    # -- start and stop -------------------------------------------------------------
    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
        """Start serving; returns the URL. Raises :class:`ServeError` with a reason to show."""
        if self.state in ("starting", "running"):
            raise ServeError(f"the server is already {self.state}")
        if self._app_factory is not None:
            app = self._app_factory(self.task, store=self.store, password=self.password)
        else:
            from workbench.services.server import create_app

            app = create_app(self.task, store=self.store, password=self.password)
        from workbench.services.server import make_server

        self._set_state("starting")
        self.error = None
        self._capture_logs()
        self.app_server = AppServer(app, host, port, make_server=make_server if hasattr(app.state, "ctx") else None)
        try:
            await self.app_server.start()
        except ServeError as exc:
            self.error = str(exc)
            self._release_logs()
            self._set_state("stopped")
            self._emit("server_error", None, error=self.error)
            raise
        ctx = getattr(app.state, "ctx", None)
        self.runner = getattr(ctx, "runner", None)
        if self.runner is not None:
            self._unsubscribe = self.runner.subscribe(self._on_runtime)
        self._watch = asyncio.ensure_future(self._watch_server(self.app_server))
        self._set_state("running")
        return self.app_server.url

    async def _watch_server(self, server: AppServer) -> None:
        """Report a server that stops without being asked (its task ended)."""
        assert server.task is not None  # watched once started
        try:
            await asyncio.shield(server.task)
        except asyncio.CancelledError:
            return
        except Exception:
            pass
        if server is self.app_server and not server.stopping:
            self.error = server.failure or "the server stopped unexpectedly"
            self._emit("server_error", None, error=self.error)
            self._teardown()
            self._set_state("stopped")

    async def stop(self, timeout: float = 15.0) -> None:
        """Hand every conversation back to the bot, then stop the server gracefully."""
        if self.app_server is None or self.state in ("stopped", "stopping"):
            return
        self._set_state("stopping")
        for takeover in list(self.takeovers.values()):
            takeover.hand_back()
        server = self.app_server
        await server.stop(timeout)
        if self._watch is not None:
            self._watch.cancel()
        self._teardown()
        self._set_state("stopped")

    def _teardown(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.takeovers.clear()
        self._release_logs()
        self.runner = None

    def _set_state(self, state: str) -> None:
        self.state = state
        url = self.app_server.url if self.app_server is not None and state in ("running", "stopping") else None
        self._emit("server", None, state=state, url=url)

    def _capture_logs(self) -> None:
        self._log_handler = _LogForwarder(self, asyncio.get_running_loop())
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self._log_handler)

    def _release_logs(self) -> None:
        if self._log_handler is not None:
            for name in self.LOGGERS:
                logging.getLogger(name).removeHandler(self._log_handler)
            self._log_handler = None

    # -- what the runner does ----------------------------------------------------------
    def _on_runtime(self, event: Event) -> None:
        if event.kind == "delta":
            return  # the serve screen shows committed messages; deltas would flood it
        s = event.session
        cid = getattr(s, "conversation_id", None)
        fields = dict(event.fields)
        if event.kind == "session_start" and s is not None and cid is not None:
            self.known[cid] = s
            entries: list[dict[str, Any]] = []
            if event.fields.get("resumed") and s.store is not None:
                try:
                    entries = [entry_from_row(r) for r in s.store.messages(cid)][-KEEP_MESSAGES:]
                except Exception:
                    log.exception("could not read the history of %s", cid)
            self.transcripts[cid] = entries
        elif event.kind == "message" and cid is not None:
            entry = entry_from_record(event.fields["record"], event.fields.get("committed", False))
            entries = self.transcripts.setdefault(cid, [])
            entries.append(entry)
            if len(entries) > KEEP_MESSAGES:
                del entries[: len(entries) - KEEP_MESSAGES]
            fields["entry"] = entry
        elif event.kind == "acknowledged" and cid is not None:
            uid = event.fields["record"].message.uid
            for e in reversed(self.transcripts.get(cid, [])):
                if e["uid"] == uid:
                    e["stored"] = True
                    break
        elif event.kind == "session_end" and cid is not None:
            takeover = self.takeovers.pop(cid, None)
            if takeover is not None:
                takeover.active = False
            self._ended.append(cid)
            while len(self._ended) > KEEP_ENDED:
                old = self._ended.popleft()
                self.transcripts.pop(old, None)
                self.known.pop(old, None)
        self._emit(event.kind, s, **fields)

    def sessions(self) -> list[LiveSession]:
        """The live sessions, oldest first."""
        if self.runner is None:
            return []
        now = asyncio.get_event_loop().time()
        rows = []
        for cid, s in list(self.runner.sessions.items()):
            t = self.takeovers.get(cid)
            rows.append(
                LiveSession(
                    conversation_id=cid,
                    channel=s.channel,
                    person=s.person,
                    world=s.world,
                    idle=max(0.0, now - s.last_active),
                    taken_over=t is not None and t.active,
                    waiting=t is not None and t.waiting is not None,
                )
            )
        return rows

    def session(self, conversation_id: str) -> Any:
        if self.runner is not None and conversation_id in self.runner.sessions:
            return self.runner.sessions[conversation_id]
        return self.known.get(conversation_id)

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        return list(self.transcripts.get(conversation_id, []))

    # -- takeover -------------------------------------------------------------------
    def take_over(self, conversation_id: str) -> Takeover:
        """Answer in the bot's place in this conversation until :meth:`hand_back`."""
        session = self.runner.sessions.get(conversation_id) if self.runner is not None else None
        if session is None or session.closed:
            raise LookupError(f"no live conversation {conversation_id}")
        current = self.takeovers.get(conversation_id)
        if current is not None and current.active:
            return current
        takeover = Takeover(session, on_change=self._takeover_changed)
        self.takeovers[conversation_id] = takeover
        return takeover.install()

    def hand_back(self, conversation_id: str) -> None:
        takeover = self.takeovers.pop(conversation_id, None)
        if takeover is not None:
            takeover.hand_back()

    async def answer(self, conversation_id: str, text: str) -> str:
        """The developer's reply in a conversation they took over (see :meth:`Takeover.answer`)."""
        takeover = self.takeovers.get(conversation_id)
        if takeover is None or not takeover.active:
            raise LookupError(f"conversation {conversation_id} is not taken over")
        return await takeover.answer(text)

    def _takeover_changed(self, takeover: Takeover) -> None:
        self._emit("takeover", takeover.session, active=takeover.active, waiting=takeover.waiting is not None)
