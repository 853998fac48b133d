"""Responses: templates filled with slot values, variants taken in turn, quick replies."""

from __future__ import annotations

from typing import Any

from workbench.engines.form.spec import Response
from workbench.message import Message


class _Values(dict):
    """Template variables; an unknown name stays as written ("{name}")."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def fill(template: str, variables: dict[str, Any]) -> str:
    try:
        return template.format_map(_Values({k: _text(v) for k, v in variables.items()}))
    except (ValueError, IndexError, AttributeError):
        return template  # braces that are not placeholders: say it as written


def render(response: Response, variables: dict[str, Any], turn: int = 0) -> tuple[Message, dict[str, str]]:
    """The message for ``response`` and its buttons' payloads (label -> payload)."""
    text, labels, payloads = response.variants[turn % len(response.variants)]
    msg = Message(text=fill(text, variables))
    if labels:
        msg["quick_replies"] = list(labels)
    return msg, dict(payloads)
