"""Live thread conversations on a Runner: one session per thread, however many pages or
screens open it, so a thread never runs twice and its turn count cannot be raced.

A front end opens a thread (the seed and the bot's greeting are stored), hands over what
the person says, and waits until the turn is stored; what the person sees is read back
from the store (acknowledged means committed).
"""

from __future__ import annotations

import asyncio
from typing import Any

from workbench.evaluation.study import CHANNEL, Study, StudyError
from workbench.runtime.session import Deliver, Session
from workbench.store import EvalThread

#: seconds a front end waits for the bot's reply to one turn
TURN_WAIT = 30.0


class ThreadChats:
    def __init__(self, study: Study, runner: Any) -> None:
        self.study = study
        self.runner = runner
        self.live: dict[str, Session] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        #: messages each live thread has taken (stored ones included): the limit is checked
        #: here, on the event loop, before a message is queued, so a burst cannot pass it
        self._taken: dict[str, int] = {}

    async def open(self, thread: EvalThread, deliver: Deliver | None = None, wait: float = TURN_WAIT) -> Session | None:
        """The thread's live session (started or resumed); None once its chat has ended."""
        lock = self._locks.setdefault(thread.id, asyncio.Lock())
        async with lock:
            session = self.live.get(thread.id)
            if session is not None and not session.closed:
                if deliver is not None:
                    await session.attach(deliver, replay=False)
                return session
            current = await asyncio.to_thread(self.study.store.study.thread, thread.id)
            if current is None or current.status != "chatting":
                self.live.pop(thread.id, None)
                return None
            rows = await asyncio.to_thread(self.study.store.messages, thread.id)
            self._taken[thread.id] = sum(1 for r in rows if r["role"] == "human")
            session = await self.runner.connect(
                deliver, person=thread.person, channel=CHANNEL, conversation_id=thread.id, resume=True
            )
            self.live[thread.id] = session
        await self.runner.wait_idle([session], timeout=wait)
        return session

    async def say(self, thread: EvalThread, text: str, wait: float = TURN_WAIT) -> None:
        """Hand the person's message to their thread and wait until the turn is stored."""
        limit = self.study.spec.limits.max_message_chars
        if not text.strip():
            raise StudyError("empty", "Please write a message.")
        if len(text) > limit:
            raise StudyError("too_long", f"A message has at most {limit} characters.", status=413)
        session = await self.open(thread, wait=wait)
        if session is None or self._taken.get(thread.id, 0) >= self.study.spec.limits.max_turns_per_thread:
            raise StudyError("chat_ended", "This conversation has ended; please rate it.", status=409)
        self._taken[thread.id] = self._taken.get(thread.id, 0) + 1
        session.put(text)
        await self.runner.wait_idle([session], timeout=wait)

    async def close(self, thread_id: str) -> None:
        self._taken.pop(thread_id, None)
        session = self.live.pop(thread_id, None)
        if session is not None:
            await self.runner.disconnect(session)
