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


class RetrievalUpdate(TextualMessage):
    """Background retrieval work moved on: the model loaded, examples encoded, a threshold chosen
    (a :class:`workbench.engines.retrieval.events.RetrievalEvent`)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event
