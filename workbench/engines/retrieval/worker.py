"""One background thread for retrieval's slow work: encoding examples, fitting, calibrating.

The work is CPU-bound, so one thread does it all, one job after another, and the
event loop and the turns keep the other core. At exit the thread is told to stop
(encoding stops between batches; what was encoded is already in the store) and the
job in progress is waited for, a few seconds at most.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

#: seconds the process waits at exit for the job in progress (a batch, a head's fit)
EXIT_WAIT = 5.0

_QUEUE: queue.Queue[Callable[[], None] | None] = queue.Queue()
_STOP = threading.Event()
_THREAD: threading.Thread | None = None
_LOCK = threading.Lock()


class Stopped(Exception):
    """The process is exiting: background work gives up where it is."""


def stopping() -> bool:
    return _STOP.is_set()


def submit(job: Callable[[], None]) -> None:
    """Run ``job`` in the retrieval thread, after the jobs already queued."""
    global _THREAD
    with _LOCK:
        if _STOP.is_set():
            return
        if _THREAD is None:
            _THREAD = threading.Thread(target=_run, name="workbench-retrieval", daemon=True)
            _THREAD.start()
    _QUEUE.put(job)


def _run() -> None:
    while True:
        job = _QUEUE.get()
        if job is None or _STOP.is_set():
            return
        try:
            job()
        except Stopped:
            return
        except Exception as exc:  # one collection's failure must not stop the others' preparation
            # one line: the usual cause is a store closed while its table was still being prepared
            log.warning("background retrieval work failed: %s: %s", type(exc).__name__, exc)
            log.debug("background retrieval work failed", exc_info=True)


@atexit.register
def _shutdown() -> None:
    _STOP.set()
    _QUEUE.put(None)
    thread = _THREAD
    if thread is not None and thread.is_alive():
        thread.join(EXIT_WAIT)
