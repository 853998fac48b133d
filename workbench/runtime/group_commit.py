"""Group commit: the turns of many conversations written in one SQLite transaction,
off the event loop.

Every turn a session commits is queued; one transaction writes the queue in a
worker thread (one thread for every store, so the loop never waits for the
database or for a lock a long write holds), then each waiting turn is
acknowledged. Turns queued while a transaction is being written share the next
one. Acknowledged still means committed (nothing is delivered before its
transaction has returned); the store just writes once per batch instead of once
per turn. If the shared transaction fails, each turn is retried alone, so one
bad turn fails only its own conversation.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

from workbench.store import Commit, Store

log = logging.getLogger(__name__)

#: each store's queue; a store that is gone takes its queue with it
_QUEUES: weakref.WeakKeyDictionary[Store, GroupCommit] = weakref.WeakKeyDictionary()
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    """The one thread every group commit writes in (made on first use)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="group-commit")
        return _executor


class GroupCommit:
    """The commit queue of one store on one event loop."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop
        self._queue: list[tuple[Commit, asyncio.Future]] = []
        self._writing = False

    @classmethod
    def of(cls, store: Store) -> GroupCommit:
        """The queue of ``store`` on the running loop (made on first use)."""
        loop = asyncio.get_running_loop()
        group = _QUEUES.get(store)
        if group is None or group.loop is not loop:
            group = _QUEUES[store] = cls(store, loop)
        return group

    async def commit(self, commit: Commit) -> None:
        """Return once ``commit`` is in the store (raise what its write raised)."""
        future = self.loop.create_future()
        if not self._queue and not self._writing:
            # the end of this loop pass: every turn committed in it joins the batch
            self.loop.call_soon(self._start)
        self._queue.append((commit, future))
        await future

    def _start(self) -> None:
        if self._writing or not self._queue:
            return
        batch, self._queue = self._queue, []
        self._writing = True
        try:
            written = self.loop.run_in_executor(_writer(), self._write, [c for c, _ in batch])
        except RuntimeError as exc:  # the executor is gone (interpreter exit): fail, never hang
            self._writing = False
            for _, future in batch:
                self._settle(future, exc)
            return
        written.add_done_callback(lambda done: self._finish(batch, done))

    def _write(self, commits: list[Commit]) -> list[BaseException | None]:
        """In the writer thread: the batch in one transaction, else each alone."""
        try:
            self.store.commit_many(commits)
        except Exception as exc:
            if len(commits) == 1:
                return [exc]
            log.debug("a group commit of %d turns failed; committing them one by one", len(commits))
            outcomes: list[BaseException | None] = []
            for commit in commits:
                try:
                    self.store.commit(commit)
                except Exception as one:
                    outcomes.append(one)
                else:
                    outcomes.append(None)
            return outcomes
        return [None] * len(commits)

    def _finish(self, batch: list[tuple[Commit, asyncio.Future]], done: asyncio.Future) -> None:
        self._writing = False
        if done.cancelled() or done.exception() is not None:
            failure = done.exception() if not done.cancelled() else asyncio.CancelledError()
            outcomes: list[BaseException | None] = [failure] * len(batch)
        else:
            outcomes = done.result()
        for (_, future), exc in zip(batch, outcomes, strict=True):
            self._settle(future, exc)
        if self._queue:
            self._start()

    @staticmethod
    def _settle(future: asyncio.Future, exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)
