"""The World base class shared by Python worlds and the declarative ones."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.runtime.agents import BotAgent
    from workbench.runtime.worlds.sync import SyncAgent
    from workbench.task.loader import Task

#: what an overworld returns to end a person's session
EXIT = "EXIT"


class World:
    """A world: agents observe and act in ``parley()`` until ``episode_done()``.

    ``parley()`` may be synchronous (ParlAI's style) or ``async``. A parley that
    returns a world name (an overworld's choice, or a task world sending the
    person on) tells the runner where to go next.
    """

    #: set by the runner when it makes the world: the task, and the bots the world's spec
    #: names (blocking views of them for a synchronous world)
    task: Task
    bots: Mapping[str, BotAgent | SyncAgent]

    def __init__(self, opt: dict | None = None, agents: Any = None) -> None:
        self.opt = opt or {}
        if agents is None:
            agents = []
        elif not isinstance(agents, (list, tuple)):
            agents = [agents]
        self.agents = list(agents)
        self.agent = self.agents[0] if self.agents else None
        self.episodeDone = False
        #: where the runner sends the people when this world ends (None: the overworld)
        self.next_world: str | None = None

    def parley(self) -> Any:  # pragma: no cover - overridden
        self.episodeDone = True

    def episode_done(self) -> bool:
        return self.episodeDone

    def shutdown(self) -> Any:
        return None

    @classmethod
    def is_async(cls) -> bool:
        return inspect.iscoroutinefunction(cls.parley)


class OnboardWorld(World):
    """A one-person world run before a task world; what it puts in ``agent.data`` reaches the task world."""

    def __init__(self, opt: dict | None = None, agent: Any = None) -> None:
        super().__init__(opt, agent)


def build_world(cls: type, opt: dict, agents: list) -> World:
    """Instantiate a Python world the way ParlAI does (``generate_world`` first)."""
    gen = getattr(cls, "generate_world", None)
    if callable(gen):
        return gen(opt, agents)
    params = list(inspect.signature(cls).parameters)
    if len(params) >= 2 and params[1] == "agent":
        return cls(opt, agents[0])
    if len(params) >= 2:
        return cls(opt, agents)
    return cls(opt)
