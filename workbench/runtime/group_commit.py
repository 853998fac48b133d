"""Group commit: the turns of many conversations written in one SQLite transaction.

Every turn a session commits in one pass of the event loop is queued; at the
end of that pass one transaction writes them all, then each waiting turn is
acknowledged. Acknowledged still means committed (nothing is delivered before
its transaction has returned); the store just writes once per loop pass
instead of once per turn. If the shared transaction fails, each turn is
retried alone, so one bad turn fails only its own conversation.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from workbench.store import Commit, Store

log = logging.getLogger(__name__)

#: each store's queue; a store that is gone takes its queue with it
_QUEUES: weakref.WeakKeyDictionary[Store, GroupCommit] = weakref.WeakKeyDictionary()


class GroupCommit:
    """The commit queue of one store on one event loop."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop
        self._queue: list[tuple[Commit, asyncio.Future]] = []

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
        if not self._queue:
            self.loop.call_soon(self._flush)
        self._queue.append((commit, future))
        await future

    def _flush(self) -> None:
        batch, self._queue = self._queue, []
        if not batch:
            return
        try:
            self.store.commit_many([c for c, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                self._settle(batch[0][1], exc)
                return
            log.debug("a group commit of %d turns failed; committing them one by one", len(batch))
            for commit, future in batch:
                try:
                    self.store.commit(commit)
                except Exception as exc:
                    self._settle(future, exc)
                else:
                    self._settle(future, None)
            return
        for _, future in batch:
            self._settle(future, None)

    @staticmethod
    def _settle(future: asyncio.Future, exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)
