"""The page's side of the Graph API (Send API, Attachment Upload API, Personas API), with
retries. The page token rides in the query string, so it is redacted from every log line
httpx or this module writes."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from workbench.services.settings import secret

if TYPE_CHECKING:
    import httpx

    from workbench.services.messenger.settings import MessengerSettings

log = logging.getLogger(__name__)

ATTACHMENT_TYPES = ("image", "audio", "video", "file")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
TOKEN_MISSING = "WORKBENCH_FB_PAGE_TOKEN is not set, so nothing can be sent to Messenger"


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
    """One HTTP client for the page's Graph API calls; 5xx, 429 and network errors are retried."""

    def __init__(self, settings: MessengerSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        import httpx  # lazy: only a server with Messenger needs it

        self.settings = settings
        self.base = f"{settings.graph_url}/{settings.graph_version}"
        self._client = httpx.AsyncClient(timeout=settings.spec.timeout, transport=transport)
        httpx_log = logging.getLogger("httpx")
        if _redactor not in httpx_log.filters:
            httpx_log.addFilter(_redactor)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """One Graph API call; 5xx, 429 and network errors are retried with backoff, 4xx raise at once."""
        import httpx

        token = secret(self.settings.page_token)
        if not token:
            raise GraphError(0, TOKEN_MISSING)
        url = f"{self.base}/{path.lstrip('/')}"
        attempts = max(0, self.settings.spec.retries) + 1
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
                    body = resp.json()
                except ValueError:
                    return {}
                return body if isinstance(body, dict) else {}
            error = self._error(resp)
            if (resp.status_code >= 500 or resp.status_code == 429) and not last:
                await self._pause(attempt, resp.headers.get("retry-after"), error)
                continue
            raise error
        raise AssertionError("unreachable")

    async def _pause(self, attempt: int, retry_after: str | None, error: GraphError) -> None:
        delay = self.settings.spec.backoff * (2**attempt)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        log.warning("messenger: Graph API %s; retrying in %.2f s", error, delay)
        await asyncio.sleep(delay)

    @staticmethod
    def _error(resp: httpx.Response) -> GraphError:
        try:
            body = resp.json()
        except ValueError:
            body = None
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            return GraphError(
                resp.status_code, redact(str(err.get("message") or "error")), err.get("code"), err.get("fbtrace_id")
            )
        return GraphError(resp.status_code, redact((resp.text or resp.reason_phrase or "error")[:300]))

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
        mime_type: str = "application/octet-stream",
    ) -> str:
        """Upload by URL (Facebook fetches it) or by content through the Attachment Upload
        API; the reusable id."""
        if kind not in ATTACHMENT_TYPES:
            raise ValueError(f"cannot upload a {kind!r}; expected one of {', '.join(ATTACHMENT_TYPES)}")
        if url:
            body = {"message": {"attachment": {"type": kind, "payload": {"url": url, "is_reusable": True}}}}
            result = await self.request("POST", "me/message_attachments", json_body=body)
        elif content is not None:
            message = json.dumps({"attachment": {"type": kind, "payload": {"is_reusable": True}}})
            result = await self.request(
                "POST",
                "me/message_attachments",
                data={"message": message},
                files={"filedata": (filename, content, mime_type)},
            )
        else:
            raise ValueError("an upload needs a url or the file's content")
        attachment_id = result.get("attachment_id")
        if not attachment_id:
            raise GraphError(200, "the Attachment Upload API answered without an attachment_id")
        return str(attachment_id)

    async def create_persona(self, name: str, profile_picture_url: str) -> str:
        result = await self.request(
            "POST", "me/personas", json_body={"name": name, "profile_picture_url": profile_picture_url}
        )
        if not result.get("id"):
            raise GraphError(200, "the Personas API answered without an id")
        return str(result["id"])

    async def delete_persona(self, persona_id: str) -> None:
        await self.request("DELETE", persona_id)
