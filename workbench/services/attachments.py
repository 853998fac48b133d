"""The one shape an attachment from a person may take: a closed schema checked at a channel's edge.

A person's attachment is data, never an instruction to the server. It is either the
bytes themselves (base64 ``data`` with a ``mime_type``, within a size limit) or an
``https`` URL that the server never fetches; nothing else. A ``path``, a ``file://``
or ``http://`` URL, a name that could be resolved, an unknown key: all are refused.
What passes is normalised (the base64 re-encoded from the decoded bytes), so whatever
a channel relays to another person's channel is made from checked bytes only::

    {"type": "image" | "file", "mime_type": "image/png", "data": BASE64, "name"?: "photo.png"}
    {"type": "image" | "file", "url": "https://...", "name"?: "photo.png"}

docs/serve.md ("Attachments") is the reference every channel relies on.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

#: decoded bytes an attachment may carry when the channel sets no limit of its own
DEFAULT_MAX_BYTES = 1 << 20
MAX_NAME_CHARS = 255
MAX_URL_CHARS = 2048
#: a MIME type as RFC 6838 spells one (no parameters: ``;charset=`` and the like are refused)
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
#: what a display name may not hold: path separators, NUL and controls, U+FFFD (a cleaned control)
_NAME_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f-\x9f\ufffd]")
#: whitespace and controls have no place in a URL a person sends
_URL_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ufffd\\]")

SHAPE = (
    'An attachment is {"type": "image" or "file", "mime_type": "image/png", "data": BASE64} '
    'or {"type": "image" or "file", "url": "https://..."}, optionally with a "name"'
)


class Attachment(BaseModel):
    """An image or file a person sends: base64 ``data`` with its ``mime_type``, or an ``https`` ``url``.

    Validate with ``Attachment.model_validate(payload, context={"max_bytes": N})``;
    :meth:`normalised` is the payload a channel hands to the runtime.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    type: Literal["image", "file"] = Field(description="what it is: an image is shown, a file offered")
    mime_type: str | None = Field(
        None, description="the type of `data`, such as image/png (required with data; images need image/...)"
    )
    data: str | None = Field(None, description="the content, base64 (standard alphabet, padded)")
    url: str | None = Field(None, description="where the content is: an https URL, never fetched by the server")
    name: str | None = Field(
        None, description="a display name only (no path separators or control characters; never opened)"
    )

    @field_validator("mime_type")
    @classmethod
    def _mime(cls, value: str | None) -> str | None:
        if value is None:
            return None
        mime = value.strip().lower()
        if not _MIME.fullmatch(mime):
            raise ValueError(f"{value[:80]!r} is not a MIME type such as image/png")
        return mime

    @field_validator("data")
    @classmethod
    def _data(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        limit = int((info.context or {}).get("max_bytes", DEFAULT_MAX_BYTES))
        # the encoded length bounds the decoded one: refuse before decoding anything big
        if len(value) > 4 * ((limit + 2) // 3) + 4:
            raise ValueError(f"the data is larger than the limit of {limit} bytes")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64 (A-Z, a-z, 0-9, + and /, padded with =)") from None
        if len(raw) > limit:
            raise ValueError(f"the data is larger than the limit of {limit} bytes")
        if not raw:
            raise ValueError("is empty")
        return base64.b64encode(raw).decode("ascii")  # re-encoded from the checked bytes

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) > MAX_URL_CHARS:
            raise ValueError(f"a URL may be at most {MAX_URL_CHARS} characters")
        if _URL_UNSAFE.search(value):
            raise ValueError("a URL may not contain spaces, backslashes or control characters")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ValueError("is not a URL") from None
        if parts.scheme.lower() != "https":
            raise ValueError("only https URLs are accepted (no file:, http: or paths)")
        if not parts.hostname or "@" in parts.netloc:
            raise ValueError("an https URL needs a host name and no user name or password")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) > MAX_NAME_CHARS:
            raise ValueError(f"a name may be at most {MAX_NAME_CHARS} characters")
        if _NAME_UNSAFE.search(value) or value.strip() in ("", ".", ".."):
            raise ValueError("a name is shown, never opened: no slashes, backslashes or control characters")
        return value.strip()

    @model_validator(mode="after")
    def _one_source(self) -> Attachment:
        if (self.data is None) == (self.url is None):
            raise ValueError('needs either "data" (base64, with "mime_type") or "url" (https), not both')
        if self.data is not None and self.mime_type is None:
            raise ValueError('"data" needs a "mime_type" such as image/png')
        if self.type == "image" and self.mime_type is not None and not self.mime_type.startswith("image/"):
            raise ValueError(f'an image needs an image/... "mime_type", not {self.mime_type}')
        return self

    def normalised(self) -> dict[str, Any]:
        """The payload handed to the runtime (and relayed): only the keys that are set."""
        return self.model_dump(exclude_none=True)
