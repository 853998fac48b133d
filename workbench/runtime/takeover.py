"""A developer answering in the bot's place in a live conversation, then handing it back.

A :class:`Takeover` is installed as ``session.takeover``: a ``bot_chat`` world then
awaits it with the person's message instead of stepping the bot. It waits for the
developer's reply (:meth:`Takeover.answer`); :meth:`Takeover.hand_back` removes it, and
a message still waiting for the developer is answered by the bot after all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from workbench.message import Message
from workbench.runtime.worlds.declarative import HAND_BACK


def bot_worlds(task: Any) -> list[str]:
    """The task's worlds a developer can take over (``bot_chat`` ones); none means a takeover
    would wait forever, so tools say so at once."""
    return [name for name, spec in task.worlds.items() if getattr(spec, "type", None) == "bot_chat"]


class Takeover:
    def __init__(self, session: Any, on_change: Callable[[Takeover], None] | None = None) -> None:
        self.session = session
        #: the person's message the world waits to answer, if any
        self.waiting: Message | None = None
        self._replies: asyncio.Queue = asyncio.Queue()
        self._on_change = on_change
        self.active = False

    def install(self) -> Takeover:
        self.session.takeover = self
        self.active = True
        self._changed()
        return self

    @property
    def speaker(self) -> str:
        """The bot the developer stands in for (so the person sees the same sender)."""
        task = getattr(getattr(self.session, "runner", None), "task", None)
        spec = task.worlds.get(self.session.world or "") if task is not None else None
        return str(getattr(spec, "bot", None) or "developer")

    @property
    def supported(self) -> bool:
        """Whether the person's current world consults the takeover (``bot_chat`` worlds do)."""
        task = getattr(getattr(self.session, "runner", None), "task", None)
        spec = task.worlds.get(self.session.world or "") if task is not None else None
        return getattr(spec, "type", None) == "bot_chat"

    async def __call__(self, message: Message) -> Any:
        """The world hands over the person's message; the developer's reply comes back."""
        self.waiting = message
        self._changed()
        reply = asyncio.ensure_future(self._replies.get())
        closed = asyncio.ensure_future(self.session.wait_closed())
        try:
            done, _ = await asyncio.wait({reply, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            if not reply.done():
                reply.cancel()
            self.waiting = None
            self._changed()
        return reply.result() if reply in done and not reply.cancelled() else None

    async def answer(self, text: str) -> str:
        """Send the developer's ``text`` as the bot: the answer to the waiting message, or
        (when nothing waits) a message of its own. Returns ``"answered"`` or ``"sent"``."""
        msg = Message(text=text, id=self.speaker, meta={"takeover": True})
        if self.waiting is not None:
            self.waiting = None
            self._replies.put_nowait(msg)
            return "answered"
        await self.session.send(msg, role="bot")
        return "sent"

    def hand_back(self) -> None:
        """Give the conversation back to the bot; a waiting message is answered by the bot."""
        if getattr(self.session, "takeover", None) is self:
            self.session.takeover = None
        self.active = False
        if self.waiting is not None:
            self.waiting = None
            self._replies.put_nowait(HAND_BACK)
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)
