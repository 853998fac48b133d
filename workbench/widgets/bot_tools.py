"""The chat's engine tools: which bots have a decision table, slots or a knowledge base,
and their live panels in the inspector (one tab per decision-table or form bot)."""

from __future__ import annotations

import re
from typing import Any

from textual.widgets import TabbedContent, TabPane

from workbench.widgets.bot_panel import BotPanel
from workbench.widgets.slot_panel import SlotPanel
from workbench.widgets.state_panel import StatePanel

#: engine -> the live panel that shows its bots
PANELS: dict[str, type[BotPanel]] = {"decision_table": StatePanel, "form": SlotPanel}


def engine_of(task: Any, bot: str) -> str | None:
    cfg = task.bot_configs.get(bot)
    return getattr(cfg, "engine", None)


def world_bots(task: Any, world: str | None) -> list[str]:
    """The bots speaking in ``world`` (a bot_chat's bot, a Python world's bots)."""
    spec = task.worlds.get(world or "")
    if spec is None:
        return []
    if getattr(spec, "bot", None):
        return [spec.bot]
    return list(getattr(spec, "bots", None) or [])


def bots_for(task: Any, engine: str, world: str | None = None, need: str | None = None) -> list[str]:
    """The task's bots with ``engine`` (and, with ``need``, that config key set), the world's first."""
    here = world_bots(task, world)
    names = [
        b
        for b in task.bot_configs
        if engine_of(task, b) == engine and (need is None or getattr(task.bot_configs[b], need, None))
    ]
    return sorted(names, key=lambda b: (b not in here, list(task.bot_configs).index(b)))


def _pane_id(bot: str) -> str:
    return "tab-bot-" + re.sub(r"[^A-Za-z0-9_-]", "_", bot)


class BotPane(TabPane):
    """The inspector tab of one bot's live panel."""

    def __init__(self, title: str, panel: BotPanel, id: str) -> None:
        super().__init__(title, panel, id=id)
        self.panel = panel


def panel_of(inspector: Any, bot: str) -> BotPanel | None:
    """The live panel of ``bot`` in the inspector, if it has one."""
    found = inspector.query(f"#{_pane_id(bot)}")
    return found.first().panel if found else None


async def show_panels(inspector: Any, task: Any, runner: Any, conversation_id: str, world: str | None) -> None:
    """A tab per decision-table or form bot of ``world``, each following the conversation.

    A tab added now becomes the active one (the live panel is why it is there).
    """
    tabs = inspector.query_one(TabbedContent)
    added = None
    for bot in world_bots(task, world):
        cls = PANELS.get(engine_of(task, bot) or "")
        if cls is None:
            continue
        panel = panel_of(inspector, bot)
        if panel is None:
            # registered before the first await, so a concurrent call finds it
            panel = cls(task, bot)
            await tabs.add_pane(BotPane(f"{cls.TITLE} · {bot}", panel, id=_pane_id(bot)))
            added = added or _pane_id(bot)
        panel.follow(runner, conversation_id)
    if added:
        tabs.active = added


def feed_panel(inspector: Any, conversation_id: str, fields: dict[str, Any], data: dict[str, Any] | None) -> None:
    """A runner ``state`` event (fields bot, state, trace) for the panel of its bot, if any."""
    panel = panel_of(inspector, str(fields.get("bot")))
    if panel is not None:
        panel.feed(conversation_id, fields.get("state"), fields.get("trace"), data)
