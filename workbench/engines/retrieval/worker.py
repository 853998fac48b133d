"""One background thread for retrieval's slow work: encoding examples, fitting, calibrating.

The work is CPU-bound, so one thread does it all, one job after another, and the
event loop and the turns keep the other core. The thread is a daemon: a process
that exits while a table is still being encoded simply stops (what was encoded is
already in the store).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_QUEUE: queue.Queue[Callable[[], None]] = queue.Queue()
_STARTED = False
_LOCK = threading.Lock()


def submit(job: Callable[[], None]) -> None:
    """Run ``job`` in the retrieval thread, after the jobs already queued."""
    global _STARTED
    with _LOCK:
        if not _STARTED:
            threading.Thread(target=_run, name="workbench-retrieval", daemon=True).start()
            _STARTED = True
    _QUEUE.put(job)


def _run() -> None:
    while True:
        job = _QUEUE.get()
        try:
            job()
        except Exception:  # one collection's failure must not stop the others' preparation
            log.exception("background retrieval work failed")
