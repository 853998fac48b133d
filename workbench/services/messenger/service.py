"""The Messenger channel of one server: the webhook's handlers, one runtime Session per
sender (PSID), resumed from the store after a restart, and their outboxes.

A POST is checked in this order: the app secret is set, the body is within the size
limit, the signature matches, the body is JSON of the webhook's shape (else 400 and one
log line), the object is a page (else 404). It is answered ``200 EVENT_RECEIVED`` at
once; its events are handled afterwards, each claimed in the store first so that a
redelivery, even after a restart, is dropped.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from workbench.io.untrusted import UntrustedInput
from workbench.message import Message
from workbench.services.messenger.attachments import TaskFiles
from workbench.services.messenger.graph import GraphClient
from workbench.services.messenger.outbox import Outbox, Person
from workbench.services.messenger.sender import Sender
from workbench.services.messenger.settings import MessengerSettings
from workbench.services.messenger.webhook import (
    CHANNEL,
    MAX_BODY_BYTES,
    Event,
    NotForUs,
    WebhookBody,
    event_key,
    incoming_message,
    parse_body,
    signed,
)
from workbench.services.settings import secret

if TYPE_CHECKING:
    import httpx
    from starlette.requests import Request
    from starlette.responses import Response

    from workbench.runtime.session import Session
    from workbench.services.server import ServerContext

log = logging.getLogger(__name__)

#: the longest hub.challenge echoed back during verification
MAX_CHALLENGE_CHARS = 256


class _Deliver:
    """A session's deliver callback: queue the message for the person's outbox."""

    def __init__(self, service: MessengerService, person: Person) -> None:
        self.service = service
        self.person = person
        self.session: Session | None = None

    async def __call__(self, message: Message) -> None:
        self.service.outbox.queue(self.person, ("message", message))

    def close(self) -> None:
        self.service._ended(self.person, self.session)


class MessengerService:
    """The webhook's handlers and the people writing to the page; one per server app."""

    def __init__(
        self,
        ctx: ServerContext,
        settings: MessengerSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.ctx = ctx
        self._settings = settings
        self._transport = transport
        self._sender: Sender | None = None
        self.people: dict[str, Person] = {}
        self.outbox = Outbox(lambda: self.sender, self._forget_if_idle)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def settings(self) -> MessengerSettings:
        """Read on first use, so the environment and ``ctx.settings`` of a built app still count."""
        if self._settings is None:
            self._settings = MessengerSettings.of(self.ctx)
            missing = self._settings.missing()
            if missing:
                log.warning("messenger: %s not set; see docs/messenger.md", ", ".join(missing))
        return self._settings

    @property
    def sender(self) -> Sender:
        if self._sender is None:
            settings = self.settings
            files = TaskFiles(getattr(self.ctx.task, "root", None), tuple(settings.spec.files))
            self._sender = Sender(settings, GraphClient(settings, transport=self._transport), files)
        return self._sender

    # -- webhook ------------------------------------------------------------------
    async def verify(self, request: Request) -> Response:
        """GET: Facebook checks the webhook with ``hub.mode``, ``hub.verify_token``, ``hub.challenge``.
        Neither token is ever logged."""
        from starlette.responses import PlainTextResponse

        q = request.query_params
        expected = secret(self.settings.verify_token)
        if not expected:
            log.error("messenger: webhook verification refused: WORKBENCH_FB_VERIFY_TOKEN is not set")
            return PlainTextResponse("Forbidden", status_code=403)
        token = q.get("hub.verify_token") or ""
        challenge = q.get("hub.challenge") or ""
        if (
            q.get("hub.mode") == "subscribe"
            and hmac.compare_digest(token.encode(), expected.encode())
            and len(challenge) <= MAX_CHALLENGE_CHARS
        ):
            log.info("messenger: webhook verified")
            return PlainTextResponse(challenge)
        log.warning("messenger: webhook verification refused: wrong hub.mode, hub.verify_token or hub.challenge")
        return PlainTextResponse("Forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        """POST: check the signature and the body, answer at once, handle the events afterwards."""
        from starlette.responses import PlainTextResponse

        app_secret = secret(self.settings.app_secret)
        if not app_secret:
            log.error(
                "messenger: webhook event refused: WORKBENCH_FB_APP_SECRET is not set, so its signature cannot be checked"
            )
            return PlainTextResponse("Forbidden", status_code=403)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return PlainTextResponse("Payload Too Large", status_code=413)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return PlainTextResponse("Payload Too Large", status_code=413)
            chunks.append(chunk)
        body = b"".join(chunks)
        signature = request.headers.get("x-hub-signature-256")
        if not signed(body, signature, app_secret):
            log.warning(
                "messenger: webhook event refused: %s X-Hub-Signature-256 header", "a wrong" if signature else "no"
            )
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            data = parse_body(body)
        except UntrustedInput as exc:
            log.warning("messenger: a signed webhook body was refused: %s", exc.message)
            return PlainTextResponse(f"Bad Request: {exc.message}", status_code=400)
        except NotForUs:
            return PlainTextResponse("Not Found: only page events are handled", status_code=404)
        self._spawn(self._handle(data))
        return PlainTextResponse("EVENT_RECEIVED")

    # -- incoming events -------------------------------------------------------------
    @property
    def handling(self) -> int:
        """Webhook bodies answered but still being handled (their events are handled after the 200)."""
        return len(self._tasks)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, data: WebhookBody) -> None:
        for entry in data.entry:
            for event in entry.messaging:
                psid = event.sender.id if event.sender is not None else "?"
                try:
                    await self._event(event)
                except Exception:  # one bad event must not drop the others, nor the server
                    log.exception("messenger: could not handle an event from %s", psid)

    async def _first_time(self, psid: str, event: Event) -> bool:
        """Claim the event in the store: False when it was handled within the replay window
        (Messenger redelivers when a 200 came late, and after our restart)."""
        store = self.ctx.store
        window = self.settings.spec.replay_window
        if store is None or window <= 0:
            return True
        return await asyncio.to_thread(store.claim_event, CHANNEL, event_key(psid, event), window)

    async def _event(self, event: Event) -> None:
        if event.sender is None:
            return
        psid = event.sender.id
        msg = incoming_message(event)
        if msg is None:
            return
        if not await self._first_time(psid, event):
            log.info("messenger: dropped a redelivered event from %s", psid)
            return
        runner = self.ctx.runner
        if runner is None or runner.stopping or self.ctx.stopping:
            log.warning("messenger: a message from %s arrived while the server is not running; dropped", psid)
            return
        person = self.people.get(psid)
        if person is None:
            person = self.people[psid] = Person(psid)
        async with person.lock:
            if self.settings.spec.mark_seen:
                self.outbox.queue(person, ("action", "mark_seen"))
            session, new = person.session, False
            if session is not None and not session.closed and not await runner.holds(session):
                session.release()  # another instance answered this person since: resume from the store
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

    async def _connect(self, person: Person) -> tuple[Session, bool]:
        """The person's session: their stored conversation resumed after a restart, else a new one."""
        runner, store = self.ctx.runner, self.ctx.store
        assert runner is not None
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

    def _ended(self, person: Person, session: Session | None) -> None:
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

    def _forget_if_idle(self, person: Person) -> None:
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

    # -- shutdown ---------------------------------------------------------------------
    async def shutdown(self, wait: float = 5.0) -> None:
        """Handle the events in hand, send what is queued (bounded by ``wait``), delete the
        personas this server created, close the HTTP client."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(0.1, deadline - loop.time()))
        await Outbox.finish(list(self.people.values()), deadline - loop.time())
        for t in self._tasks:
            t.cancel()
        if self._sender is not None:
            await self._sender.delete_personas()
            await self._sender.graph.aclose()
            self._sender = None
