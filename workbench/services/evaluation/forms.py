"""Form posts read at the edge: url-encoded only, within a size and field-count limit,
every value cleaned (workbench.io.untrusted.clean_text), fixed forms checked by closed
pydantic models."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.io.untrusted import UntrustedInput, clean_text

MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 200


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=20000)
    csrf: str = Field(max_length=256)


class LoginForm(Form):
    account: str = Field(max_length=63)
    password: str = Field(max_length=1024)


class SignupForm(LoginForm):
    password2: str = Field(max_length=1024)


class SayForm(Form):
    text: str = Field(max_length=100000)


class CsrfOnly(Form):
    pass


async def read_form(request: Any) -> dict[str, str]:
    """The url-encoded body of ``request`` as {name: value} (the last value of a repeated name)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise UntrustedInput("expected a form (application/x-www-form-urlencoded)", status=415)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise UntrustedInput(f"the form is larger than {MAX_FORM_BYTES} bytes", status=413)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise UntrustedInput("the form is not UTF-8 text") from None
    except ValueError:
        raise UntrustedInput(f"the form has more than {MAX_FIELDS} fields") from None
    return {clean_text(k): clean_text(v) for k, v in pairs}


def model(kind: type[Form], fields: dict[str, str], extra: tuple[str, ...] = ()) -> Any:
    """``fields`` checked against ``kind`` (names in ``extra`` are left out first)."""
    known = {k: v for k, v in fields.items() if k not in extra and not k.startswith(("q", "cb_"))}
    try:
        return kind.model_validate(known)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        raise UntrustedInput(f"{where}: {first['msg']}") from None
