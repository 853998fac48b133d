"""One runtime message out through the Send API: typing, the text in pieces, an attachment,
quick replies on the last piece, as the speaker's persona. Failures are reported once,
in words an operator can act on, and never stop the next message."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from workbench.message import Message
from workbench.services.messenger.attachments import AttachmentRefused, Attachments, TaskFiles
from workbench.services.messenger.graph import TOKEN_MISSING, GraphClient, GraphError
from workbench.services.messenger.outgoing import quick_replies, split_text
from workbench.services.messenger.settings import MessengerSettings

log = logging.getLogger(__name__)


class Sender:
    """Sends runtime messages to people by PSID; owns the personas it creates."""

    def __init__(self, settings: MessengerSettings, graph: GraphClient, files: TaskFiles) -> None:
        self.settings = settings
        self.graph = graph
        self.attachments = Attachments(graph, files, settings.spec.max_attachment_bytes)
        self._personas: dict[str, str] = {}
        self._persona_lock = asyncio.Lock()
        self._warned_token = False

    async def send(self, psid: str, message: Message) -> None:
        """Typing, the text in pieces, an attachment, quick replies on the last piece."""
        persona = await self._persona_for(message)
        parts: list[dict[str, Any]] = [{"text": t} for t in split_text(message.text)]
        payload = message.get("payload")
        if isinstance(payload, dict) and payload:
            attachment = await self._attachment(psid, payload)
            if attachment is not None:
                parts.append({"attachment": attachment})
            elif not parts:
                parts.append({"text": f"[{str(payload.get('type') or 'attachment')[:20]}]"})
        qrs = quick_replies(list(message.get("quick_replies") or []))
        if qrs and not parts:
            parts.append({"text": "…"})  # Messenger needs a text or an attachment to carry quick replies
        if qrs:
            parts[-1]["quick_replies"] = qrs
        if not parts:
            return
        if self.settings.spec.typing:
            try:
                await self.graph.sender_action(psid, "typing_on", persona)
            except GraphError as exc:
                self.report(exc, "typing_on", psid)
        for part in parts:
            await self.graph.send_message(psid, part, persona)

    async def _attachment(self, psid: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        try:
            attachment = await self.attachments.attachment(payload)
        except AttachmentRefused as exc:
            log.warning("messenger: an attachment to %s was refused and not sent: %s", psid, exc)
            return None
        if attachment is None:
            kind = str(payload.get("type") or "untyped")[:20]
            log.warning("messenger: a %r payload has no Messenger form; sent as text only", kind)
        return attachment

    async def _persona_for(self, message: Message) -> str | None:
        """``persona_id`` given on the message, or the persona configured for its speaker
        (created through the Personas API on first use)."""
        if message.get("persona_id"):
            return str(message["persona_id"])
        speaker = message.get("id")
        spec = self.settings.spec.personas.get(str(speaker)) if speaker is not None else None
        if spec is None:
            return None
        key = str(speaker)
        async with self._persona_lock:
            if key not in self._personas:
                try:
                    persona_id = await self.graph.create_persona(spec.name or key, spec.profile_picture_url)
                except GraphError as exc:
                    self.report(exc, f"the persona for {key!r}", "me/personas")
                    return None
                log.info("messenger: created persona %s (%s)", persona_id, spec.name)
                self._personas[key] = persona_id
        return self._personas[key]

    async def delete_personas(self) -> None:
        """Delete the personas this server created (at shutdown)."""
        for speaker, persona_id in list(self._personas.items()):
            try:
                await self.graph.delete_persona(persona_id)
                log.info("messenger: deleted persona %s", persona_id)
            except GraphError as exc:
                self.report(exc, f"deleting persona {persona_id}", "me/personas")
            self._personas.pop(speaker, None)

    def report(self, exc: GraphError, what: str, psid: str) -> None:
        """One log line an operator can act on (a missing token only once)."""
        if exc.status == 0 and exc.message == TOKEN_MISSING:
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
                "messenger: could not send %s to %s after %d attempts: %s",
                what,
                psid,
                self.settings.spec.retries + 1,
                exc,
            )
