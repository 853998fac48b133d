"""Workbench: build, debug, serve and evaluate chatbots from one task directory."""

__version__ = "0.1.0"

from workbench.registry import action, bot, world  # noqa: E402  (decorators for worlds.py)

__all__ = ["__version__", "action", "bot", "world"]
