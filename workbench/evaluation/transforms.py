"""Transforms of what people and bots say in a thread; the original text is kept.

A transform is a callable ``(text, **args) -> text``, registered in the task's
worlds.py with ``@transform("name")`` or one of the built-ins here. Applied to a
message, the chain changes its ``text`` and records the original in ``meta.text_orig``
(boteval keeps it in ``data.text_orig``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

from workbench.message import Message
from workbench.task.schema import TransformSpec

log = logging.getLogger(__name__)

TransformFn = Callable[..., str]


BUILT_IN: dict[str, TransformFn] = {
    # boteval's no-op transform, so its configurations load as they are
    "dummy": lambda text, **_: text,
    "lowercase": lambda text, **_: text.lower(),
    "strip": lambda text, **_: text.strip(),
    # args: {value: "..."}
    "prefix": lambda text, value="", **_: f"{value}{text}",
    "suffix": lambda text, value="", **_: f"{text}{value}",
}


def known(name: str, registry: Any) -> bool:
    return name in BUILT_IN or name in (getattr(registry, "transforms", None) or {})


def _resolve(name: str, registry: Any) -> TransformFn | None:
    found = (getattr(registry, "transforms", None) or {}).get(name)
    if found is None:
        return BUILT_IN.get(name)
    if inspect.isclass(found):
        # boteval's style: a class built with the args whose transform() or __call__ takes the text
        return lambda text, **args: _call_object(found(**args), text)
    return found


def _call_object(obj: Any, text: str) -> str:
    method = getattr(obj, "transform", None) or obj
    return str(method(text))


class Chain:
    """The transforms of one side (human or bot), resolved once."""

    def __init__(self, specs: Sequence[TransformSpec], registry: Any) -> None:
        self.steps: list[tuple[str, TransformFn, dict[str, Any]]] = []
        for spec in specs:
            fn = _resolve(spec.name, registry)
            if fn is None:
                log.warning("transform %r is not registered; it is skipped", spec.name)
                continue
            self.steps.append((spec.name, fn, dict(spec.args)))

    def __bool__(self) -> bool:
        return bool(self.steps)

    def apply(self, message: Message) -> Message:
        """Transform ``message`` in place (text changed, ``meta.text_orig`` kept)."""
        if not self.steps or not isinstance(message.get("text"), str):
            return message
        original = message["text"]
        text = original
        for _name, fn, args in self.steps:
            text = str(fn(text, **args))
        if text != original:
            meta = dict(message.get("meta") or {})
            meta.setdefault("text_orig", original)
            meta["transforms"] = [name for name, _, _ in self.steps]
            message["meta"] = meta
            message["text"] = text
        return message
