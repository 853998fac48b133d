"""Textual messages the app's screens exchange (runtime events, store ready)."""

from __future__ import annotations

from typing import Any

from textual.message import Message as TextualMessage


class RuntimeEvent(TextualMessage):
    """A runner event (message stored, state changed, world entered...)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class DeltaTick(TextualMessage):
    """Pieces of reply ``stream`` wait in the chat's buffer. One is posted per piece; a tick
    still queued is replaced by the next of the same stream, so a fast model renders in
    batches and the app stays responsive."""

    def __init__(self, stream: str) -> None:
        super().__init__()
        self.stream = stream

    def can_replace(self, message: TextualMessage) -> bool:
        return isinstance(message, DeltaTick) and message.stream == self.stream


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


class RetrievalUpdate(TextualMessage):
    """Background retrieval work moved on: the model loaded, examples encoded, a threshold chosen
    (a :class:`workbench.engines.retrieval.events.RetrievalEvent`)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event
