"""The chat's live bot panels in the inspector: one tab per bot of the world whose engine
has a live view (a decision table's state, a form's slots, a model's settings and last turn;
workbench/engines/capabilities.py)."""

from __future__ import annotations

import re
from typing import Any

from textual.widgets import TabbedContent, TabPane

from workbench.engines.capabilities import ModelBot, SlotBot, TableBot, engine_class
from workbench.widgets.bot_panel import BotPanel
from workbench.widgets.model_panel import ModelPanel
from workbench.widgets.slot_panel import SlotPanel
from workbench.widgets.state_panel import StatePanel


def panel_class(task: Any, bot: str) -> type[BotPanel] | None:
    """The live panel that shows ``bot``, by what its engine can do (None: it has none)."""
    cls = engine_class(task, bot)
    if cls is None:
        return None
    if issubclass(cls, SlotBot):
        return SlotPanel
    if issubclass(cls, TableBot):
        return StatePanel
    if issubclass(cls, ModelBot):
        return ModelPanel
    return None


def world_bots(task: Any, world: str | None) -> list[str]:
    """The bots speaking in ``world`` (a bot_chat's bot, a Python world's bots)."""
    spec = task.worlds.get(world or "")
    if spec is None:
        return []
    if getattr(spec, "bot", None):
        return [spec.bot]
    return list(getattr(spec, "bots", None) or [])


def _pane_id(bot: str) -> str:
    return "tab-bot-" + re.sub(r"[^A-Za-z0-9_-]", "_", bot)


class BotPane(TabPane):
    """The inspector tab of one bot's live panel."""

    def __init__(self, title: str, panel: BotPanel, id: str) -> None:
        super().__init__(title, panel, id=id)
        self.panel = panel


def panel_of(inspector: Any, bot: str) -> BotPanel | None:
    """The live panel of ``bot`` in the inspector, if it has one (being added counts)."""
    adding = getattr(inspector, "adding_panels", {})
    if bot in adding:
        return adding[bot]
    found = inspector.query(f"#{_pane_id(bot)}")
    return found.first().panel if found else None


async def show_panels(inspector: Any, task: Any, runner: Any, conversation_id: str, world: str | None) -> None:
    """A tab per decision-table or form bot of ``world``, each following the conversation.

    A tab added now becomes the active one (the live panel is why it is there).
    """
    tabs = inspector.query_one(TabbedContent)
    added = None
    for bot in world_bots(task, world):
        cls = panel_class(task, bot)
        if cls is None:
            continue
        panel = panel_of(inspector, bot)
        if panel is None:
            # registered before the first await, so a concurrent call finds it
            panel = cls(task, bot)
            adding = getattr(inspector, "adding_panels", {})
            adding[bot] = panel
            try:
                await tabs.add_pane(BotPane(f"{cls.TITLE} · {bot}", panel, id=_pane_id(bot)))
            finally:
                adding.pop(bot, None)
            added = added or _pane_id(bot)
        panel.follow(runner, conversation_id)
    if added:
        tabs.active = added


def feed_panel(inspector: Any, conversation_id: str, fields: dict[str, Any], data: dict[str, Any] | None) -> None:
    """A runner ``state`` event (fields bot, state, trace) for the panel of its bot, if any."""
    panel = panel_of(inspector, str(fields.get("bot")))
    if panel is not None:
        panel.feed(conversation_id, fields.get("state"), fields.get("trace"), data)
