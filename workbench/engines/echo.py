"""The echo engine: repeats what it hears; the smallest complete engine."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from workbench.engines.base import Context, Engine, Turn
from workbench.message import Message


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engine: Literal["echo"] = "echo"
    #: put before the echoed text, e.g. "You said: "
    prefix: str = ""
    #: a first message when the conversation starts
    greeting: str | None = None


class EchoEngine(Engine):
    name = "echo"

    def __init__(self, prefix: str = "", greeting: str | None = None) -> None:
        self.prefix = prefix
        self.greeting_text = greeting

    def initial_state(self) -> dict:
        return {"turns": 0}

    def greeting(self, state: dict, context: Context) -> Turn | None:
        if not self.greeting_text:
            return None
        return Turn([Message(text=self.greeting_text)], dict(state), {"engine": "echo", "greeting": True})

    def step(self, state: dict, message: Message, context: Context) -> Turn:
        turns = int(state.get("turns", 0)) + 1
        reply = Message(text=f"{self.prefix}{message.text}")
        if message.get("payload"):
            reply["payload"] = message["payload"]
        return Turn([reply], {"turns": turns}, {"engine": "echo", "turn": turns})


def create(config: Config, task, name: str) -> EchoEngine:
    return EchoEngine(prefix=config.prefix, greeting=config.greeting)


#: the engine class (workbench/engines/capabilities.py asks what it can do)
ENGINE = EchoEngine
