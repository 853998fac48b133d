"""A local double of the Graph API's Messenger endpoints, served for real on 127.0.0.1.

It checks each request the way the real service does (the access token, the
recipient, text length, quick replies, sender actions, personas, attachment
uploads), answers with the real service's shapes, and records what it accepted.
Anything it refuses lands in ``rejected`` with the reason, so a test can assert
that nothing malformed was ever sent. ``fail_next`` makes it answer with errors
(5xx to exercise retries, 4xx to exercise the error reports).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TEXT_LIMIT = 2000
QUICK_REPLY_LIMIT = 13
TITLE_LIMIT = 20
PAYLOAD_LIMIT = 1000
MEDIA = {"image", "audio", "video", "file"}


class Refused(Exception):
    def __init__(self, message: str, code: int = 100, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass
class GraphDouble:
    token: str = "PAGE-TOKEN-123"
    version: str = "v23.0"
    #: accepted requests: {"endpoint", "method", "body" | "form", ...}
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: refused requests: {"endpoint", "reason", "body"}
    rejected: list[dict[str, Any]] = field(default_factory=list)
    personas: dict[str, dict[str, str]] = field(default_factory=dict)
    deleted_personas: list[str] = field(default_factory=list)
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)
    _failures: list[tuple[int, str, int]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # -- what tests look at ---------------------------------------------------------
    def fail_next(self, status: int, times: int = 1, message: str = "Injected failure", code: int = 2) -> None:
        """Answer the next ``times`` requests with ``status`` (whatever they are)."""
        self._failures.extend([(status, message, code)] * times)

    def sent(self, psid: str | None = None) -> list[dict[str, Any]]:
        """Send API bodies (messages and sender actions), in order, for ``psid`` if given."""
        return [
            r["body"]
            for r in self.requests
            if r["endpoint"] == "messages" and "body" in r and (psid is None or r["body"]["recipient"]["id"] == psid)
        ]

    def texts(self, psid: str | None = None) -> list[str]:
        return [b["message"]["text"] for b in self.sent(psid) if "message" in b and "text" in b["message"]]

    def messages(self, psid: str | None = None) -> list[dict[str, Any]]:
        return [b["message"] for b in self.sent(psid) if "message" in b]

    def actions(self, psid: str | None = None) -> list[str]:
        return [b["sender_action"] for b in self.sent(psid) if "sender_action" in b]

    # -- the app -------------------------------------------------------------------
    def app(self) -> Starlette:
        base = f"/{self.version}"
        return Starlette(
            routes=[
                Route(f"{base}/me/messages", self._messages, methods=["POST"]),
                Route(f"{base}/me/message_attachments", self._upload, methods=["POST"]),
                Route(f"{base}/me/personas", self._create_persona, methods=["POST"]),
                Route(base + "/{object_id}", self._delete, methods=["DELETE"]),
            ]
        )

    async def _guard(self, request: Request, endpoint: str, handler: Any) -> JSONResponse:
        body: Any = None
        try:
            self._check_token(request)
            if self._failures:
                status, message, code = self._failures.pop(0)
                self.requests.append({"endpoint": endpoint, "method": request.method, "failed": status})
                return self._error(status, message, code)
            body, result = await handler(request)
            return JSONResponse(result)
        except Refused as exc:
            self.rejected.append({"endpoint": endpoint, "reason": str(exc), "body": body})
            return self._error(exc.status, str(exc), exc.code)

    @staticmethod
    def _error(status: int, message: str, code: int) -> JSONResponse:
        kind = "OAuthException" if code in (100, 104, 190) or status < 500 else "FacebookApiException"
        return JSONResponse(
            {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGh"}}, status_code=status
        )

    def _check_token(self, request: Request) -> None:
        token = request.query_params.get("access_token")
        if not token:
            raise Refused("An access token is required to request this resource.", code=104)
        if token != self.token:
            raise Refused("Invalid OAuth access token - Cannot parse access token", code=190)

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise Refused("Expected a JSON body (Content-Type: application/json)")
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise Refused("The body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Refused("The body must be a JSON object")
        return body

    # -- Send API ------------------------------------------------------------------
    async def _messages(self, request: Request) -> JSONResponse:
        return await self._guard(request, "messages", self._message_body)

    async def _message_body(self, request: Request) -> tuple[Any, dict]:
        body = await self._json(request)
        recipient = body.get("recipient")
        if not isinstance(recipient, dict) or not isinstance(recipient.get("id"), str) or not recipient["id"]:
            raise Refused("(#100) The parameter recipient is required; recipient.id must be a PSID string")
        has_message, has_action = "message" in body, "sender_action" in body
        if has_message == has_action:
            raise Refused("(#100) Exactly one of message and sender_action must be given")
        persona = body.get("persona_id")
        if persona is not None and persona not in self.personas:
            raise Refused(f"(#100) Invalid persona_id {persona!r}")
        if has_action:
            action = body["sender_action"]
            if action not in ("typing_on", "typing_off", "mark_seen"):
                raise Refused(f"(#100) Invalid sender_action {action!r}")
            if persona is not None and action == "mark_seen":
                raise Refused("(#100) persona_id cannot be used with mark_seen")
            extra = set(body) - {"recipient", "sender_action", "persona_id"}
            if extra:
                raise Refused(f"(#100) sender_action cannot be sent with {sorted(extra)}")
            self.requests.append({"endpoint": "messages", "method": "POST", "body": body})
            return body, {"recipient_id": recipient["id"]}
        if body.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            raise Refused("(#100) messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG")
        self._check_message(body["message"])
        self.requests.append({"endpoint": "messages", "method": "POST", "body": body})
        return body, {"recipient_id": recipient["id"], "message_id": f"m_{next(self._ids)}"}

    def _check_message(self, message: Any) -> None:
        if not isinstance(message, dict):
            raise Refused("(#100) message must be an object")
        if ("text" in message) == ("attachment" in message):
            raise Refused("(#100) A message needs exactly one of text and attachment")
        if "text" in message:
            text = message["text"]
            if not isinstance(text, str) or not text:
                raise Refused("(#100) message.text must be a non-empty string")
            if len(text) > TEXT_LIMIT:
                raise Refused(f"(#100) Length of param message[text] must be less than or equal to {TEXT_LIMIT}")
        else:
            self._check_attachment(message["attachment"])
        if "quick_replies" in message:
            self._check_quick_replies(message["quick_replies"])
        extra = set(message) - {"text", "attachment", "quick_replies", "metadata"}
        if extra:
            raise Refused(f"(#100) Unknown message fields {sorted(extra)}")

    def _check_attachment(self, att: Any) -> None:
        if not isinstance(att, dict) or att.get("type") not in MEDIA | {"template"}:
            raise Refused("(#100) attachment.type must be image, audio, video, file or template")
        payload = att.get("payload")
        if not isinstance(payload, dict):
            raise Refused("(#100) attachment.payload must be an object")
        if att["type"] == "template":
            if not payload.get("template_type"):
                raise Refused("(#100) a template payload needs template_type")
            return
        if ("url" in payload) == ("attachment_id" in payload):
            raise Refused("(#100) a media attachment needs exactly one of payload.url and payload.attachment_id")
        if "attachment_id" in payload:
            known = self.attachments.get(payload["attachment_id"])
            if known is None:
                raise Refused(f"(#100) Unknown attachment_id {payload['attachment_id']!r}")
            if known["type"] != att["type"]:
                raise Refused("(#100) attachment type does not match the uploaded attachment")
        elif not str(payload["url"]).startswith(("http://", "https://")):
            raise Refused("(#100) payload.url must be an http(s) URL")

    @staticmethod
    def _check_quick_replies(qrs: Any) -> None:
        if not isinstance(qrs, list) or not qrs:
            raise Refused("(#100) quick_replies must be a non-empty list")
        if len(qrs) > QUICK_REPLY_LIMIT:
            raise Refused(f"(#100) param message[quick_replies] must have at most {QUICK_REPLY_LIMIT} elements")
        for qr in qrs:
            if not isinstance(qr, dict) or qr.get("content_type") not in ("text", "user_phone_number", "user_email"):
                raise Refused("(#100) quick_replies[].content_type must be text, user_phone_number or user_email")
            if qr["content_type"] == "text":
                title, payload = qr.get("title"), qr.get("payload")
                if not isinstance(title, str) or not title or len(title) > TITLE_LIMIT:
                    raise Refused(
                        f"(#100) a text quick reply needs a title of 1 to {TITLE_LIMIT} characters, got {title!r}"
                    )
                if not isinstance(payload, str) or not payload or len(payload) > PAYLOAD_LIMIT:
                    raise Refused(f"(#100) a text quick reply needs a payload of 1 to {PAYLOAD_LIMIT} characters")

    # -- Attachment Upload API --------------------------------------------------------
    async def _upload(self, request: Request) -> JSONResponse:
        return await self._guard(request, "message_attachments", self._upload_body)

    async def _upload_body(self, request: Request) -> tuple[Any, dict]:
        ctype = request.headers.get("content-type", "")
        record: dict[str, Any] = {"endpoint": "message_attachments", "method": "POST"}
        if ctype.startswith("multipart/form-data"):
            form = await request.form()
            try:
                message = json.loads(str(form.get("message") or ""))
            except ValueError:
                raise Refused("(#100) the message field must be JSON") from None
            filedata = form.get("filedata")
            if filedata is None or not hasattr(filedata, "read"):
                raise Refused("(#100) an upload needs the file in the filedata field")
            content = await filedata.read()
            if not content:
                raise Refused("(#100) the uploaded file is empty")
            record.update(mode="file", filename=filedata.filename, mime_type=filedata.content_type, size=len(content))
            if not filedata.content_type or "/" not in filedata.content_type:
                raise Refused("(#100) the uploaded file needs a MIME type")
            body = message
        else:
            body = await self._json(request)
            message = body.get("message")
            record["mode"] = "url"
        att = (message or {}).get("attachment") if isinstance(message, dict) else None
        if not isinstance(att, dict) or att.get("type") not in MEDIA:
            raise Refused("(#100) message.attachment.type must be image, audio, video or file")
        payload = att.get("payload") or {}
        if payload.get("is_reusable") not in (True, "true"):
            raise Refused("(#100) uploads must set payload.is_reusable")
        if record["mode"] == "url" and not str(payload.get("url", "")).startswith(("http://", "https://")):
            raise Refused("(#100) an upload by URL needs payload.url")
        if record["mode"] == "file" and "url" in payload:
            raise Refused("(#100) a file upload cannot also give payload.url")
        attachment_id = str(1_000_000 + next(self._ids))
        self.attachments[attachment_id] = {"type": att["type"], **record}
        record.update(body=body, attachment_id=attachment_id, type=att["type"])
        self.requests.append(record)
        return body, {"attachment_id": attachment_id}

    # -- Personas API -------------------------------------------------------------------
    async def _create_persona(self, request: Request) -> JSONResponse:
        return await self._guard(request, "personas", self._persona_body)

    async def _persona_body(self, request: Request) -> tuple[Any, dict]:
        body = await self._json(request)
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise Refused("(#100) a persona needs a name")
        if not str(body.get("profile_picture_url", "")).startswith(("http://", "https://")):
            raise Refused("(#100) a persona needs a profile_picture_url")
        persona_id = f"{2_000_000 + next(self._ids)}"
        self.personas[persona_id] = {"name": body["name"], "profile_picture_url": body["profile_picture_url"]}
        self.requests.append({"endpoint": "personas", "method": "POST", "body": body, "id": persona_id})
        return body, {"id": persona_id}

    async def _delete(self, request: Request) -> JSONResponse:
        return await self._guard(request, "delete", self._delete_body)

    async def _delete_body(self, request: Request) -> tuple[Any, dict]:
        object_id = request.path_params["object_id"]
        if object_id not in self.personas:
            raise Refused(f"(#100) Unsupported delete request: no object {object_id!r}")
        del self.personas[object_id]
        self.deleted_personas.append(object_id)
        self.requests.append({"endpoint": "delete", "method": "DELETE", "id": object_id})
        return None, {"success": True}
