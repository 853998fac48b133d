"""A reply being generated: deltas out as they come, cancellation in.

A streaming engine (``StreamingBot`` in workbench/engines/capabilities.py) writes the
text of its reply to a :class:`ReplyStream` while it generates, and returns the
:class:`~workbench.engines.base.Turn` whose message is the *final* reply: that is what
the runtime commits and delivers. The deltas are only a preview, shown to whoever
listens (the TUI, a websocket client that asked for them, the terminal).

The runtime cancels a stream when the person sends something new, when their channel
closes, or when a developer asks (the TUI's Esc, ctrl+c in ``workbench chat``). The
engine sees :attr:`ReplyStream.cancelled` (from any thread: a model's stopping criterion
polls it) or awaits :meth:`ReplyStream.wait_cancelled`, stops, and returns its turn
marked cancelled. :meth:`write` may be called from a worker thread; the listener is
always called on the event loop that made the stream.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import Callable

#: ids only need to be unique within a process (as message uids)
_PREFIX = os.urandom(3).hex()
_counter = itertools.count(1)

DeltaListener = Callable[["ReplyStream", str], None]


def new_stream_id() -> str:
    return f"g{_PREFIX}{next(_counter):x}"


class ReplyStream:
    """One reply being generated (see the module's docstring)."""

    def __init__(self, listener: DeltaListener | None = None, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.id = new_stream_id()
        self.listener = listener
        self.loop: asyncio.AbstractEventLoop | None
        try:
            self.loop = loop or asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None
        self._parts: list[str] = []
        self._cancel = threading.Event()
        self._waiter: asyncio.Event | None = None
        #: why it was cancelled: new_message, closed, developer...
        self.reason: str | None = None
        self.started = time.perf_counter()
        #: perf_counter() of the first non-empty delta (time to first token)
        self.first_at: float | None = None
        #: how many non-empty deltas were written
        self.deltas = 0

    # -- what the engine writes ----------------------------------------------------------
    def write(self, delta: str) -> None:
        """Append ``delta`` to the reply (from the loop's thread or any other)."""
        if not delta:
            return
        loop = self.loop
        if loop is None or _on_loop(loop):
            self._deliver(delta)
        else:
            try:
                loop.call_soon_threadsafe(self._deliver, delta)
            except RuntimeError:  # the loop has closed: nobody is listening any more
                pass

    def _deliver(self, delta: str) -> None:
        if self.first_at is None:
            self.first_at = time.perf_counter()
        self.deltas += 1
        self._parts.append(delta)
        if self.listener is not None:
            self.listener(self, delta)

    @property
    def text(self) -> str:
        """Everything written so far (as delivered on the loop)."""
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    # -- cancellation --------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self, reason: str = "cancelled") -> bool:
        """Ask the engine to stop; False if it was asked already. Safe from any thread."""
        if self._cancel.is_set():
            return False
        self.reason = reason
        self._cancel.set()
        loop = self.loop
        if loop is not None and self._waiter is not None:
            if _on_loop(loop):
                self._waiter.set()
            else:
                try:
                    loop.call_soon_threadsafe(self._waiter.set)
                except RuntimeError:
                    pass
        return True

    async def wait_cancelled(self) -> None:
        """Return once the stream is cancelled (never, if it is not)."""
        if self._waiter is None:
            self._waiter = asyncio.Event()
        if self._cancel.is_set():
            return
        await self._waiter.wait()


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
