"""Untrusted input at a channel's edge: JSON with limits, and text made safe to store and show.

Everything a person sends (a websocket frame, a REST body, a Messenger webhook, the
JSON cells of an uploaded file) goes through :func:`parse_json` once, at the edge. It
refuses bodies over a size limit, nesting deeper than a depth limit, integers outside
64 bits, and ``NaN``/``Infinity``/overflowing floats, with a message that says which
limit was hit; it never raises anything but :class:`UntrustedInput`. Every string in
the result is passed through :func:`clean_text`: unpaired surrogates (which SQLite and
UTF-8 cannot store) and control characters (which could drive a developer's terminal)
become U+FFFD, so one person's bad string cannot fail a commit shared with others.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

REPLACEMENT = "\ufffd"
#: unpaired surrogates, NUL and the C0/C1 controls except tab, newline and carriage return
_UNSAFE = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: the largest integer accepted anywhere a person's JSON goes (SQLite's INTEGER is 64-bit)
MAX_INT = 2**63 - 1
#: digits of the largest accepted integer (checked before converting, so a 5,000-digit
#: literal costs nothing)
_MAX_INT_DIGITS = len(str(MAX_INT))


class UntrustedInput(ValueError):
    """Input refused at the edge; ``message`` says what was expected, ``field`` where.

    A syntax error also has its ``line`` and ``column`` (1-based) in the input, and
    ``reason``, the message without them (for readers that report the place themselves)."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        status: int = 400,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(message + where)
        self.reason = message
        self.message = message + where
        self.field = field
        #: the HTTP status a REST channel answers with (413 for a body over the limit)
        self.status = status
        self.line = line
        self.column = column


@dataclass(frozen=True)
class JsonLimits:
    """How much JSON a channel accepts from a person."""

    max_bytes: int = 1 << 20
    max_depth: int = 32

    def describe(self) -> str:
        return f"at most {self.max_bytes} bytes, nested at most {self.max_depth} deep"


DEFAULT_LIMITS = JsonLimits()


def clean_text(text: str) -> str:
    """``text`` with unpaired surrogates and control characters replaced by U+FFFD
    (tab, newline and carriage return are kept)."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(REPLACEMENT, text)


def _int(literal: str) -> int:
    digits = literal.lstrip("-")
    if len(digits) > _MAX_INT_DIGITS or abs(value := int(literal)) > MAX_INT:
        raise UntrustedInput(
            f"the number {literal[:24]}{'…' if len(literal) > 24 else ''} is too large "
            f"(integers must lie between {-MAX_INT} and {MAX_INT})"
        )
    return value


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise UntrustedInput(f"the number {literal[:24]} is too large for a floating-point value")
    return value


def _constant(name: str) -> Any:
    raise UntrustedInput(f"{name} is not a JSON number; send a finite number")


def clean_value(value: Any, max_depth: int = DEFAULT_LIMITS.max_depth) -> Any:
    """``value`` (parsed JSON) with every string, keys included, passed through
    :func:`clean_text`; raises :class:`UntrustedInput` when nested deeper than
    ``max_depth``. Iterative, so no input can exhaust the stack."""
    if isinstance(value, str):
        return clean_text(value)
    if not isinstance(value, (dict, list)):
        return value
    # (container, depth); containers are rebuilt in place
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise UntrustedInput(f"the JSON is nested more than {max_depth} levels deep")
        if isinstance(node, dict):
            items = list(node.items())
            if any(isinstance(k, str) and _UNSAFE.search(k) for k, _ in items):
                node.clear()
                node.update((clean_text(k), v) for k, v in items)
                items = list(node.items())
            for k, v in items:
                if isinstance(v, str):
                    node[k] = clean_text(v)
                elif isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))
        else:
            for i, v in enumerate(node):
                if isinstance(v, str):
                    node[i] = clean_text(v)
                elif isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))
    return value


def parse_json(raw: bytes | bytearray | str, limits: JsonLimits = DEFAULT_LIMITS, what: str = "body") -> Any:
    """Parse a person's JSON within ``limits``; every string in the result is clean.

    Raises :class:`UntrustedInput` (never anything else) naming what was wrong:
    too big (status 413), not UTF-8, not JSON (with line and column), nested too
    deep, or a number out of range.
    """
    size = len(raw) if isinstance(raw, (bytes, bytearray)) else len(raw)
    if size > limits.max_bytes or (
        isinstance(raw, str)
        and size * 4 > limits.max_bytes
        and len(raw.encode("utf-8", "surrogatepass")) > limits.max_bytes
    ):
        raise UntrustedInput(f"the {what} is larger than the limit of {limits.max_bytes} bytes", status=413)
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UntrustedInput(f"the {what} is not UTF-8 text (byte {exc.start + 1})") from None
    else:
        text = raw
    if not text.strip():
        raise UntrustedInput(f"the {what} is empty; expected JSON")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except UntrustedInput:
        raise
    except RecursionError:
        raise UntrustedInput(f"the {what} is nested more than {limits.max_depth} levels deep") from None
    except json.JSONDecodeError as exc:
        raise UntrustedInput(f"the {what} is not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except (ValueError, TypeError) as exc:  # pragma: no cover - json raises JSONDecodeError for syntax
        raise UntrustedInput(f"the {what} is not valid JSON: {exc}") from None
    return clean_value(value, limits.max_depth)


def parse_json_object(
    raw: bytes | bytearray | str, limits: JsonLimits = DEFAULT_LIMITS, what: str = "body"
) -> dict[str, Any]:
    """:func:`parse_json`, and the result must be a JSON object."""
    value = parse_json(raw, limits, what)
    if not isinstance(value, dict):
        raise UntrustedInput(f"expected a JSON object as the {what}, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return {
        list: "an array",
        str: "a string",
        bool: "true or false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
