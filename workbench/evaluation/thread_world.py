"""The world every evaluation thread runs in: the topic's seed, then the person and the bot
take turns until the turn limit, which the server enforces whatever a page does.

It is a Python world (run by the Runner like any other), made for one study by
:func:`thread_world_for`. Each thread is its own conversation, so the bot's engine state
is stored per thread and two people never share a reply.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

from workbench.engines.base import Context, Turn
from workbench.evaluation.transforms import Chain
from workbench.message import Message
from workbench.runtime.worlds.base import World

if TYPE_CHECKING:
    from workbench.evaluation.study import Study

#: the speaker of the seed conversation's messages (boteval's "context" user)
CONTEXT = "context"
END_TEXT = "This conversation has reached its end. Please rate it now."


class _TransformedEngine:
    """An engine whose replies pass through the study's bot transforms (original text kept)."""

    def __init__(self, inner: Any, chain: Chain) -> None:
        self.inner = inner
        self.chain = chain
        self.name = getattr(inner, "name", "engine")
        self.blocking = False  # the inner engine's blocking calls go to a thread below

    def initial_state(self) -> dict[str, Any]:
        return self.inner.initial_state()

    async def _run(self, fn: Any, *args: Any) -> Turn | None:
        if getattr(self.inner, "blocking", False) and not inspect.iscoroutinefunction(fn):
            result = await asyncio.to_thread(fn, *args)
        else:
            result = fn(*args)
        if inspect.isawaitable(result):
            result = await result
        if result is not None:
            result.replies = [self.chain.apply(Message.coerce(r)) for r in result.replies]
        return result

    async def greeting(self, state: dict[str, Any], context: Context) -> Turn | None:
        return await self._run(self.inner.greeting, state, context)

    async def step(self, state: dict[str, Any], message: Message, context: Context) -> Turn | None:
        return await self._run(self.inner.step, state, message, context)


class ThreadWorld(World):
    study: Study
    agent: Any

    def __init__(self, opt: dict | None = None, agents: Any = None) -> None:
        super().__init__(opt, agents)
        self.started = False
        self.turns = 0
        self.bot: Any = None
        self.bots: dict[str, Any] = {}
        study = self.study
        self.human_chain = Chain(study.spec.transforms.human, study.task.registry)
        self.bot_chain = Chain(study.spec.transforms.bot, study.task.registry)

    @property
    def limit(self) -> int:
        return self.study.spec.limits.max_turns_per_thread

    async def _start(self) -> bool:
        human = self.agent
        cid = human.conversation_id
        store = self.study.store
        thread = await asyncio.to_thread(store.study.thread, cid)
        if thread is None or thread.status != "chatting":
            return False
        self.bot = self.bots[thread.bot]
        self.bot.disp_id = self.study.spec.display_name
        if self.bot_chain:
            self.bot.engine = _TransformedEngine(self.bot.engine, self.bot_chain)
        rows = await asyncio.to_thread(store.messages, cid)
        self.turns = sum(1 for r in rows if r["role"] == "human")
        if not rows:
            topic = self.study.topic_by_id.get(thread.topic)
            for turn in topic.seed if topic else ():
                seed = Message(id=turn.speaker, text=turn.text, meta={"seed": True, "speaker_id": turn.speaker})
                await human.observe(seed)
            await self._say(await self.bot.greet())
        if self.turns >= self.limit:
            await self._end()
        return True

    async def _say(self, replies: list[Message]) -> None:
        for reply in replies:
            reply["_role"] = "bot"
            await self.agent.observe(reply)

    async def _end(self) -> None:
        self.episodeDone = True
        await self.agent.observe(Message(id="System", text=END_TEXT, meta={"evaluation": "end"}, _role="system"))
        await asyncio.to_thread(self.study.finish_chat, self.agent.conversation_id)

    async def parley(self) -> None:
        if not self.started:
            self.started = True
            if not await self._start():
                self.episodeDone = True
                return
            if self.episodeDone:
                return
        human = self.agent
        msg = await human.act()
        if msg is None:
            self.episodeDone = True
            return
        self.human_chain.apply(msg)
        self.turns += 1
        await self._say(await self.bot.respond(msg))
        if self.turns >= self.limit:
            await self._end()


def thread_world_for(study: Study) -> type[ThreadWorld]:
    """The thread world class bound to ``study``."""
    return type("ThreadWorld", (ThreadWorld,), {"study": study})
