"""What retrieval is doing in the background, for whoever shows it (a CLI progress bar, the TUI).

Loading the embedding model, encoding a table's examples and calibrating its
threshold happen in background threads; each step emits a :class:`RetrievalEvent`
to the listeners :func:`subscribe` registered. Listeners are called in the thread
doing the work, so they must be quick and thread-safe (the TUI posts a message,
the CLI updates a progress bar). Nothing here knows who listens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievalEvent:
    """``kind``: ``encoding`` (``done`` of ``total`` examples encoded), ``ready`` (hybrid matching
    answers from now on), ``calibrated`` (a threshold was chosen), ``fallback`` (BM25 answers,
    ``message`` says why)."""

    kind: str
    #: the collection it concerns (``decision_table:desk``, ``nlu:booking``...)
    collection: str
    message: str = ""
    done: int = 0
    total: int = 0


Listener = Callable[[RetrievalEvent], object]  # what it returns is ignored
_LISTENERS: list[Listener] = []
_LOCK = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call ``listener`` with every event from now on; returns the function that stops it."""
    with _LOCK:
        _LISTENERS.append(listener)

    def unsubscribe() -> None:
        with _LOCK:
            if listener in _LISTENERS:
                _LISTENERS.remove(listener)

    return unsubscribe


def emit(event: RetrievalEvent) -> None:
    with _LOCK:
        listeners = list(_LISTENERS)
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a broken display must not stop the work it displays
            log.exception("a retrieval event listener failed")
