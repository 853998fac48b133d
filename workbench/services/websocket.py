"""The websocket channel at ``/websocket``: ParlAI's JSON frames, plus opt-in additions.

A client sends ``{"text": ...}`` (and ``payload`` for images); the server sends
``{"text": ..., "quick_replies": [...] | null}`` (plus ``id``, ``payload``). As
in ParlAI, a connection's first frame starts the conversation and is not taken
as an answer. Additions a ParlAI client never sees unless it asks:
``{"hello": {"session": ID?}}`` (resume after a reconnect), ``{"debug": true}``
(trace frames), ``{"stream": true}`` (a bot's reply as it is generated: delta frames, then the
final message, which names the stream; ``{"cancel": true}`` stops it), and error frames
``{"text": ..., "error": {"code", "message"}}``.
Every frame is parsed and checked once, at this edge (:mod:`workbench.services.websocket_frames`):
what reaches the runtime is clean text and a normalised attachment, never something the
server would resolve. docs/serve.md describes the protocol and its limits.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from workbench.message import Message
from workbench.services.websocket_frames import ClientFrame, FrameError, Hello, read_frame

log = logging.getLogger(__name__)

#: the channels a hello may resume (a Messenger conversation cannot be taken over from a socket)
RESUMABLE = frozenset({"websocket", "browser", "terminal"})
#: keys of a client frame that set something for the connection; alone, they are not a message
CONTROL_KEYS = frozenset({"debug", "stream", "cancel"})
#: frames waiting for a client that does not read; past this it is disconnected
OUTBOX_LIMIT = 1000
#: what went wrong at this edge (refused frames, evictions...) is logged as one summary line
#: at most this often, so no client can make the log grow with its frames
SUMMARY_EVERY = 60.0

# close codes (RFC 6455 and the IANA registry)
NORMAL, GOING_AWAY, UNSUPPORTED, POLICY, TOO_BIG, TRY_LATER = 1000, 1001, 1003, 1008, 1009, 1013
#: application code: the conversation was resumed by another connection
RESUMED_ELSEWHERE = 4001


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, default=str)


def frame_of(message: Message) -> dict[str, Any]:
    """The frame a person receives for ``message``: ParlAI's keys plus the speaker."""
    frame: dict[str, Any] = {"text": message.text, "quick_replies": message.get("quick_replies") or None}
    speaker = message.get("id")
    if speaker is not None:
        frame["id"] = speaker
    if message.get("payload"):
        frame["payload"] = message["payload"]
    if message.get("episode_done"):
        frame["episode_done"] = True
    return frame


def stream_end(message: Message) -> dict[str, Any] | None:
    """How the generation of ``message`` ended, for a client that saw its deltas (None: not generated)."""
    meta = message.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("stream"), str):
        return None
    end = "cancelled" if meta.get("cancelled") else "error" if meta.get("error") else "done"
    out: dict[str, Any] = {"id": meta["stream"], "end": end}
    if meta.get("regenerated"):
        out["regenerated"] = True
    return out


def error_frame(code: str, text: str) -> dict[str, Any]:
    return {"text": text, "id": "System", "error": {"code": code, "message": text}}


class _Closing:
    """Put in a connection's outbox: send what is before it, then close."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason


class _Delta:
    """A delta frame waiting in the outbox: later pieces of the same stream join it until it is
    written, so a client that reads slowly gets fewer, larger frames (never an overflow)."""

    __slots__ = ("bot", "stream", "text")

    def __init__(self, bot: str, stream: str, text: str) -> None:
        self.bot, self.stream, self.text = bot, stream, text

    def frame(self) -> str:
        return dumps({"text": "", "id": self.bot, "stream": {"id": self.stream, "delta": self.text}})


class Outlet:
    """What a session delivers to: one connection. The runner calls :meth:`close` when
    the conversation ends, which closes the socket after the last frames."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __call__(self, message: Message) -> None:
        frame = frame_of(message)
        if self.conn.stream:
            end = stream_end(message)
            if end is not None:
                frame["stream"] = end
        self.conn.push(frame)

    def delta(self, bot: str, stream: str, text: str) -> None:
        """A piece of a reply being generated (workbench/runtime/session.py, DeltaOutlet)."""
        if self.conn.stream:
            self.conn.push_delta(bot, stream, text)

    def close(self) -> None:
        stopping = self.conn.service.ctx.stopping
        self.conn.close(
            GOING_AWAY if stopping else NORMAL, "server shutting down" if stopping else "conversation ended"
        )


class Connection:
    """One client socket: reads and checks frames, writes frames in order from an outbox."""

    def __init__(self, service: WebsocketService, ws: Any) -> None:
        self.service = service
        self.ws = ws
        self.spec = service.spec
        self.session: Any = None
        self.outlet = Outlet(self)
        self.resumable = False  # said hello: keep the conversation when the socket drops
        self.debug = False
        #: the client asked for replies as they are generated (hello's or a frame's ``stream``)
        self.stream = False
        self._open_delta: _Delta | None = None
        self.closing = False
        self.outbox: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.last_frame = loop.time()
        self.tokens = float(self.spec.rate_burst)
        self.stamp = self.last_frame
        self.strikes = 0
        self.channel = "websocket"
        client = getattr(ws, "client", None)
        #: the client's address: detached conversations are capped per address
        self.host: str = client.host if client is not None and client.host else "?"

    # -- writing ----------------------------------------------------------------
    def push(self, frame: dict[str, Any]) -> None:
        self._enqueue(dumps(frame))

    def push_delta(self, bot: str, stream: str, text: str) -> None:
        waiting = self._open_delta
        if waiting is not None and waiting.stream == stream and not self.closing:
            waiting.text += text
            return
        delta = _Delta(bot, stream, text)
        if self._enqueue(delta):
            self._open_delta = delta

    def _enqueue(self, item: Any) -> bool:
        if self.closing:
            return False
        self._open_delta = None  # what follows a frame comes after it
        if self.outbox.qsize() >= OUTBOX_LIMIT:
            self.service.tally("not_reading")
            self.closing = True
            self.outbox.put_nowait(_Closing(POLICY, "not reading"))
            return False
        self.outbox.put_nowait(item)
        return True

    def error(self, code: str, text: str) -> None:
        self.push(error_frame(code, text))

    def close(self, code: int, reason: str) -> None:
        if not self.closing:
            self.closing = True
            self.outbox.put_nowait(_Closing(code, reason))

    async def write_loop(self) -> None:
        ws = self.ws
        while True:
            item = await self.outbox.get()
            try:
                if isinstance(item, _Closing):
                    await ws.close(item.code, item.reason)
                    return
                if isinstance(item, _Delta):
                    if item is self._open_delta:
                        self._open_delta = None  # written now: later pieces start a new frame
                    item = item.frame()
                await ws.send_text(item)
            except Exception:  # the client went away; the read loop sees the disconnect
                self.closing = True
                return

    # -- reading ----------------------------------------------------------------
    async def read_loop(self) -> None:
        ws = self.ws
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if self.closing:
                continue  # a close is on its way; the client's frames no longer count
            self.last_frame = self.loop.time()
            self.service.spoke(self)
            text = message.get("text")
            if text is None:
                self.error("binary_frame", "This server reads JSON text frames; binary frames are not accepted.")
                self.close(UNSUPPORTED, "binary frames are not accepted")
                continue
            try:
                await self.handle(text)
            except Exception:
                # a bug met by one frame costs that frame, not the connection (nor a log line per frame)
                self.service.failed(self)
                self.error("internal_error", "Sorry, that message could not be handled; please try again.")

    def _strike(self, code: str, text: str) -> None:
        self.strikes += 1
        self.service.tally(code)
        self.error(code, text)
        if self.strikes >= self.spec.max_strikes:
            self.error("too_many_errors", "Too many frames in a row were refused; closing the connection.")
            self.close(POLICY, "too many refused frames")

    def _rate_ok(self) -> bool:
        rate = self.spec.rate_limit
        if rate <= 0:
            return True
        now = self.last_frame
        self.tokens = min(float(self.spec.rate_burst), self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    async def handle(self, raw: str) -> None:
        limit = self.spec.max_frame_bytes
        if len(raw) > limit or (len(raw) * 4 > limit and len(raw.encode("utf-8", "surrogatepass")) > limit):
            self.service.tally("frame_too_big")
            self.error("frame_too_big", f"That frame is larger than the limit of {limit} bytes.")
            self.close(TOO_BIG, "frame too big")
            return
        if not self._rate_ok():
            self._strike("rate_limited", "You are sending messages too fast; that one was dropped. Please slow down.")
            return
        try:
            frame = read_frame(raw, limit, self.spec.unknown_fields)
        except FrameError as refused:
            self._strike(refused.code, refused.text)
            return
        self.strikes = 0
        given = frame.model_fields_set
        if "debug" in given:
            self.set_debug(bool(frame.debug))
        if "stream" in given:
            self.stream = bool(frame.stream)
        if "cancel" in given and self.session is not None:
            self.session.cancel_generation("person")
        if "hello" in given:
            await self.hello(frame.hello if isinstance(frame.hello, Hello) else Hello.model_validate({}))
            return
        if given & CONTROL_KEYS and "text" not in given and "payload" not in given:
            return
        if self.session is None:
            await self.start(frame)
            return
        self.session.put(message_of(frame))

    # -- the conversation -------------------------------------------------------------
    async def start(self, first: ClientFrame) -> None:
        """The first frame: start a conversation. Its text is not an answer, except the password."""
        runner = self.service.runner
        self.session = await runner.connect(self.outlet, channel=self.channel)
        self.service.attached(self)
        text = (first.text or "").strip()
        if runner.password and text:
            self.session.put(text)  # ParlAI lets a first message that is the password straight in

    async def hello(self, hello: Hello) -> None:
        wanted = hello.session
        if "client" in hello.model_fields_set:
            self.channel = hello.client
        if "stream" in hello.model_fields_set:
            self.stream = hello.stream
        if self.session is not None:
            if wanted in (None, self.session.conversation_id):
                self.push(self._hello_reply(resumed=False))
            else:
                self.error("hello_too_late", "A hello that resumes a conversation must be the first frame.")
            return
        await self.service.open(self, wanted, min(hello.history, self.spec.max_history))

    def _hello_reply(self, resumed: bool) -> dict[str, Any]:
        spec = self.spec
        return {
            "text": "",
            "session": self.session.conversation_id,
            "resumed": resumed,
            "limits": {
                "max_frame_bytes": spec.max_frame_bytes,
                "rate_limit": spec.rate_limit,
                "rate_burst": spec.rate_burst,
                "resume_grace": spec.resume_grace,
            },
            "stream": self.stream,
        }

    def set_debug(self, on: bool) -> None:
        self.debug = on
        self.service.set_debug(self, on)
        self.push({"text": "", "debug": {"event": "debug", "enabled": on}})

    def send_history(self, conversation_id: str, count: int) -> None:
        store = self.service.ctx.store
        if not count or store is None:
            return
        for row in store.messages(conversation_id)[-count:]:
            act = Message(row["act"])
            if not act.text and not act.get("payload"):
                continue
            frame = frame_of(act)
            frame["history"] = True
            frame["role"] = row["role"]
            self.push(frame)


def message_of(frame: ClientFrame) -> Message:
    """What the runtime receives for a checked frame: its text and its normalised attachment."""
    msg = Message(text=frame.text or "")
    if frame.payload is not None:
        msg["payload"] = frame.payload.normalised()
    return msg


@dataclass
class _Detached:
    """A conversation whose socket dropped, waiting ``resume_grace`` for its person."""

    session: Any
    host: str
    timer: asyncio.TimerHandle


class WebsocketService:
    """Every websocket connection of one server, and the conversations they can resume.

    Detached conversations (a hello'd socket that dropped) are held for ``resume_grace``
    seconds, at most ``max_detached`` of them and ``max_detached_per_client`` per client
    address, the oldest given up first; they count against ``max_connections`` with the
    open sockets, so dropped conversations cannot fill the server.
    """

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.spec = ctx.serve_spec()
        self.connections: set[Connection] = set()
        #: connections that have not sent their first frame yet -> when they were accepted
        self.fresh: dict[Connection, float] = {}
        #: conversation id -> the connection it is attached to
        self.owners: dict[str, Connection] = {}
        #: conversation id -> the detached conversation, oldest first
        self.detached: collections.OrderedDict[str, _Detached] = collections.OrderedDict()
        #: client address -> its detached conversations' ids, oldest first
        self.detached_by_host: dict[str, collections.OrderedDict[str, None]] = {}
        self.debugging: dict[str, Connection] = {}
        self._unsubscribe: Any = None
        self._sweeper: asyncio.Task | None = None
        #: what happened at this edge since the last summary line (code -> count)
        self._tally: collections.Counter[str] = collections.Counter()
        self._failure_logged = False
        ctx.shutdown_hooks.append(self.shutdown)

    @property
    def runner(self) -> Any:
        return self.ctx.runner

    # -- the endpoint -------------------------------------------------------------------
    def origin_ok(self, ws: Any) -> bool:
        """Browsers send Origin: allow the server's own and the configured ones (non-browsers send none)."""
        origin = ws.headers.get("origin")
        if origin is None:
            return True
        allowed = self.spec.allowed_origins
        if "*" in allowed:
            return True
        if origin.rstrip("/") in {a.rstrip("/") for a in allowed}:
            return True
        host = ws.headers.get("host", "")
        return bool(host) and urlsplit(origin).netloc.lower() == host.lower()

    def _room(self) -> bool:
        """Whether one more connection fits, giving up the oldest detached conversation if need be."""
        if len(self.connections) + len(self.detached) < self.spec.max_connections:
            return True
        if self.detached:
            self._give_up(next(iter(self.detached)))
            return True
        return False

    async def endpoint(self, ws: Any) -> None:
        if self.ctx.stopping or self.runner is None:
            await ws.close(GOING_AWAY)
            return
        if not self.origin_ok(ws):
            self.tally("origin_refused")
            await ws.close(POLICY)  # before accept: the handshake gets HTTP 403
            return
        await ws.accept()
        conn = Connection(self, ws)
        if not self._room():
            self.tally("server_busy")
            conn.error("server_busy", "The server has too many connections; please try again later.")
            conn.close(TRY_LATER, "server busy")
            await conn.write_loop()
            return
        self.connections.add(conn)
        self.fresh[conn] = conn.last_frame
        self._start_sweeper()
        writer = asyncio.ensure_future(conn.write_loop())
        try:
            await conn.read_loop()
        except Exception:
            self.failed(conn)
        finally:
            self.connections.discard(conn)
            self.fresh.pop(conn, None)
            conn.closing = True
            self.gone(conn)
            if not writer.done():
                writer.cancel()

    def spoke(self, conn: Connection) -> None:
        """``conn`` sent a frame: it is past the handshake."""
        if self.fresh:
            self.fresh.pop(conn, None)

    # -- conversations come, go and come back ----------------------------------------------
    def attached(self, conn: Connection) -> None:
        cid = conn.session.conversation_id
        self.owners[cid] = conn
        self._release(cid)
        self.set_debug(conn, conn.debug)

    async def open(self, conn: Connection, wanted: str | None, history: int) -> None:
        """A hello as the first frame: resume ``wanted`` (live or stored) or start a new conversation."""
        runner, store = self.runner, self.ctx.store
        conn.resumable = True
        if wanted:
            live = runner.sessions.get(wanted)
            if live is not None and not live.closed and not await self.runner.holds(live):
                live.release()  # another instance took it over since: resume it from the store
            if live is not None and live.closed:
                await runner.disconnect(live, wait=5.0)  # ending (its grace ran out): let it finish first
                live = None
            if live is not None and live.channel in RESUMABLE and not live.closed:
                old = self.owners.get(wanted)
                if old is not None and old is not conn:
                    old.session = None
                    old.error("resumed_elsewhere", "This conversation was resumed by another connection.")
                    old.close(RESUMED_ELSEWHERE, "resumed elsewhere")
                conn.session = live
                self.attached(conn)
                conn.push(conn._hello_reply(resumed=True))
                conn.send_history(wanted, history)
                await live.attach(conn.outlet, replay=not history)
                return
            # not live here: another instance (or this one before a restart) had it; the store has it all
            conv = await asyncio.to_thread(store.conversation, wanted) if store is not None else None
            if conv is not None and conv.get("channel") in RESUMABLE:
                conn.session = await runner.connect(
                    conn.outlet, conversation_id=wanted, resume=True, channel=conv["channel"]
                )
                self.attached(conn)
                conn.push(conn._hello_reply(resumed=True))
                conn.send_history(wanted, history)
                return
            conn.error("unknown_session", f"There is no conversation {wanted} to resume; starting a new one.")
        conn.session = await runner.connect(conn.outlet, channel=conn.channel)
        self.attached(conn)
        conn.push(conn._hello_reply(resumed=False))

    def gone(self, conn: Connection) -> None:
        """The socket closed: a hello'd conversation waits ``resume_grace`` seconds, others end now."""
        session, conn.session = conn.session, None
        if conn.debug:
            self.set_debug(conn, False)
        if session is None:
            return
        cid = session.conversation_id
        if self.owners.get(cid) is conn:
            del self.owners[cid]
        else:
            return  # another connection has taken it over
        if session.closed:
            return
        spec = self.spec
        if conn.resumable and spec.resume_grace > 0 and spec.max_detached > 0 and not self.ctx.stopping:
            session.detach()
            self._keep(session, conn.host)
        else:
            session.close()

    def _keep(self, session: Any, host: str) -> None:
        """Hold a detached conversation, within the caps (the oldest are given up first)."""
        cid = session.conversation_id
        timer = asyncio.get_running_loop().call_later(self.spec.resume_grace, self._expire, cid)
        self.detached[cid] = _Detached(session, host, timer)
        mine = self.detached_by_host.setdefault(host, collections.OrderedDict())
        mine[cid] = None
        while len(mine) > self.spec.max_detached_per_client:
            self._give_up(next(iter(mine)))
        while len(self.detached) > self.spec.max_detached:
            self._give_up(next(iter(self.detached)))

    def _release(self, cid: str) -> _Detached | None:
        """Stop holding ``cid`` as detached (it was resumed, expired or given up)."""
        held = self.detached.pop(cid, None)
        if held is None:
            return None
        held.timer.cancel()
        mine = self.detached_by_host.get(held.host)
        if mine is not None:
            mine.pop(cid, None)
            if not mine:
                del self.detached_by_host[held.host]
        return held

    def _give_up(self, cid: str) -> None:
        """End a detached conversation to make room (it can still be resumed from the store)."""
        held = self._release(cid)
        if held is not None:
            self.tally("detached_given_up")
            if held.session.detached and not held.session.closed:
                held.session.close()

    def _expire(self, cid: str) -> None:
        held = self._release(cid)
        if held is not None and held.session.detached and not held.session.closed:
            held.session.close()

    # -- debug frames ------------------------------------------------------------------------
    def set_debug(self, conn: Connection, on: bool) -> None:
        """Trace frames for ``conn``'s conversation; the runner is observed only while someone debugs."""
        if conn.session is None:
            return
        cid = conn.session.conversation_id
        if on:
            self.debugging[cid] = conn
            if self._unsubscribe is None:
                self._unsubscribe = self.runner.subscribe(self._on_event)
            return
        if cid in self.debugging and (self.debugging[cid] is conn or self.debugging[cid].closing):
            del self.debugging[cid]
        if not self.debugging and self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_event(self, event: Any) -> None:
        if event.session is None:
            return
        conn = self.debugging.get(event.session.conversation_id)
        if conn is None or event.kind in ("message", "delta"):
            # a sent message is its own frame (deltas too, with stream); a received one is
            # reported when acknowledged
            return
        info: dict[str, Any] = {"event": event.kind}
        for key, value in event.fields.items():
            if key == "record":
                info["text"] = value.message.text
                info["role"] = value.role
                if value.trace is not None:
                    info["trace"] = value.trace
            else:
                info[key] = value
        conn.push({"text": "", "debug": info})

    # -- what happened, logged at a bounded rate ------------------------------------------------
    def tally(self, what: str) -> None:
        """Count an event of this edge for the next summary line (never a line per frame)."""
        self._tally[what] += 1
        self._start_sweeper()

    def failed(self, conn: Connection) -> None:
        """An unexpected error handling ``conn``'s frame: the first is logged with its traceback,
        the rest are counted in the summary line."""
        if not self._failure_logged:
            self._failure_logged = True
            log.exception("a websocket frame could not be handled (further failures are counted, not logged)")
        self.tally("internal_error")

    def summarise(self) -> None:
        if self._tally:
            counts = ", ".join(f"{what} {n}" for what, n in sorted(self._tally.items()))
            log.info("websocket: in the last %g s: %s", SUMMARY_EVERY, counts)
            self._tally.clear()
        self._failure_logged = False

    # -- housekeeping -----------------------------------------------------------------------
    def _start_sweeper(self) -> None:
        if self._sweeper is None and not self.ctx.stopping:
            try:
                self._sweeper = asyncio.ensure_future(self._sweep())
            except RuntimeError:  # no running loop (a tally outside the server's loop)
                pass

    async def _sweep(self) -> None:
        """One timer for every connection: close those idle longer than ``idle_timeout`` and
        those that sent no frame within ``handshake_timeout``; log the summary line."""
        spec = self.spec
        idle, handshake = spec.idle_timeout, spec.handshake_timeout
        every = min([t / 4 for t in (idle, handshake) if t > 0] + [30.0])
        every = max(every, 0.05)
        loop = asyncio.get_running_loop()
        summary_at = loop.time() + SUMMARY_EVERY
        while True:
            await asyncio.sleep(every)
            now = loop.time()
            if handshake > 0:
                for conn, since in list(self.fresh.items()):
                    if now - since <= handshake:
                        break  # oldest first: the rest are younger
                    del self.fresh[conn]
                    if not conn.closing:
                        self.tally("handshake_timeout")
                        conn.error("handshake_timeout", f"Closing this connection: no frame within {handshake:g} s.")
                        conn.close(POLICY, "handshake timeout")
            if idle > 0:
                for conn in list(self.connections):
                    if not conn.closing and now - conn.last_frame > idle:
                        conn.error("idle_timeout", f"Closing this connection after {idle:g} s without a message.")
                        conn.close(NORMAL, "idle timeout")
            if now >= summary_at:
                summary_at = now + SUMMARY_EVERY
                self.summarise()

    async def shutdown(self) -> None:
        """Close every remaining socket with 1001 (the runner has told the people)."""
        for held in self.detached.values():
            held.timer.cancel()
        self.detached.clear()
        self.detached_by_host.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.summarise()
        for conn in list(self.connections):
            conn.close(GOING_AWAY, "server shutting down")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3.0
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.02)


def routes(ctx: Any) -> list:
    from starlette.routing import WebSocketRoute

    service = WebsocketService(ctx)
    return [WebSocketRoute("/websocket", service.endpoint)]
