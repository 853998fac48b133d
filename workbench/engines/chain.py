"""The ``chain`` engine: several bots answer as one, each in turn (docs/forms.md, "Chains").

How a chain decides who answers a message:

1. A bot that *holds the floor* goes first: an engine with ``holds(state)``
   returning true (a form bot with a form active) gets the message before the
   others, whatever the order. When it cannot use the message (a form that
   would only ask its question again says ``handled: false``), the others are
   tried, and the holder's question follows the answer, as a Rasa 3 form
   resumes after a rule answered.
2. Otherwise the bots are tried in the configured order. A bot *answers* when
   its turn has replies and its trace does not say ``handled: false`` (a form
   bot says so when no form is active and no intent matched; a decision table
   or knowledge base should say so when it only falls back). The first bot that
   answers is the one the person hears; later bots are not asked.
3. When no bot answers, the first reply any of them produced (typically a
   fallback) is sent, so the person is never left without a word.
4. Hand-off: when the answering bot's turn asks for a form, the chain
   activates that form in the first form bot that defines it and appends its
   first question; from then on the form bot holds the floor until the form
   ends. A turn asks for a form with ``activate_form: NAME`` in its trace, or
   newly in its state, or, for a decision table, by running the server action
   ``activate_form`` (``action_input: {"form": NAME}``), which the chain
   registers unless the task has its own.

Every bot that was asked keeps its new state (it saw the message). The trace
lists who was asked, who answered and why, and each bot's own trace.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.engines.base import Context, Engine, Turn
from workbench.message import Message
from workbench.problems import Problem, TaskError


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engine: Literal["chain"] = "chain"
    #: other bots of the task, tried in this order
    bots: list[str] = Field(min_length=1)
    #: the bot whose greeting opens the conversation (default: the first that has one)
    greeting: str | None = None


async def _call(engine: Engine, fn: Any, *args: Any) -> Any:
    if getattr(engine, "blocking", False) and not inspect.iscoroutinefunction(fn):
        result = await asyncio.to_thread(fn, *args)
    else:
        result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


#: a decision table's routes that mean "nothing matched" (it has no ``handled`` key)
UNANSWERED_ROUTES = ("no_answer",)


def answered(turn: Turn | None) -> bool:
    """A turn answers the message: it has replies and does not say ``handled: false``."""
    if turn is None:
        return False
    trace = turn.trace or {}
    if trace.get("handled") is False or trace.get("route") in UNANSWERED_ROUTES:
        return False
    return bool(turn.replies)


def activate_form_action(inputs: dict[str, Any], data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The server action a decision-table state runs to hand the person to a form.

    ``action: activate_form``, ``action_input: {"form": "restaurant"}``; the
    chain sees it ran and activates the form. Registered by the chain unless the
    task's worlds.py registers its own ``activate_form``.
    """
    name = inputs.get("form") or inputs.get("name")
    if not name:
        return {"status": False}
    return {"activate_form": str(name)}


def form_request(turn: Turn, before: dict[str, Any]) -> str | None:
    """The form a turn asks for, if any.

    ``activate_form: NAME`` in the turn's trace; or the ``activate_form`` server
    action among the trace's ``actions`` (a decision table's), the name then in
    the state's ``data``; or ``activate_form`` newly set in the state.
    """
    trace, state = turn.trace or {}, turn.state or {}
    asked = trace.get("activate_form")
    if asked:
        return str(asked)
    for entry in trace.get("actions") or []:
        if isinstance(entry, dict) and entry.get("action") == "activate_form" and entry.get("ok", True):
            name = (state.get("data") or {}).get("activate_form") or state.get("activate_form")
            if name:
                return str(name)
    now = state.get("activate_form")
    if now and now != (before or {}).get("activate_form"):
        return str(now)
    return None


class ChainEngine(Engine):
    name = "chain"

    def __init__(self, engines: dict[str, Engine], order: list[str], greeter: str | None = None) -> None:
        self.engines = engines
        self.order = order
        self.greeter = greeter

    def initial_state(self) -> dict[str, Any]:
        return {"bots": {name: self.engines[name].initial_state() for name in self.order}, "last": None}

    def _state(self, state: dict[str, Any], name: str) -> dict[str, Any]:
        bots = state.get("bots") or {}
        return bots[name] if name in bots else self.engines[name].initial_state()

    def _context(self, context: Context, name: str) -> Context:
        return Context(
            conversation_id=context.conversation_id,
            bot=name,
            data=context.data,
            registry=context.registry,
            task=context.task,
        )

    def holds(self, state: dict[str, Any]) -> bool:
        return self._holder(state) is not None

    def _holder(self, state: dict[str, Any]) -> str | None:
        for name in self.order:
            eng = self.engines[name]
            if hasattr(eng, "holds") and eng.holds(self._state(state, name)):
                return name
        return None

    async def greeting(self, state: dict[str, Any], context: Context) -> Turn | None:
        names = [self.greeter] if self.greeter else self.order
        for name in names:
            eng = self.engines[name]
            turn = await _call(eng, eng.greeting, self._state(state, name), self._context(context, name))
            if turn is not None and (turn.replies or turn.state):
                new = {"bots": {**(state.get("bots") or {}), name: turn.state}, "last": name}
                return Turn(turn.replies, new, {"engine": "chain", "greeting_by": name, "traces": {name: turn.trace}})
        return None

    async def step(self, state: dict[str, Any], message: Message, context: Context) -> Turn:
        bots = dict(state.get("bots") or {})
        holder = self._holder(state)
        order = ([holder] if holder else []) + [n for n in self.order if n != holder]
        tried: list[dict[str, Any]] = []
        traces: dict[str, Any] = {}
        chosen: tuple[str, Turn] | None = None
        spare: tuple[str, Turn] | None = None
        resume: list[Message] = []
        for name in order:
            eng = self.engines[name]
            before = self._state(state, name)
            turn = await _call(eng, eng.step, before, Message(message), self._context(context, name))
            if turn is None:
                turn = Turn([], before, {})
            bots[name] = turn.state
            traces[name] = turn.trace
            ok = answered(turn)
            why = ("holds the floor; " if name == holder else "") + (
                "answered"
                if ok
                else "said it did not handle the message"
                if (turn.trace or {}).get("handled") is False
                else "no reply"
            )
            tried.append({"bot": name, "answered": ok, "replies": len(turn.replies), "why": why})
            if ok:
                chosen = (name, turn)
                break
            if spare is None and turn.replies:
                spare = (name, turn)
            if name == holder and turn.replies:
                resume = turn.replies  # the holder's question, asked again after another bot answers
        trace: dict[str, Any] = {"engine": "chain", "order": order, "tried": tried, "traces": traces}
        replies: list[Message] = []
        if chosen is not None:
            name, turn = chosen
            trace["answered_by"] = name
            replies = list(turn.replies)
            if resume and name != holder:
                replies += resume
                trace["resumed"] = holder
        elif spare is not None:
            name, turn = spare
            trace["answered_by"] = None
            trace["fallback_from"] = name
            replies = list(turn.replies)
        else:
            turn = None
            trace["answered_by"] = None
        if turn is not None:
            wanted = form_request(turn, self._state(state, name))
            if wanted:
                replies += await self._hand_off(wanted, bots, message, context, trace)
        return Turn(replies, {"bots": bots, "last": trace.get("answered_by")}, trace)

    async def _hand_off(
        self, form: str, bots: dict[str, Any], message: Message, context: Context, trace: dict[str, Any]
    ) -> list[Message]:
        for name in self.order:
            eng = self.engines[name]
            forms = getattr(getattr(eng, "forms", None), "forms", None)
            if not forms or form not in forms or not hasattr(eng, "activate"):
                continue
            turn = await _call(
                eng, eng.activate, bots.get(name) or eng.initial_state(), form, self._context(context, name)
            )
            bots[name] = turn.state
            trace["handoff"] = {"form": form, "to": name, "trace": turn.trace}
            return list(turn.replies)
        trace["handoff"] = {"form": form, "to": None, "why": "no bot in the chain defines this form"}
        return []


def create(config: Config, task: Any, name: str) -> ChainEngine:
    problems: list[Problem] = []
    file = str(getattr(task, "file", "task.yml"))
    configs = getattr(task, "bot_configs", {})
    for i, bot in enumerate(config.bots):
        if bot == name:
            problems.append(Problem(file, None, f"bots.{name}.bots.{i}", "a chain cannot contain itself"))
        elif bot not in configs:
            problems.append(
                Problem(
                    file, None, f"bots.{name}.bots.{i}", f"no bot named {bot!r}; bots: {', '.join(sorted(configs))}"
                )
            )
        elif getattr(configs[bot], "engine", None) == "chain" and name in getattr(configs[bot], "bots", []):
            problems.append(
                Problem(file, None, f"bots.{name}.bots.{i}", f"chains {name!r} and {bot!r} contain each other")
            )
    if config.greeting is not None and config.greeting not in config.bots:
        problems.append(
            Problem(file, None, f"bots.{name}.greeting", f"{config.greeting!r} is not one of this chain's bots")
        )
    if problems:
        raise TaskError(problems)
    actions = getattr(getattr(task, "registry", None), "actions", None)
    if actions is not None and "activate_form" not in actions:
        actions["activate_form"] = activate_form_action  # before the bots are built: they may copy the table
    engines = {bot: task.engine(bot) for bot in config.bots}
    return ChainEngine(engines, list(config.bots), config.greeting)


#: the engine class (workbench/engines/capabilities.py asks what it can do)
ENGINE = ChainEngine
