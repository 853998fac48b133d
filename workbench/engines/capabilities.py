"""What an engine can do beyond ``step``, said through typed protocols.

Tools (the TUI's screens and panels, the REST API, the CLI) never probe an engine
with ``getattr`` or look it up by engine name: they ask whether its class satisfies
one of these protocols. The protocols hold methods only, so the question can be
asked of the engine *class* (:func:`engine_class`), before a possibly slow build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from workbench.engines.base import Context, Turn
    from workbench.engines.decision_table.state_view import StateView
    from workbench.engines.decision_table.table import DecisionTable
    from workbench.engines.form.live_panel import LivePanel
    from workbench.engines.knowledge_base import KnowledgeBase
    from workbench.engines.streaming import ReplyStream
    from workbench.engines.turn_facts import TurnFacts
    from workbench.message import Message


@runtime_checkable
class TableBot(Protocol):
    """A bot that answers from a decision table: it can be listed, edited, ranked, exported."""

    def decision_table(self) -> DecisionTable: ...

    def match_threshold(self) -> float:
        """The score a state needs to be chosen."""
        ...

    def state_view(self, state: dict[str, Any], trace: dict[str, Any] | None, data: dict[str, Any]) -> StateView:
        """The live view of a conversation's state (the state tab of the inspector)."""
        ...


@runtime_checkable
class KnowledgeBot(Protocol):
    """A bot that falls back on a knowledge base of question/answer pairs."""

    def knowledge_base(self, create: bool = False) -> KnowledgeBase | None:
        """The bot's knowledge base; with ``create``, an empty one is started when it has none
        (the bot consults it from then on)."""
        ...


@runtime_checkable
class RetrievalBot(Protocol):
    """A bot that matches a person's words by retrieval (docs/retrieval.md)."""

    def retrievers(self) -> dict[str, Any]:
        """What it matches ("states", "intents", "knowledge base") -> its
        :class:`~workbench.engines.retrieval.retriever.HybridRetriever`."""
        ...


@runtime_checkable
class SlotBot(Protocol):
    """A bot that fills slots (a form): its slots can be shown and set by hand."""

    def slot_view(self, state: dict[str, Any], trace: dict[str, Any] | None, bot: str) -> LivePanel: ...

    def set_slot(self, state: dict[str, Any], slot: str, value: Any) -> dict[str, Any]: ...

    def clear_slot(self, state: dict[str, Any], slot: str) -> dict[str, Any]: ...


@runtime_checkable
class DebuggableBot(Protocol):
    """A bot whose turns can be told in a debugger's terms (states entered, slots set or
    cleared, fallbacks, failed forms, errors): breakpoints and the step view ask it."""

    def turn_facts(
        self, before: dict[str, Any] | None, after: dict[str, Any], trace: dict[str, Any] | None
    ) -> TurnFacts:
        """What the turn from state ``before`` to ``after`` (with ``trace``) did."""
        ...


@runtime_checkable
class GenerativeBot(Protocol):
    """A bot whose reply to the same state and message may differ from run to run (a language
    model that samples). What-if replay does not step such a bot unless asked to regenerate:
    it replays the replies the conversation recorded."""

    def generation(self) -> dict[str, Any]:
        """What the replies depend on besides the state and the message (model, temperature,
        seed): a replay reports it next to the recorded replies."""
        ...


@runtime_checkable
class StreamingBot(Protocol):
    """A bot whose reply is generated piece by piece (workbench/engines/streaming.py): the runtime
    hands it a stream for the deltas and a way to be cancelled; the turn it returns is final."""

    def stream(
        self, state: dict[str, Any], message: Message, context: Context, out: ReplyStream
    ) -> Awaitable[Turn]: ...


@runtime_checkable
class ModelBot(Protocol):
    """A bot backed by a language model (docs/model-bots.md): its settings can be shown, its system
    prompt and parameters changed for one conversation, its last reply generated again, and its
    responses recorded to and replayed from a cassette (conversation tests)."""

    def settings(self, state: dict[str, Any]) -> dict[str, Any]:
        """What the bot runs with in a conversation of ``state``: its configuration (no secrets)
        with the conversation's own system prompt and parameters applied."""
        ...

    def with_settings(
        self, state: dict[str, Any], system_prompt: str | None, params: dict[str, Any] | None
    ) -> dict[str, Any]:
        """``state`` with this conversation's system prompt and parameters replaced (None: the
        bot's configured ones); raises ValueError naming a parameter that is not valid."""
        ...

    def rewind(self, state: dict[str, Any]) -> tuple[dict[str, Any], Message] | None:
        """To answer the last message again: the state before the last reply (which it keeps as
        an alternative) and that message; None when there is no reply to generate again."""
        ...

    def use_cassette(self, cassette: Any) -> None:
        """Record responses to, or replay them from, ``cassette`` (None: talk to the model)."""
        ...


def engine_class(task: Any, bot: str) -> type | None:
    """The class of ``bot``'s engine, without building it (None for an unknown bot)."""
    from workbench.engines import engine_module

    config = task.bot_configs.get(bot)
    if config is None:
        return None
    return getattr(engine_module(config.engine), "ENGINE", None)


def bots_with(task: Any, capability: type, first: list[str] | None = None) -> list[str]:
    """The task's bots whose engine has ``capability``; those in ``first`` come first."""
    here = first or []
    names = [b for b in task.bot_configs if _has(engine_class(task, b), capability)]
    order = list(task.bot_configs)
    return sorted(names, key=lambda b: (b not in here, order.index(b)))


def _has(cls: type | None, capability: type) -> bool:
    return cls is not None and issubclass(cls, capability)
