"""What a task's Python actions, validators and hooks are handed by the form engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FormContext:
    """A read-only view of the conversation for Python code registered in worlds.py.

    * actions: ``@workbench.task.registry.action`` ``fn(ctx) -> str | list | dict | None``;
      a dict may hold ``say`` (text or list), ``slots`` (name -> value to set,
      ``None`` clears), ``deactivate`` (bool) and ``activate`` (a form name);
    * validators: ``@workbench.task.registry.validator`` ``fn(value, ctx) -> value``;
      return the value to keep (normalised if you like), raise ``ValueError(message)``
      to reject it (the message is said to the person);
    * hooks (dynamic required slots): ``@workbench.task.registry.hook``
      ``fn(required: list[str], ctx) -> list[str]``.
    """

    form: str | None
    slots: dict[str, Any]
    requested_slot: str | None = None
    #: the slot being validated (validators only)
    slot: str | None = None
    text: str = ""
    intent: str | None = None
    confidence: float = 0.0
    entities: list[dict[str, Any]] = field(default_factory=list)
    bot: str = "bot"
    #: the engine Context (conversation id, the person's data, the task)
    context: Any = None
