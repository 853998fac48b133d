"""Request bodies, read within a limit while they arrive and checked against their model.

A ``Content-Length`` over the limit is refused before a byte is read; a body sent
without one (chunked) is counted as it streams and refused (413) as soon as it passes
the limit, so no request holds more than the limit in memory. JSON goes through
:func:`workbench.io.untrusted.parse_json_object` (size, depth, 64-bit integers, finite
floats, clean strings), then the endpoint's pydantic model; a large body is parsed in a
worker thread.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from workbench.io.untrusted import JsonLimits, UntrustedInput, parse_json_object
from workbench.services.starchat.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)

#: bodies up to this size are parsed on the event loop (well under a millisecond); larger ones in a thread
INLINE_PARSE = 64 << 10


def _too_big(what: str, limit: int) -> ApiError:
    return ApiError(413, f"the {what} is larger than the limit of {limit} bytes", field="body", limit=limit)


async def read_limited(request: Request, limit: int, what: str = "body") -> bytes:
    """The body of ``request``, or a 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ApiError(400, "the Content-Length header is not a number", field="Content-Length")
        if int(declared) > limit:
            raise _too_big(what, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_big(what, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes, model: type[Model], limit: int) -> Model:
    """``raw`` as ``model``: :class:`ApiError` 400 (or 413) naming the field when it is not."""
    try:
        value = parse_json_object(raw, JsonLimits(max_bytes=limit))
    except UntrustedInput as exc:
        raise ApiError.untrusted(exc) from None
    return validate(value, model)


def validate(value: object, model: type[Model]) -> Model:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ApiError.invalid(exc) from None


def parse_object(raw: bytes, limit: int) -> dict:
    """``raw`` as a JSON object (for bodies a domain function validates itself)."""
    try:
        return parse_json_object(raw, JsonLimits(max_bytes=limit))
    except UntrustedInput as exc:
        raise ApiError.untrusted(exc) from None


async def json_body(request: Request, model: type[Model], limit: int) -> Model:
    """The request's JSON body as ``model``."""
    raw = await read_limited(request, limit)
    if len(raw) > INLINE_PARSE:
        return await asyncio.to_thread(parse, raw, model, limit)
    return parse(raw, model, limit)


async def json_object(request: Request, limit: int) -> dict:
    raw = await read_limited(request, limit)
    if len(raw) > INLINE_PARSE:
        return await asyncio.to_thread(parse_object, raw, limit)
    return parse_object(raw, limit)


async def upload(request: Request, limit: int) -> tuple[bytes, str | None]:
    """An uploaded file: the raw body, or the first file of a multipart form; and its name."""
    raw = await read_limited(request, limit, "upload")
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return raw, None

    async def replay():
        # in slices, so the loop serves others between them
        for start in range(0, len(raw), INLINE_PARSE):
            yield raw[start : start + INLINE_PARSE]

    parser = MultiPartParser(Headers(raw=[(b"content-type", content_type.encode("latin-1"))]), replay(), max_files=1)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, f"the form cannot be read: {exc.message}", field="body") from None
    try:
        for _, value in form.multi_items():
            if not isinstance(value, str):
                return await value.read(), value.filename
    finally:
        await form.close()
    raise ApiError(400, "the form has no file", field="csv")


def text_of(raw: bytes) -> str:
    """An upload as text (UTF-8, a spreadsheet's byte-order mark tolerated)."""
    if not raw.strip():
        raise ApiError(400, "the upload is empty", field="body")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"the upload is not UTF-8 text (byte {exc.start + 1})", field="body") from None
