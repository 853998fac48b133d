"""A message's ``payload`` as a Messenger attachment, from a closed set of shapes.

Whoever wrote the payload (a bot, a world, or a person on another channel whose message
a ``human_chat`` world relays), it must be exactly one of:

- ``{"type": KIND, "data": BASE64, "mime_type": MIME}``: the bytes are decoded (strict
  base64, within ``max_attachment_bytes``), checked against the kind (an image must be a
  PNG, JPEG, GIF or WebP and start like one; audio and video need their MIME family) and
  uploaded through the Attachment Upload API under a generated file name;
- ``{"type": KIND, "url": "https://..."}``: passed to Facebook as a URL (``"upload": true``
  asks Facebook to fetch it once and reuse it); the server never fetches it;
- ``{"type": KIND, "attachment_id": ID}``: an attachment this page uploaded before;
- ``{"type": KIND, "path": NAME}``: a file of the task, read only when ``NAME`` lies inside
  one of the task's ``serve.messenger.files`` (:func:`workbench.io.contained.read_contained`);
- ``{"type": "template", "payload": {...}}``: a Messenger template.

KIND is image, audio, video or file. Anything else (another key, a ``file://`` or
``http://`` URL, an absolute path, ``..``) is refused with :class:`AttachmentRefused`
and nothing is read or sent for it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hashlib
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from workbench.io.contained import FileRefused, read_contained

if TYPE_CHECKING:
    from workbench.services.messenger.graph import GraphClient

MEDIA_TYPES = ("image", "audio", "video", "file")
#: what an image may be, and how each kind's bytes begin
IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
_MIME = re.compile(r"^[a-z]+/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
MAX_URL_CHARS = 2048
#: uploads remembered (url, file or content digest -> attachment id) so each goes up once
UPLOAD_CACHE = 1024


class AttachmentRefused(ValueError):
    """A payload that is not one of the accepted shapes; the message says why (never its content)."""


class _Media(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["image", "audio", "video", "file"]


class DataPayload(_Media):
    data: str
    mime_type: str = Field(max_length=160)


class UrlPayload(_Media):
    url: str = Field(max_length=MAX_URL_CHARS)
    upload: bool = False


def _id_text(value: object) -> object:
    """Facebook's ids are numbers written as strings; a bot may hand over the number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class StoredPayload(_Media):
    attachment_id: Annotated[str, BeforeValidator(_id_text)] = Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")


class FilePayload(_Media):
    path: str = Field(max_length=1024)


#: the key that says which shape a media payload has
_SHAPES: dict[str, type[_Media]] = {
    "data": DataPayload,
    "url": UrlPayload,
    "attachment_id": StoredPayload,
    "path": FilePayload,
}


def media_payload(payload: Mapping[str, Any]) -> _Media:
    """The payload validated as exactly one media shape, or :class:`AttachmentRefused`."""
    sources = [key for key in _SHAPES if key in payload]
    if len(sources) != 1:
        raise AttachmentRefused(
            f"a {str(payload.get('type'))[:20]} payload needs exactly one of data (+ mime_type), url, "
            f"attachment_id or path; got {', '.join(sorted(map(str, payload))) or 'nothing'}"
        )
    try:
        shape = _SHAPES[sources[0]].model_validate(dict(payload))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise AttachmentRefused(f"payload.{where}: {first['msg']}") from None
    if isinstance(shape, UrlPayload):
        check_url(shape.url)
    return shape


def check_url(url: str) -> None:
    """An attachment URL must be ``https://host/...`` (no credentials, no spaces)."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise AttachmentRefused(f"an attachment URL must be https://host/...; got a {parts.scheme or 'relative'} URL")
    if not parts.hostname or "@" in parts.netloc or any(c.isspace() for c in url):
        raise AttachmentRefused("an attachment URL must be https://host/... without credentials or spaces")


def decode_data(data: str, limit: int) -> bytes:
    """Strict base64 of at most ``limit`` decoded bytes (checked before decoding)."""
    if len(data) > 4 * (limit // 3 + 1):
        raise AttachmentRefused(f"the attachment is larger than the limit of {limit} bytes")
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentRefused("payload.data is not base64") from None
    if not content:
        raise AttachmentRefused("payload.data is empty")
    if len(content) > limit:
        raise AttachmentRefused(f"the attachment is larger than the limit of {limit} bytes")
    return content


def check_content(kind: str, mime_type: str, content: bytes) -> None:
    """The bytes fit the kind: a known image format that starts like one, audio/* for
    audio, video/* for video, any well-formed MIME type for a file."""
    if not _MIME.match(mime_type):
        raise AttachmentRefused(f"{mime_type[:60]!r} is not a MIME type such as image/png")
    if kind == "image":
        signatures = IMAGE_SIGNATURES.get(mime_type)
        if signatures is None:
            raise AttachmentRefused(f"an image must be one of {', '.join(IMAGE_SIGNATURES)}, not {mime_type}")
        if not content.startswith(signatures) or (mime_type == "image/webp" and content[8:12] != b"WEBP"):
            raise AttachmentRefused(f"the image's bytes are not {mime_type}")
    elif kind in ("audio", "video") and not mime_type.startswith(kind + "/"):
        raise AttachmentRefused(f"a {kind} attachment needs a {kind}/* MIME type, not {mime_type}")


@dataclass(frozen=True)
class TaskFiles:
    """The files a task's replies may attach by ``path``: ``entries`` (files or folders)
    inside ``root``."""

    root: Path | None
    entries: Sequence[str]

    def read(self, name: str, limit: int) -> bytes:
        if self.root is None or not self.entries:
            raise AttachmentRefused(
                "this task attaches no files by path (list them in serve.messenger.files, docs/messenger.md)"
            )
        try:
            return read_contained(self.root, self.entries, name, limit)
        except FileRefused as exc:
            raise AttachmentRefused(f"payload.path: {exc}") from None


class Attachments:
    """Turns payloads into Messenger attachments, uploading what must be uploaded once."""

    def __init__(self, graph: GraphClient, files: TaskFiles, limit: int) -> None:
        self.graph = graph
        self.files = files
        self.limit = limit
        self._uploads: collections.OrderedDict[tuple[str, str, str], str] = collections.OrderedDict()

    async def attachment(self, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """The Messenger attachment for ``payload``; None when its type has no Messenger
        form (a form, a location); :class:`AttachmentRefused` when it is not an accepted shape."""
        kind = payload.get("type")
        if kind == "template":
            return _template(payload)
        if kind not in MEDIA_TYPES:
            ready = payload.get("data")
            if isinstance(ready, Mapping) and ready.get("type"):
                return await self._parlai(ready)  # ParlAI: a ready-made Messenger attachment in ``data``
            return None
        shape = media_payload(payload)
        if isinstance(shape, StoredPayload):
            return {"type": shape.type, "payload": {"attachment_id": shape.attachment_id}}
        if isinstance(shape, UrlPayload) and not shape.upload:
            return {"type": shape.type, "payload": {"url": shape.url, "is_reusable": True}}
        return {"type": shape.type, "payload": {"attachment_id": await self._upload(shape)}}

    async def _parlai(self, ready: Mapping[str, Any]) -> dict[str, Any]:
        inner = ready.get("payload")
        if ready.get("type") == "template":
            return _template(ready)
        if ready.get("type") in MEDIA_TYPES and isinstance(inner, Mapping):
            # is_reusable is ours to set: every upload is reusable
            shape = {k: v for k, v in inner.items() if k != "is_reusable"}
            found = await self.attachment({"type": ready["type"], **shape})
            if found is not None:
                return found
        raise AttachmentRefused("a ready-made attachment in payload.data must be a template or a media URL")

    async def _upload(self, shape: _Media) -> str:
        kind = shape.type
        if isinstance(shape, UrlPayload):
            key = (kind, "url", shape.url)
            if key in self._uploads:
                return self._remember(key, self._uploads[key])
            return self._remember(key, await self.graph.upload_attachment(kind, url=shape.url))
        if isinstance(shape, FilePayload):
            key = (kind, "path", shape.path)
            if key in self._uploads:
                return self._remember(key, self._uploads[key])
            content = await asyncio.to_thread(self.files.read, shape.path, self.limit)
            filename = shape.path.rsplit("/", 1)[-1]
            mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        elif isinstance(shape, DataPayload):
            content = decode_data(shape.data, self.limit)
            mime_type = shape.mime_type.lower()
            filename = f"{kind}{mimetypes.guess_extension(mime_type) or ''}"
            key = (kind, "sha256", hashlib.sha256(content).hexdigest())
            if key in self._uploads:
                return self._remember(key, self._uploads[key])
        else:  # pragma: no cover - StoredPayload never needs an upload
            raise AttachmentRefused("nothing to upload")
        check_content(kind, mime_type, content)
        attachment_id = await self.graph.upload_attachment(
            kind, content=content, filename=filename, mime_type=mime_type
        )
        return self._remember(key, attachment_id)

    def _remember(self, key: tuple[str, str, str], attachment_id: str) -> str:
        self._uploads[key] = attachment_id
        self._uploads.move_to_end(key)
        while len(self._uploads) > UPLOAD_CACHE:
            self._uploads.popitem(last=False)
        return attachment_id


def _template(payload: Mapping[str, Any]) -> dict[str, Any]:
    body = payload.get("payload")
    if not isinstance(body, Mapping):
        body = {k: v for k, v in payload.items() if k != "type"}
    if not isinstance(body.get("template_type"), str):
        raise AttachmentRefused("a template payload needs a template_type")
    return {"type": "template", "payload": dict(body)}
