"""The websocket channel at ``/websocket``: ParlAI's JSON frames, plus opt-in additions.

A client sends ``{"text": ...}`` (and ``payload`` for images); the server sends
``{"text": ..., "quick_replies": [...] | null}`` (plus ``id``, ``payload``). As
in ParlAI, a connection's first frame starts the conversation and is not taken
as an answer. Additions a ParlAI client never sees unless it asks:
``{"hello": {"session": ID?}}`` (resume after a reconnect), ``{"debug": true}``
(trace frames), and error frames ``{"text": ..., "error": {"code", "message"}}``.
docs/serve.md describes the protocol and its limits.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from workbench.message import Message

log = logging.getLogger(__name__)

#: keys a client frame may carry; ``id``, ``episode_done`` and ``message_history``
#: are sent by some ParlAI clients and ignored, as ParlAI's server ignores them
CLIENT_KEYS = frozenset({"text", "payload", "hello", "debug", "id", "episode_done", "message_history"})
#: the channels a hello may resume (a Messenger conversation cannot be taken over from a socket)
RESUMABLE = frozenset({"websocket", "browser", "terminal"})
#: frames waiting for a client that does not read; past this it is disconnected
OUTBOX_LIMIT = 1000

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


def error_frame(code: str, text: str) -> dict[str, Any]:
    return {"text": text, "id": "System", "error": {"code": code, "message": text}}


class _Closing:
    """Put in a connection's outbox: send what is before it, then close."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason


class Outlet:
    """What a session delivers to: one connection. The runner calls :meth:`close` when
    the conversation ends, which closes the socket after the last frames."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __call__(self, message: Message) -> None:
        self.conn.push(frame_of(message))

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
        self.closing = False
        self.outbox: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.last_frame = loop.time()
        self.tokens = float(self.spec.rate_burst)
        self.stamp = self.last_frame
        self.strikes = 0
        self.channel = "websocket"

    # -- writing ----------------------------------------------------------------
    def push(self, frame: dict[str, Any]) -> None:
        if self.closing:
            return
        if self.outbox.qsize() >= OUTBOX_LIMIT:
            log.warning("closing a websocket that does not read its frames")
            self.closing = True
            self.outbox.put_nowait(_Closing(POLICY, "not reading"))
            return
        self.outbox.put_nowait(dumps(frame))

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
            text = message.get("text")
            if text is None:
                self.error("binary_frame", "This server reads JSON text frames; binary frames are not accepted.")
                self.close(UNSUPPORTED, "binary frames are not accepted")
                continue
            await self.handle(text)

    def _strike(self, code: str, text: str) -> None:
        self.strikes += 1
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
        if len(raw) > limit or (len(raw) * 4 > limit and len(raw.encode("utf-8")) > limit):
            self.error("frame_too_big", f"That frame is larger than the limit of {limit} bytes.")
            self.close(TOO_BIG, "frame too big")
            return
        if not self._rate_ok():
            self._strike("rate_limited", "You are sending messages too fast; that one was dropped. Please slow down.")
            return
        try:
            data = json.loads(raw)
        except ValueError:
            self._strike("invalid_json", 'That frame is not valid JSON. Send an object such as {"text": "hello"}.')
            return
        if not isinstance(data, dict):
            self._strike("invalid_frame", 'A frame must be a JSON object such as {"text": "hello"}.')
            return
        unknown = data.keys() - CLIENT_KEYS
        if unknown and self.spec.unknown_fields == "error":
            names = ", ".join(sorted(unknown))
            self._strike(
                "unknown_field",
                f"Unknown field(s) {names}; the frame was not sent. Known: text, payload, hello, debug.",
            )
            return
        problem = self._check_types(data)
        if problem is not None:
            self._strike("invalid_field", problem)
            return
        self.strikes = 0
        control = False
        if "debug" in data:
            control = True
            self.set_debug(bool(data["debug"]))
        if "hello" in data:
            await self.hello(data["hello"] or {})
            return
        if control and "text" not in data and "payload" not in data:
            return
        if self.session is None:
            await self.start(data)
            return
        msg = Message(text=data.get("text") or "")
        if data.get("payload"):
            msg["payload"] = data["payload"]
        self.session.put(msg)

    @staticmethod
    def _check_types(data: dict[str, Any]) -> str | None:
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            return '"text" must be a string.'
        payload = data.get("payload")
        if payload is not None:
            if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
                return '"payload" must be an object with a "type", such as {"type": "image", "data": BASE64, "mime_type": "image/png"}.'
            if payload["type"] == "image":
                if "data" in payload:
                    mime = payload.get("mime_type")
                    if not isinstance(mime, str) or not mime.startswith("image/"):
                        return 'An image payload needs a "mime_type" such as "image/png".'
                    try:
                        base64.b64decode(payload["data"], validate=True)
                    except (binascii.Error, TypeError, ValueError):
                        return 'An image payload\'s "data" must be base64.'
                elif not isinstance(payload.get("url"), str):
                    return 'An image payload needs "data" (base64) or a "url".'
        hello = data.get("hello")
        if hello is not None and hello is not True and not isinstance(hello, dict):
            return '"hello" must be an object such as {"session": "ID"} or {}.'
        if isinstance(hello, dict):
            extra = hello.keys() - {"session", "history", "client"}
            if extra:
                return f'Unknown key(s) in "hello": {", ".join(sorted(extra))}. Known: session, history, client.'
            if hello.get("session") is not None and not isinstance(hello["session"], str):
                return '"hello.session" must be a string.'
            if not isinstance(hello.get("history", 0), int) or isinstance(hello.get("history"), bool):
                return '"hello.history" must be a whole number.'
            if hello.get("client", "websocket") not in RESUMABLE:
                return '"hello.client" must be one of: ' + ", ".join(sorted(RESUMABLE)) + "."
        if "debug" in data and not isinstance(data["debug"], bool):
            return '"debug" must be true or false.'
        return None

    # -- the conversation -------------------------------------------------------------
    async def start(self, first: dict[str, Any]) -> None:
        """The first frame: start a conversation. Its text is not an answer, except the password."""
        runner = self.service.runner
        self.session = await runner.connect(self.outlet, channel=self.channel)
        self.service.attached(self)
        text = (first.get("text") or "").strip()
        if runner.password and text:
            self.session.put(text)  # ParlAI lets a first message that is the password straight in

    async def hello(self, hello: dict[str, Any]) -> None:
        wanted = hello.get("session") if isinstance(hello, dict) else None
        if isinstance(hello, dict) and hello.get("client"):
            self.channel = hello["client"]
        if self.session is not None:
            if wanted in (None, self.session.conversation_id):
                self.push(self._hello_reply(resumed=False))
            else:
                self.error("hello_too_late", "A hello that resumes a conversation must be the first frame.")
            return
        history = (
            max(0, min(int(hello.get("history", 0) or 0), self.spec.max_history)) if isinstance(hello, dict) else 0
        )
        await self.service.open(self, wanted, history)

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


class WebsocketService:
    """Every websocket connection of one server, and the conversations they can resume."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.spec = ctx.serve_spec()
        self.connections: set[Connection] = set()
        #: conversation id -> the connection it is attached to
        self.owners: dict[str, Connection] = {}
        #: conversation id -> timer that ends it when its person does not come back
        self.grace: dict[str, asyncio.TimerHandle] = {}
        self.debugging: dict[str, Connection] = {}
        self._unsubscribe: Any = None
        self._sweeper: asyncio.Task | None = None
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

    async def endpoint(self, ws: Any) -> None:
        if self.ctx.stopping or self.runner is None:
            await ws.close(GOING_AWAY)
            return
        if not self.origin_ok(ws):
            log.warning("refused a websocket from origin %s", ws.headers.get("origin"))
            await ws.close(POLICY)  # before accept: the handshake gets HTTP 403
            return
        await ws.accept()
        conn = Connection(self, ws)
        if len(self.connections) >= self.spec.max_connections:
            conn.error("server_busy", "The server has too many connections; please try again later.")
            conn.close(TRY_LATER, "server busy")
            await conn.write_loop()
            return
        self.connections.add(conn)
        self._start_sweeper()
        writer = asyncio.ensure_future(conn.write_loop())
        try:
            await conn.read_loop()
        except Exception:
            log.exception("websocket connection failed")
        finally:
            self.connections.discard(conn)
            conn.closing = True
            self.gone(conn)
            if not writer.done():
                writer.cancel()

    # -- conversations come, go and come back ----------------------------------------------
    def attached(self, conn: Connection) -> None:
        cid = conn.session.conversation_id
        self.owners[cid] = conn
        timer = self.grace.pop(cid, None)
        if timer is not None:
            timer.cancel()
        self.set_debug(conn, conn.debug)

    async def open(self, conn: Connection, wanted: str | None, history: int) -> None:
        """A hello as the first frame: resume ``wanted`` (live or stored) or start a new conversation."""
        runner, store = self.runner, self.ctx.store
        conn.resumable = True
        if wanted:
            live = runner.sessions.get(wanted)
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
            conv = store.conversation(wanted) if store is not None else None
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
        grace = self.spec.resume_grace
        if conn.resumable and grace > 0 and not self.ctx.stopping:
            session.detach()
            self.grace[cid] = asyncio.get_running_loop().call_later(grace, self._expire, session)
        else:
            session.close()

    def _expire(self, session: Any) -> None:
        self.grace.pop(session.conversation_id, None)
        if session.detached and not session.closed:
            session.close()

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
        if conn is None or event.kind == "message":
            return  # a sent message is its own frame; a received one is reported when acknowledged
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

    # -- housekeeping -----------------------------------------------------------------------
    def _start_sweeper(self) -> None:
        if self._sweeper is None and self.spec.idle_timeout > 0:
            self._sweeper = asyncio.ensure_future(self._sweep())

    async def _sweep(self) -> None:
        """Close connections idle longer than ``idle_timeout`` (one timer for all of them)."""
        idle = self.spec.idle_timeout
        every = min(max(idle / 4, 0.05), 30.0)
        while True:
            await asyncio.sleep(every)
            now = asyncio.get_running_loop().time()
            for conn in list(self.connections):
                if not conn.closing and now - conn.last_frame > idle:
                    conn.error("idle_timeout", f"Closing this connection after {idle:g} s without a message.")
                    conn.close(NORMAL, "idle timeout")

    async def shutdown(self) -> None:
        """Close every remaining socket with 1001 (the runner has told the people)."""
        for timer in self.grace.values():
            timer.cancel()
        self.grace.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
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
