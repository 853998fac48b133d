"""The REST API's errors: one exception, answered as JSON ``{"error", "field", ...}``.

Every refusal (bad JSON, a field that fails its model, a missing token, a body over the
limit) is an :class:`ApiError`; a framework's bare 422 or a traceback never reaches a
client.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from workbench.io.untrusted import UntrustedInput


class ApiError(Exception):
    """An error answered as JSON: ``{"error": message, "field": field, **extra}`` with ``status``."""

    def __init__(self, status: int, message: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": message}
        if field is not None:
            self.body["field"] = field
        self.body.update(extra)

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        if self.status == 413:
            # the rest of the body is not read: the connection cannot carry another request
            headers = {"Connection": "close"}
        return JSONResponse(self.body, status_code=self.status, headers=headers)

    @classmethod
    def untrusted(cls, exc: UntrustedInput) -> ApiError:
        """A body refused by :mod:`workbench.io.untrusted` (too big, not JSON, too deep...)."""
        return cls(exc.status, exc.message, field=exc.field or "body")

    @classmethod
    def invalid(cls, exc: ValidationError, prefix: str = "") -> ApiError:
        """A body whose fields fail their model: the first problem names the field, all are listed."""
        problems = [{"field": _path(e["loc"], prefix), "message": _message(e)} for e in exc.errors()]
        first = problems[0] if problems else {"field": prefix or "body", "message": "invalid"}
        return cls(400, first["message"], field=first["field"], problems=problems)


def _path(loc: tuple[Any, ...], prefix: str) -> str:
    parts: list[str] = [prefix] if prefix else []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        elif _is_tag(str(part)):
            continue  # a union member's tag (``str``, ``constrained-str``, ``UserInput``), not a field
        else:
            parts.append(str(part))
    return ".".join(parts) or "body"


#: plain type names pydantic puts in an error's location for the members of a union
_TYPE_TAGS = {"str", "int", "float", "bool", "bytes", "list", "dict", "none"}


def _is_tag(part: str) -> bool:
    """Our fields are snake_case words; pydantic's union tags are type names
    (``int``, ``constrained-str``, ``list[...]``, ``literal[...]``, a model's class name)."""
    return part in _TYPE_TAGS or any(c in part for c in "[-'") or part != part.lower()


def _message(error: Any) -> str:
    kind = error.get("type")
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")
