"""Facebook Messenger: the webhook at ``/webhook/messenger`` and replies through the Send API.

Each sender (a page-scoped id, PSID) is one person in the runtime: one Session on
channel ``messenger``, resumed from the store after a restart. Text, quick-reply
payloads and postbacks become messages; attachments become a message's
``payload``. Replies go out per person in order through an outbox, each after a
``typing_on``; long texts are split at Messenger's 2,000-character limit on word
boundaries, quick replies are cut to Messenger's limits, attachments go by URL or
through the Attachment Upload API, and personas are created on first use.

Secrets come only from the environment (``WORKBENCH_FB_PAGE_TOKEN``,
``WORKBENCH_FB_APP_SECRET``, ``WORKBENCH_FB_VERIFY_TOKEN``); the Graph API's base
URL (``WORKBENCH_FB_GRAPH_URL``) and version (``WORKBENCH_FB_GRAPH_VERSION``) can
point elsewhere, which is how the tests reach a local double. See docs/messenger.md.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import hmac
import json
import logging
import mimetypes
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.message import Message
from workbench.task.schema import MessengerSpec

log = logging.getLogger(__name__)

PATH = "/webhook/messenger"
CHANNEL = "messenger"
DEFAULT_GRAPH_URL = "https://graph.facebook.com"

#: Messenger's limits (Send API reference)
MAX_TEXT_CHARS = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE_CHARS = 20
MAX_QUICK_REPLY_PAYLOAD_CHARS = 1000
ATTACHMENT_TYPES = ("image", "audio", "video", "file")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
#: webhook bodies larger than this are refused before the signature is checked
MAX_BODY_BYTES = 4 * 1024 * 1024
#: how many recent message ids are remembered to drop Messenger's redeliveries
SEEN_MIDS = 4096


# -- settings ---------------------------------------------------------------------

#: the defaults of task.yml's ``serve.messenger`` (one source of truth)
_DEFAULTS = MessengerSpec()


@dataclass
class MessengerSettings:
    """Where the Send API is and how replies go out; secrets only from the environment.
    The other fields are task.yml's ``serve.messenger`` (MessengerSpec)."""

    page_token: str | None = None
    app_secret: str | None = None
    verify_token: str | None = None
    graph_url: str = DEFAULT_GRAPH_URL
    graph_version: str = _DEFAULTS.graph_version
    typing: bool = _DEFAULTS.typing
    mark_seen: bool = _DEFAULTS.mark_seen
    #: speaker (a message's ``id``, e.g. a bot's name) -> {name, profile_picture_url}
    personas: dict[str, dict[str, str]] = field(default_factory=dict)
    retries: int = _DEFAULTS.retries
    backoff: float = _DEFAULTS.backoff
    timeout: float = _DEFAULTS.timeout

    @classmethod
    def load(cls, options: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> MessengerSettings:
        """Defaults, then ``options`` (task.yml ``serve.messenger`` or the server's settings),
        then the environment. Secrets given in ``options`` are ignored: they belong in the
        environment, never in a file that may be committed."""
        env = os.environ if env is None else env
        opts = dict(options or {})
        for secret in ("page_token", "app_secret", "verify_token"):
            if opts.pop(secret, None) is not None:
                log.warning(
                    "messenger: %r in the task's settings is ignored; set WORKBENCH_FB_%s in the environment",
                    secret,
                    secret.upper(),
                )
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(opts) - known)
        if unknown:
            log.warning("messenger: unknown settings ignored: %s", ", ".join(unknown))
        s = cls(**{k: v for k, v in opts.items() if k in known})
        s.page_token = env.get("WORKBENCH_FB_PAGE_TOKEN") or None
        s.app_secret = env.get("WORKBENCH_FB_APP_SECRET") or None
        s.verify_token = env.get("WORKBENCH_FB_VERIFY_TOKEN") or None
        s.graph_url = (env.get("WORKBENCH_FB_GRAPH_URL") or s.graph_url).rstrip("/")
        s.graph_version = env.get("WORKBENCH_FB_GRAPH_VERSION") or s.graph_version
        return s


def _task_options(ctx: Any) -> dict[str, Any]:
    """task.yml's ``serve.messenger``, then the server's ``settings["messenger"]`` on top."""
    out: dict[str, Any] = {}
    section = getattr(getattr(getattr(ctx.task, "spec", None), "serve", None), "messenger", None)
    if section is not None:
        out.update(section.model_dump())
    extra = (ctx.settings or {}).get("messenger")
    if isinstance(extra, dict):
        out.update(extra)
    return out


# -- outgoing messages: pure helpers -------------------------------------------------


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at whitespace where possible.

    A word longer than ``limit`` is cut where it must be. Empty text gives no pieces.
    """
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
        if cut <= 0:
            head, rest = rest[:limit], rest[limit:]
        else:
            head, rest = rest[:cut], rest[cut:]
        head = head.rstrip()
        if head:
            pieces.append(head)
        rest = rest.lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _title(label: str) -> str:
    label = " ".join(label.split())
    if len(label) <= MAX_QUICK_REPLY_TITLE_CHARS:
        return label
    return label[: MAX_QUICK_REPLY_TITLE_CHARS - 1].rstrip() + "…"


def quick_replies(options: list[Any]) -> list[dict[str, Any]]:
    """Messenger quick replies for a message's ``quick_replies``.

    A string becomes a text quick reply whose title is cut to 20 characters and
    whose payload is the whole label, so a tap sends back exactly what the world
    offered. A dict is taken as Messenger's own shape (``content_type`` ``text``,
    ``user_phone_number`` or ``user_email``). Only the first 13 are kept.
    """
    out: list[dict[str, Any]] = []
    for opt in options:
        if isinstance(opt, dict):
            kind = opt.get("content_type", "text")
            if kind != "text":
                out.append({"content_type": kind})
                continue
            label = str(opt.get("title") or opt.get("payload") or "")
            payload = str(opt.get("payload") or label)
            item = {"content_type": "text", "title": _title(label), "payload": payload[:MAX_QUICK_REPLY_PAYLOAD_CHARS]}
            if opt.get("image_url"):
                item["image_url"] = str(opt["image_url"])
        else:
            label = str(opt)
            if not label.strip():
                continue
            item = {"content_type": "text", "title": _title(label), "payload": label[:MAX_QUICK_REPLY_PAYLOAD_CHARS]}
        out.append(item)
    if len(out) > MAX_QUICK_REPLIES:
        log.warning(
            "messenger: %d quick replies offered, Messenger shows at most %d; the rest are dropped",
            len(out),
            MAX_QUICK_REPLIES,
        )
        out = out[:MAX_QUICK_REPLIES]
    return out


def incoming_message(event: dict[str, Any]) -> Message | None:
    """The message a webhook ``messaging`` event carries, or ``None`` (echoes, receipts...)."""
    meta: dict[str, Any] = {"channel": CHANNEL}
    if "message" in event:
        m = event.get("message") or {}
        if m.get("is_echo"):
            return None
        meta["mid"] = m.get("mid")
        text = m.get("text") or ""
        qr = m.get("quick_reply")
        msg = Message(text=text)
        if isinstance(qr, dict) and qr.get("payload") is not None:
            # the payload is the label the world offered; the shown title may be cut short
            msg["text"] = str(qr["payload"])
            meta["kind"] = "quick_reply"
            meta["title"] = text
        else:
            meta["kind"] = "text"
        atts = [a for a in (m.get("attachments") or []) if isinstance(a, dict)]
        if atts:
            items = [{"type": a.get("type", "file"), **(a.get("payload") or {})} for a in atts]
            msg["payload"] = items[0]
            if len(items) > 1:
                msg["attachments"] = items
            if meta["kind"] == "text" and not text:
                meta["kind"] = "attachment"
        if m.get("reply_to"):
            meta["reply_to"] = m["reply_to"]
    elif "postback" in event:
        pb = event.get("postback") or {}
        meta.update(kind="postback", mid=pb.get("mid"), title=pb.get("title"))
        msg = Message(text=str(pb.get("payload") or pb.get("title") or ""))
    else:
        return None
    if event.get("timestamp") is not None:
        meta["timestamp"] = event["timestamp"]
    msg["meta"] = {k: v for k, v in meta.items() if v is not None}
    return msg


# -- the Graph API ----------------------------------------------------------------


class GraphError(Exception):
    """A Graph API request failed: HTTP status (0: no answer), Facebook's code and message."""

    def __init__(self, status: int, message: str, code: Any = None, fbtrace_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.fbtrace_id = fbtrace_id

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "no answer"
        code = f", code {self.code}" if self.code is not None else ""
        trace = f" (fbtrace_id {self.fbtrace_id})" if self.fbtrace_id else ""
        return f"{where}{code}: {self.message}{trace}"


_TOKEN = re.compile(r"(access_token=)[^&\s\"']+")


def redact(text: str) -> str:
    """``text`` with any access token in a URL replaced, for logs."""
    return _TOKEN.sub(r"\1[redacted]", text)


class _RedactTokens(logging.Filter):
    """httpx logs request URLs, and the page token rides in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True
        if "access_token=" in text:
            record.msg, record.args = redact(text), ()
        return True


_redactor = _RedactTokens()


class GraphClient:
    """The page's side of the Graph API (Send API, attachments, personas), with retries."""

    def __init__(self, settings: MessengerSettings, transport: Any = None) -> None:
        import httpx  # lazy: only a server with Messenger needs it

        self.settings = settings
        self.base = f"{settings.graph_url}/{settings.graph_version}"
        self._client = httpx.AsyncClient(timeout=settings.timeout, transport=transport)
        httpx_log = logging.getLogger("httpx")
        if _redactor not in httpx_log.filters:
            httpx_log.addFilter(_redactor)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self, method: str, path: str, *, json_body: Any = None, data: Any = None, files: Any = None
    ) -> dict[str, Any]:
        """One Graph API call; 5xx, 429 and network errors are retried with backoff, 4xx raise at once."""
        import httpx

        token = self.settings.page_token
        if not token:
            raise GraphError(0, "WORKBENCH_FB_PAGE_TOKEN is not set, so nothing can be sent to Messenger")
        url = f"{self.base}/{path.lstrip('/')}"
        attempts = max(0, self.settings.retries) + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                resp = await self._client.request(
                    method, url, params={"access_token": token}, json=json_body, data=data, files=files
                )
            except httpx.HTTPError as exc:
                error = GraphError(0, f"{type(exc).__name__}: {redact(str(exc)) or 'connection failed'}")
                if last:
                    raise error from None
                await self._pause(attempt, None, error)
                continue
            if resp.status_code < 400:
                try:
                    return resp.json()
                except ValueError:
                    return {}
            error = self._error(resp)
            if (resp.status_code >= 500 or resp.status_code == 429) and not last:
                await self._pause(attempt, resp.headers.get("retry-after"), error)
                continue
            raise error
        raise AssertionError("unreachable")

    async def _pause(self, attempt: int, retry_after: str | None, error: GraphError) -> None:
        delay = self.settings.backoff * (2**attempt)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        log.warning("messenger: Graph API %s; retrying in %.2f s", error, delay)
        await asyncio.sleep(delay)

    @staticmethod
    def _error(resp: Any) -> GraphError:
        try:
            body = resp.json()
        except ValueError:
            body = None
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            return GraphError(
                resp.status_code, str(err.get("message") or "error"), err.get("code"), err.get("fbtrace_id")
            )
        return GraphError(resp.status_code, (resp.text or resp.reason_phrase or "error")[:300])

    # -- the calls ParlAI's MessageSender makes ----------------------------------
    async def send_message(self, psid: str, message: dict[str, Any], persona_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message}
        if persona_id:
            body["persona_id"] = persona_id
        return await self.request("POST", "me/messages", json_body=body)

    async def sender_action(self, psid: str, action: str, persona_id: str | None = None) -> dict[str, Any]:
        if action not in SENDER_ACTIONS:
            raise ValueError(f"unknown sender action {action!r}; expected one of {', '.join(SENDER_ACTIONS)}")
        body: dict[str, Any] = {"recipient": {"id": psid}, "sender_action": action}
        if persona_id and action != "mark_seen":
            body["persona_id"] = persona_id
        return await self.request("POST", "me/messages", json_body=body)

    async def upload_attachment(
        self,
        kind: str,
        *,
        url: str | None = None,
        content: bytes | None = None,
        filename: str = "attachment",
        mime_type: str | None = None,
    ) -> str:
        """Upload by URL or by content through the Attachment Upload API; the reusable id."""
        if kind not in ATTACHMENT_TYPES:
            raise ValueError(f"cannot upload a {kind!r}; expected one of {', '.join(ATTACHMENT_TYPES)}")
        if url:
            body = {"message": {"attachment": {"type": kind, "payload": {"url": url, "is_reusable": True}}}}
            result = await self.request("POST", "me/message_attachments", json_body=body)
        elif content is not None:
            message = json.dumps({"attachment": {"type": kind, "payload": {"is_reusable": True}}})
            mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
            result = await self.request(
                "POST",
                "me/message_attachments",
                data={"message": message},
                files={"filedata": (filename, content, mime)},
            )
        else:
            raise ValueError("an upload needs a url or the file's content")
        attachment_id = result.get("attachment_id")
        if not attachment_id:
            raise GraphError(200, f"the Attachment Upload API answered without an attachment_id: {result}")
        return str(attachment_id)

    async def create_persona(self, name: str, profile_picture_url: str) -> str:
        result = await self.request(
            "POST", "me/personas", json_body={"name": name, "profile_picture_url": profile_picture_url}
        )
        if not result.get("id"):
            raise GraphError(200, f"the Personas API answered without an id: {result}")
        return str(result["id"])

    async def delete_persona(self, persona_id: str) -> None:
        await self.request("DELETE", persona_id)


# -- the service ----------------------------------------------------------------------


class _Person:
    """One PSID: their live session (if any) and their outbox, sent in order by one task."""

    def __init__(self, psid: str) -> None:
        self.psid = psid
        self.session: Any = None
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.worker: asyncio.Task | None = None
        self.lock = asyncio.Lock()


class _Deliver:
    """The session's deliver callback: queue the message for the person's outbox."""

    def __init__(self, service: MessengerService, person: _Person) -> None:
        self.service = service
        self.person = person
        self.session: Any = None

    async def __call__(self, message: Message) -> None:
        self.service._queue(self.person, ("message", message))

    def close(self) -> None:
        self.service._ended(self.person, self.session)


class MessengerService:
    """The webhook's handlers and the per-person outboxes; one per server app."""

    def __init__(self, ctx: Any, settings: MessengerSettings | None = None, transport: Any = None) -> None:
        self.ctx = ctx
        self._settings = settings
        self._transport = transport
        self._graph: GraphClient | None = None
        self.people: dict[str, _Person] = {}
        self._tasks: set[asyncio.Task] = set()
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._personas: dict[str, str] = {}
        self._persona_lock: asyncio.Lock | None = None
        self._uploads: dict[tuple[str, str], str] = {}
        self._warned_token = False

    @property
    def settings(self) -> MessengerSettings:
        """Read on first use, so the environment and ``ctx.settings`` of a built app still count."""
        if self._settings is None:
            self._settings = MessengerSettings.load(_task_options(self.ctx))
            missing = [
                name
                for name, value in (
                    ("WORKBENCH_FB_PAGE_TOKEN", self._settings.page_token),
                    ("WORKBENCH_FB_APP_SECRET", self._settings.app_secret),
                    ("WORKBENCH_FB_VERIFY_TOKEN", self._settings.verify_token),
                )
                if not value
            ]
            if missing:
                log.warning("messenger: %s not set; see docs/messenger.md", ", ".join(missing))
        return self._settings

    @property
    def graph(self) -> GraphClient:
        if self._graph is None:
            self._graph = GraphClient(self.settings, transport=self._transport)
        return self._graph

    # -- webhook ------------------------------------------------------------------
    async def verify(self, request: Any) -> Any:
        """GET: Facebook checks the webhook with ``hub.mode``, ``hub.verify_token``, ``hub.challenge``."""
        from starlette.responses import PlainTextResponse

        q = request.query_params
        expected = self.settings.verify_token
        if not expected:
            log.error("messenger: webhook verification refused: WORKBENCH_FB_VERIFY_TOKEN is not set")
            return PlainTextResponse("Forbidden", status_code=403)
        token = q.get("hub.verify_token") or ""
        if q.get("hub.mode") == "subscribe" and hmac.compare_digest(token.encode(), expected.encode()):
            log.info("messenger: webhook verified")
            return PlainTextResponse(q.get("hub.challenge") or "")
        log.warning("messenger: webhook verification refused: wrong hub.mode or hub.verify_token")
        return PlainTextResponse("Forbidden", status_code=403)

    def signed(self, body: bytes, header: str | None) -> bool:
        """Whether ``header`` (X-Hub-Signature-256) is ``sha256=`` HMAC of ``body`` with the app secret."""
        secret = self.settings.app_secret
        if not secret or not header or not header.startswith("sha256="):
            return False
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(header[len("sha256=") :].strip().lower().encode(), expected.encode())

    async def receive(self, request: Any) -> Any:
        """POST: check the signature, answer 200 at once, handle the events afterwards."""
        from starlette.responses import PlainTextResponse

        if not self.settings.app_secret:
            log.error(
                "messenger: webhook event refused: WORKBENCH_FB_APP_SECRET is not set, so its signature cannot be checked"
            )
            return PlainTextResponse("Forbidden", status_code=403)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return PlainTextResponse("Payload Too Large", status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return PlainTextResponse("Payload Too Large", status_code=413)
        signature = request.headers.get("x-hub-signature-256")
        if not self.signed(body, signature):
            log.warning(
                "messenger: webhook event refused: %s X-Hub-Signature-256 header", "a wrong" if signature else "no"
            )
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            data = json.loads(body)
        except ValueError:
            return PlainTextResponse("Bad Request: the body is not JSON", status_code=400)
        if not isinstance(data, dict) or data.get("object") != "page":
            return PlainTextResponse("Not Found: only page events are handled", status_code=404)
        self._spawn(self._handle(data))
        return PlainTextResponse("EVENT_RECEIVED")

    # -- incoming events -------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, data: dict[str, Any]) -> None:
        for entry in data.get("entry") or []:
            if not isinstance(entry, dict):
                continue
            for event in entry.get("messaging") or []:
                try:
                    await self._event(event)
                except Exception:  # one bad event must not drop the others, nor the server
                    log.exception(
                        "messenger: could not handle an event from %s",
                        (event.get("sender") or {}).get("id") if isinstance(event, dict) else "?",
                    )

    def _first_time(self, mid: str | None) -> bool:
        if not mid:
            return True
        if mid in self._seen:
            return False
        self._seen[mid] = None
        while len(self._seen) > SEEN_MIDS:
            self._seen.popitem(last=False)
        return True

    async def _event(self, event: dict[str, Any]) -> None:
        psid = str((event.get("sender") or {}).get("id") or "")
        if not psid:
            return
        msg = incoming_message(event)
        if msg is None:
            return
        if not self._first_time(msg["meta"].get("mid")):
            log.debug("messenger: dropped a redelivered message %s", msg["meta"].get("mid"))
            return
        runner = self.ctx.runner
        if runner is None or runner.stopping or getattr(self.ctx, "stopping", False):
            log.warning("messenger: a message from %s arrived while the server is not running; dropped", psid)
            return
        person = self.people.get(psid)
        if person is None:
            person = self.people[psid] = _Person(psid)
        async with person.lock:  # one connect per person, messages in arrival order
            if self.settings.mark_seen:
                self._queue(person, ("action", "mark_seen"))
            session, new = person.session, False
            if session is None or session.closed:
                session, new = await self._connect(person)
            if new and not self._takes_first_message() and not (runner.password and msg.text.strip()):
                # as in ParlAI, a first message starts the overworld and is not a choice
                # (but a first message that may be the password goes to the password gate)
                return
            session.put(msg)

    def _takes_first_message(self) -> bool:
        """A new person's first message is their first line only when the task starts in a
        conversation (a bot or human chat without onboarding); a menu or Python overworld
        greets instead."""
        task = self.ctx.task
        spec = task.worlds.get(task.start_world)
        return getattr(spec, "type", None) in ("bot_chat", "human_chat") and not getattr(spec, "onboarding", None)

    async def _connect(self, person: _Person) -> tuple[Any, bool]:
        """The person's session: their stored conversation resumed after a restart, else a new one."""
        runner, store = self.ctx.runner, self.ctx.store
        deliver = _Deliver(self, person)
        previous = self._resumable(person.psid)
        session = None
        if previous is not None:
            try:
                session = await runner.connect(
                    deliver, person=person.psid, channel=CHANNEL, conversation_id=previous["id"], resume=True
                )
                meta = dict(previous.get("meta") or {})
                if meta.pop("interrupted", None) and store is not None:
                    store.update_conversation(previous["id"], meta=meta)
                log.info("messenger: %s resumes conversation %s", person.psid, previous["id"])
            except LookupError:
                session = None
        new = session is None
        if session is None:
            session = await runner.connect(deliver, person=person.psid, channel=CHANNEL)
        deliver.session = session
        person.session = session
        return session, new

    def _resumable(self, psid: str) -> dict[str, Any] | None:
        """The person's last Messenger conversation if a restart cut it short (still
        ``active`` after a crash, or marked interrupted by a graceful shutdown)."""
        store = self.ctx.store
        if store is None:
            return None
        for conv in store.conversations(limit=20, person=psid, task=self.ctx.task.name):
            if conv.get("channel") != CHANNEL:
                continue
            if conv.get("status") == "active" or (conv.get("meta") or {}).get("interrupted"):
                return conv
            return None
        return None

    def _ended(self, person: _Person, session: Any) -> None:
        """A session ended: the person's next message starts afresh, unless the server is stopping."""
        if person.session is session:
            person.session = None
        self._forget_if_idle(person)
        runner, store = self.ctx.runner, self.ctx.store
        if session is not None and runner is not None and runner.stopping and store is not None:
            try:
                conv = store.conversation(session.conversation_id)
                meta = dict((conv or {}).get("meta") or {})
                meta["interrupted"] = True
                store.update_conversation(session.conversation_id, meta=meta)
            except Exception:
                log.exception("messenger: could not mark %s as interrupted", session.conversation_id)

    def _forget_if_idle(self, person: _Person) -> None:
        """Drop a person with no session and nothing to send, so memory follows live people."""
        worker = person.worker
        if (
            person.session is None
            and person.outbox.empty()
            and not person.lock.locked()
            and (worker is None or worker.done() or worker is asyncio.current_task())
            and self.people.get(person.psid) is person
        ):
            del self.people[person.psid]

    # -- outgoing -------------------------------------------------------------------
    def _queue(self, person: _Person, item: tuple[str, Any]) -> None:
        person.outbox.put_nowait(item)
        if person.worker is None or person.worker.done():
            person.worker = asyncio.ensure_future(self._drain(person))

    async def _drain(self, person: _Person) -> None:
        while not person.outbox.empty():
            kind, value = person.outbox.get_nowait()
            try:
                if kind == "action":
                    await self.graph.sender_action(person.psid, value)
                else:
                    await self.send(person.psid, value)
            except GraphError as exc:
                self._report(exc, kind if kind == "action" else "a reply", person.psid)
            except asyncio.CancelledError:
                raise
            except Exception:  # a malformed reply or a bug: logged, the next one still goes out
                log.exception("messenger: could not send to %s", person.psid)
            finally:
                person.outbox.task_done()
        self._forget_if_idle(person)

    def _report(self, exc: GraphError, what: str, psid: str) -> None:
        if exc.status == 0 and "WORKBENCH_FB_PAGE_TOKEN" in exc.message:
            if not self._warned_token:
                self._warned_token = True
                log.error("messenger: %s", exc.message)
            return
        if 400 <= exc.status < 500:
            log.error(
                "messenger: the Graph API refused %s to %s: %s. Check the page token, the app's "
                "permissions and the message's shape.",
                what,
                psid,
                exc,
            )
        else:
            log.error(
                "messenger: could not send %s to %s after %d attempts: %s", what, psid, self.settings.retries + 1, exc
            )

    async def send(self, psid: str, message: Message) -> None:
        """Send one runtime message: typing, the text in pieces, an attachment, quick replies on the last."""
        persona = await self._persona_for(message)
        parts: list[dict[str, Any]] = [{"text": t} for t in split_text(message.text)]
        payload = message.get("payload")
        if isinstance(payload, dict) and payload:
            attachment = await self._attachment(payload)
            if attachment is not None:
                parts.append({"attachment": attachment})
            elif not parts:
                parts.append({"text": f"[{payload.get('type', 'attachment')}]"})
        qrs = quick_replies(list(message.get("quick_replies") or []))
        if qrs and not parts:
            parts.append({"text": "…"})  # Messenger needs a text or an attachment to carry quick replies
        if qrs:
            parts[-1]["quick_replies"] = qrs
        if not parts:
            return
        if self.settings.typing:
            try:
                await self.graph.sender_action(psid, "typing_on", persona)
            except GraphError as exc:
                self._report(exc, "typing_on", psid)
        for part in parts:
            await self.graph.send_message(psid, part, persona)

    async def _attachment(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """A message's ``payload`` as a Messenger attachment (None when it has no Messenger form)."""
        kind = str(payload.get("type") or "")
        if kind == "template":
            body = {k: v for k, v in payload.items() if k != "type"}
            return {"type": "template", "payload": body.get("payload", body)}
        if kind not in ATTACHMENT_TYPES:
            data = payload.get("data")
            if isinstance(data, dict) and data.get("type"):
                return data  # ParlAI: a ready-made Messenger attachment in ``data``
            log.warning("messenger: a %r payload has no Messenger form; sent as text only", kind or "untyped")
            return None
        if payload.get("attachment_id"):
            return {"type": kind, "payload": {"attachment_id": str(payload["attachment_id"])}}
        url = payload.get("url")
        if url and not payload.get("upload"):
            return {"type": kind, "payload": {"url": str(url), "is_reusable": True}}
        key = None
        if url:
            key = (kind, str(url))
            content = None
        elif payload.get("data"):
            content = base64.b64decode(str(payload["data"]))
        elif payload.get("path"):
            path = self.ctx.task.path(str(payload["path"])) if hasattr(self.ctx.task, "path") else Path(payload["path"])
            key = (kind, str(path))
            content = path.read_bytes()
        else:
            log.warning("messenger: a %s payload needs url, attachment_id, data or path", kind)
            return None
        if key is not None and key in self._uploads:
            return {"type": kind, "payload": {"attachment_id": self._uploads[key]}}
        ext = mimetypes.guess_extension(str(payload.get("mime_type") or "")) or ""
        filename = str(
            payload.get("filename") or (Path(str(payload["path"])).name if payload.get("path") else f"{kind}{ext}")
        )
        attachment_id = await self.graph.upload_attachment(
            kind,
            url=str(url) if url else None,
            content=content,
            filename=filename,
            mime_type=payload.get("mime_type"),
        )
        if key is not None:
            self._uploads[key] = attachment_id
        return {"type": kind, "payload": {"attachment_id": attachment_id}}

    async def _persona_for(self, message: Message) -> str | None:
        """``persona_id`` given on the message, or the persona configured for its speaker
        (created through the Personas API on first use)."""
        if message.get("persona_id"):
            return str(message["persona_id"])
        speaker = message.get("id")
        spec = self.settings.personas.get(str(speaker)) if speaker is not None else None
        if not spec:
            return None
        if speaker in self._personas:
            return self._personas[speaker]
        if self._persona_lock is None:
            self._persona_lock = asyncio.Lock()
        async with self._persona_lock:
            if speaker not in self._personas:
                try:
                    self._personas[speaker] = await self.create_persona(
                        spec.get("name") or str(speaker), spec.get("profile_picture_url") or spec.get("picture") or ""
                    )
                except GraphError as exc:
                    self._report(exc, f"the persona for {speaker!r}", "me/personas")
                    return None
        return self._personas[speaker]

    async def create_persona(self, name: str, profile_picture_url: str) -> str:
        persona_id = await self.graph.create_persona(name, profile_picture_url)
        log.info("messenger: created persona %s (%s)", persona_id, name)
        return persona_id

    async def delete_persona(self, persona_id: str) -> None:
        await self.graph.delete_persona(persona_id)
        log.info("messenger: deleted persona %s", persona_id)

    # -- shutdown ---------------------------------------------------------------------
    async def shutdown(self, wait: float = 5.0) -> None:
        """Handle the events in hand, send what is queued (bounded by ``wait``), delete the
        personas this server created, close the HTTP client."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(0.1, deadline - loop.time()))
        workers = [p.worker for p in self.people.values() if p.worker is not None and not p.worker.done()]
        if workers:
            _, late = await asyncio.wait(workers, timeout=max(0.1, deadline - loop.time()))
            for t in late:
                t.cancel()
            if late:
                log.warning("messenger: %d people's replies were still unsent at shutdown", len(late))
        for t in self._tasks:
            t.cancel()
        if self._graph is not None:
            for speaker, persona_id in list(self._personas.items()):
                try:
                    await self.delete_persona(persona_id)
                except GraphError as exc:
                    self._report(exc, f"deleting persona {persona_id}", "me/personas")
                self._personas.pop(speaker, None)
            await self._graph.aclose()
            self._graph = None


def routes(ctx: Any) -> list:
    """The webhook's routes; the service sends what is queued when the server shuts down."""
    from starlette.routing import Route

    service = MessengerService(ctx)
    hooks = getattr(ctx, "shutdown_hooks", None)
    if hooks is not None:
        hooks.append(service.shutdown)
    return [
        Route(PATH, service.verify, methods=["GET"]),
        Route(PATH, service.receive, methods=["POST"]),
    ]
