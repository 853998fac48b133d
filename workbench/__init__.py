"""Workbench: build, debug, serve and evaluate chatbots from one task directory.

What a task's ``worlds.py`` needs is importable from here::

    from workbench import World, OnboardWorld, bot, world, action, validator, hook

Names load on first use, so ``workbench --help`` imports none of them.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "action": "workbench.task.registry",
    "bot": "workbench.task.registry",
    "hook": "workbench.task.registry",
    "transform": "workbench.task.registry",
    "validator": "workbench.task.registry",
    "world": "workbench.task.registry",
    "EXIT": "workbench.runtime.worlds.base",
    "OnboardWorld": "workbench.runtime.worlds.base",
    "World": "workbench.runtime.worlds.base",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
