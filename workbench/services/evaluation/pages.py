"""Rendering the evaluation pages: Jinja2 templates with autoescaping on, and the headers
every page gets (no caching, a Content-Security-Policy with no script at all)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


@lru_cache(maxsize=1)
def environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined)


def headers(frame_hosts: tuple[str, ...] = ()) -> dict[str, str]:
    """No script may run on these pages; forms post only here (or to Mechanical Turk's
    submit page); only Mechanical Turk may frame them, and only when the study uses it."""
    ancestors = " ".join(frame_hosts) if frame_hosts else "'none'"
    forms = " ".join(("'self'", *frame_hosts))
    policy = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
        f"form-action {forms}; base-uri 'none'; frame-ancestors {ancestors}"
    )
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def render(name: str, **values: Any) -> str:
    return environment().get_template(name).render(**values)
