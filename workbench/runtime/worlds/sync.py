"""Run ParlAI-style synchronous worlds in worker threads.

A synchronous world's ``parley()`` calls a blocking ``agent.act()``; it gets
:class:`SyncAgent` proxies whose methods run the async agent's coroutines on
the event loop and wait for them in the worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from workbench.message import Message


class SyncAgent:
    """A blocking view of an async agent, for code running in a worker thread."""

    def __init__(self, agent: Any, loop: asyncio.AbstractEventLoop, default_timeout: float | None = None) -> None:
        self._agent = agent
        self._loop = loop
        self._timeout = default_timeout

    def __getattr__(self, name: str) -> Any:
        return getattr(self._agent, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._agent, name, value)

    def _run(self, coro) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def observe(self, message: Message | dict | str) -> None:
        self._run(self._agent.observe(message))

    def act(self, timeout: float | None = None) -> Message | None:
        """Block until the agent's next message (``None`` once ``timeout`` passes).

        Without ``timeout`` the agent's own default applies (the world's ``timeout``,
        set by the runner), so running out of it ends the world as a timeout.
        """
        if timeout is None and self._timeout is not None and getattr(self._agent, "default_timeout", None) is None:
            timeout = self._timeout
        return self._run(self._agent.act(timeout))

    act_blocking = act

    def shutdown(self) -> None:
        self._run(self._agent.shutdown())

    @property
    def data(self) -> dict:
        return self._agent.data
