"""Bots written in Python in a task's worlds.py and registered with ``@bot``.

Two styles are accepted, so bots from boteval and ParlAI move over as they are:

* boteval: ``hear(msg)`` then ``talk() -> dict``;
* ParlAI: ``observe(msg)`` then ``act() -> dict``.

Either method may be ``async``. A bot instance lives per conversation; if it
defines ``get_state() -> dict`` and ``set_state(dict)`` its state is stored with
the conversation and survives a restart. Otherwise the stored engine state
records the turn count only, and the instance starts afresh after a restart.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.engines.base import Context, Engine, Turn
from workbench.message import Message


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engine: Literal["python"] = "python"
    #: the name given to ``@bot(...)`` in worlds.py
    name: str
    #: keyword arguments passed to the bot's constructor
    args: dict[str, Any] = Field(default_factory=dict)
    #: run the bot in a worker thread (for bots that block, such as local models)
    blocking: bool = False


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def _replies(value: Any) -> list[Message]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [Message.coerce(v) for v in value if v is not None]
    return [Message.coerce(value)]


class PythonBotEngine(Engine):
    name = "python"

    def __init__(self, cls: type, args: dict[str, Any], bot_name: str, blocking: bool = False) -> None:
        self.cls = cls
        self.args = args
        self.bot_name = bot_name
        self.threaded = blocking
        # one instance per conversation; the stored state is the source of truth
        self._instances: dict[str | None, Any] = {}

    def _instance(self, state: dict, context: Context) -> Any:
        key = context.conversation_id
        inst = self._instances.get(key)
        if inst is None:
            inst = self.cls(**self.args)
            if hasattr(inst, "set_state") and state.get("bot_state") is not None:
                inst.set_state(state["bot_state"])
            self._instances[key] = inst
        return inst

    def _state(self, inst: Any, state: dict) -> dict:
        new = {"turns": int(state.get("turns", 0)) + 1}
        if hasattr(inst, "get_state"):
            new["bot_state"] = inst.get_state()
        return new

    async def _call(self, method: Any, *args: Any) -> Any:
        # a blocking bot's synchronous methods run in a worker thread
        if self.threaded and not inspect.iscoroutinefunction(method):
            return await asyncio.to_thread(method, *args)
        return await _maybe_await(method(*args))

    async def _run(self, state: dict, message: Message | None, context: Context) -> Turn:
        inst = self._instance(state, context)
        if hasattr(inst, "hear") and hasattr(inst, "talk"):
            style = "boteval"
            if message is not None:
                await self._call(inst.hear, dict(message))
            out = await self._call(inst.talk)
        elif hasattr(inst, "observe") and hasattr(inst, "act"):
            style = "parlai"
            if message is not None:
                await self._call(inst.observe, dict(message))
            out = await self._call(inst.act)
        else:
            raise TypeError(f"bot {self.bot_name!r} ({self.cls.__name__}) needs hear/talk or observe/act methods")
        replies = _replies(out)
        return Turn(replies, self._state(inst, state), {"engine": "python", "bot": self.bot_name, "style": style})

    async def greeting(self, state: dict, context: Context) -> Turn | None:
        inst = self._instance(state, context)
        if getattr(inst, "greets", False):
            return await self._run(state, None, context)
        return None

    async def step(self, state: dict, message: Message, context: Context) -> Turn:
        return await self._run(state, message, context)


def create(config: Config, task, name: str) -> PythonBotEngine:
    registry = task.registry
    if config.name not in registry.bots:
        known = ", ".join(sorted(registry.bots)) or "none"
        raise LookupError(f"bots.{name}.name: no bot {config.name!r} is registered in worlds.py (registered: {known})")
    return PythonBotEngine(registry.bots[config.name], config.args, name, config.blocking)


#: the engine class (workbench/engines/capabilities.py asks what it can do)
ENGINE = PythonBotEngine
