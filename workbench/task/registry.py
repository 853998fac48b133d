"""Decorators a task's worlds.py uses to register worlds, bots and actions.

A task's Python file is imported with a fresh :class:`Registry` made current,
so two tasks loaded in one process never see each other's names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Registry:
    worlds: dict[str, Any] = field(default_factory=dict)
    bots: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, Callable[..., Any]] = field(default_factory=dict)
    validators: dict[str, Callable[..., Any]] = field(default_factory=dict)
    hooks: dict[str, Callable[..., Any]] = field(default_factory=dict)
    transforms: dict[str, Any] = field(default_factory=dict)


_current: Registry = Registry()


def current() -> Registry:
    return _current


@contextlib.contextmanager
def collecting(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the one decorators write to while a task module imports."""
    global _current
    previous, _current = _current, registry
    try:
        yield registry
    finally:
        _current = previous


def _register(kind: str, name: str | None) -> Callable[[Any], Any]:
    def decorate(obj: Any) -> Any:
        key = name or getattr(obj, "__name__", None)
        if not key:
            raise ValueError(f"@{kind[:-1]} needs a name")
        getattr(_current, kind)[key] = obj
        return obj

    return decorate


def world(name: str | None = None) -> Callable[[Any], Any]:
    """Register a World class under ``name`` (default: the class name)."""
    return _register("worlds", name)


def bot(name: str | None = None) -> Callable[[Any], Any]:
    """Register a bot class: boteval style (``hear``/``talk``) or ParlAI style (``observe``/``act``)."""
    return _register("bots", name)


def action(name: str | None = None) -> Callable[[Any], Any]:
    """Register a server-side action (used by decision tables and forms)."""
    return _register("actions", name)


def validator(name: str | None = None) -> Callable[[Any], Any]:
    """Register a slot validator (used by forms)."""
    return _register("validators", name)


def hook(name: str | None = None) -> Callable[[Any], Any]:
    """Register a named hook (for example dynamic required slots)."""
    return _register("hooks", name)


def transform(name: str | None = None) -> Callable[[Any], Any]:
    """Register a message transform."""
    return _register("transforms", name)
