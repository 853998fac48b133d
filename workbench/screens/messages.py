"""Textual messages the app's screens exchange (runtime events, store ready)."""

from __future__ import annotations

from typing import Any

from textual.message import Message as TextualMessage


class RuntimeEvent(TextualMessage):
    """A runner event (message stored, state changed, world entered...)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class StoreReady(TextualMessage):
    """The task's store and runner are open (done in a worker after first paint)."""

    def __init__(self, runner: Any) -> None:
        super().__init__()
        self.runner = runner


class StoreFailed(TextualMessage):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class TaskInvalid(TextualMessage):
    """The checks `workbench validate` runs found errors: the app stops and the command
    prints them (``problems``: every Problem found, warnings included)."""

    def __init__(self, problems: list[Any]) -> None:
        super().__init__()
        self.problems = problems
