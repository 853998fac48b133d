"""A model bot's conversation as its engine state keeps it, and the part of it sent each turn.

The state is data (docs/architecture.md): ``history`` holds the exchanges (``{"role":
"user" | "assistant", "content": ...}``), ``settings`` this conversation's own system prompt
and parameters (set from the TUI), ``alternatives`` the replies a regeneration replaced, and
``turns`` how many replies were generated. Nothing about a conversation lives in the engine.

A failed generation leaves the history as it was (the person's message is stored in the
conversation, but the model never sees a question without its answer); a cancelled one keeps
what was generated, as the person saw it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.engines.models.settings import History

#: the most messages a state keeps (what is sent each turn is chosen from these)
MAX_STORED_MESSAGES = 200
#: the most replaced replies kept as alternatives
MAX_ALTERNATIVES = 20


def initial_state() -> dict[str, Any]:
    return {"history": [], "turns": 0}


def earlier(state: dict[str, Any]) -> list[dict[str, str]]:
    """The stored exchanges as ``{"role", "content"}`` (anything else a message records dropped)."""
    out = []
    for m in state.get("history") or []:
        if isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str):
            out.append({"role": m["role"], "content": m["content"]})
    return out


def window(messages: list[dict[str, str]], limits: History, count: Callable[[str], int]) -> list[dict[str, str]]:
    """The last exchanges of ``messages`` within ``limits`` (turns and tokens), starting with the
    person's message so roles keep alternating."""
    kept: list[dict[str, str]] = []
    users = tokens = 0
    for m in reversed(messages):
        if m["role"] == "user":
            if limits.turns is not None and users >= limits.turns:
                break
            users += 1
        if limits.tokens is not None:
            tokens += count(m["content"])
            if tokens > limits.tokens:
                break
        kept.append(m)
    kept.reverse()
    while kept and kept[0]["role"] != "user":
        kept.pop(0)
    return kept


def messages_for(
    state: dict[str, Any],
    text: str,
    system_prompt: str | None,
    limits: History,
    count: Callable[[str], int],
) -> list[dict[str, str]]:
    """The chat messages one request sends: the system prompt, earlier exchanges, the message."""
    out: list[dict[str, str]] = []
    if system_prompt:
        out.append({"role": "system", "content": system_prompt})
    out.extend(window(earlier(state), limits, count))
    out.append({"role": "user", "content": text})
    return out


def recorded(state: dict[str, Any], text: str, reply: str | None, cancelled: bool = False) -> dict[str, Any]:
    """The state after a reply to ``text`` (``reply`` None: the generation failed)."""
    new = dict(state)
    new["turns"] = int(state.get("turns") or 0) + 1
    if reply is None or (cancelled and not reply):
        return new
    history = list(state.get("history") or [])
    history.append({"role": "user", "content": text})
    answer: dict[str, Any] = {"role": "assistant", "content": reply}
    if cancelled:
        answer["cancelled"] = True
    history.append(answer)
    new["history"] = history[-MAX_STORED_MESSAGES:]
    return new


def rewound(state: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """The state before the last reply, and the message it answered; the reply is kept in
    ``alternatives``. None when the history does not end with an exchange."""
    history = list(state.get("history") or [])
    if len(history) < 2 or history[-1].get("role") != "assistant" or history[-2].get("role") != "user":
        return None
    reply, asked = history.pop(), history.pop()
    new = dict(state)
    new["history"] = history
    alternatives = list(state.get("alternatives") or [])
    alternatives.append({"at": len(history), "question": asked["content"], "content": reply["content"]})
    new["alternatives"] = alternatives[-MAX_ALTERNATIVES:]
    return new, str(asked["content"])


def overrides(state: dict[str, Any]) -> dict[str, Any]:
    """This conversation's own ``system_prompt`` and ``params`` (absent keys: the bot's)."""
    settings = state.get("settings")
    return dict(settings) if isinstance(settings, dict) else {}


def with_overrides(state: dict[str, Any], system_prompt: str | None, params: dict[str, Any] | None) -> dict[str, Any]:
    new = dict(state)
    settings: dict[str, Any] = {}
    if system_prompt is not None:
        settings["system_prompt"] = system_prompt
    if params:
        settings["params"] = dict(params)
    if settings:
        new["settings"] = settings
    else:
        new.pop("settings", None)
    return new
