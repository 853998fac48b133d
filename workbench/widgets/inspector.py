"""Inspector: the world, the agents, the engine state and the raw JSON of a message."""

from __future__ import annotations

import json
from typing import Any

from rich.json import JSON
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane


def _json(value: Any) -> Text:
    """``value`` as highlighted JSON that wraps (Rich's JSON never wraps: long strings were cut)."""
    try:
        text = JSON(json.dumps(value, default=str, ensure_ascii=False)).text.copy()
    except (TypeError, ValueError):
        return Text(repr(value))
    text.no_wrap = False
    text.overflow = "fold"
    return text


class Inspector(Vertical):
    """Tabs: World (where the person is, who is in it), State (engine state), Message (raw act + trace)."""

    #: bots' live panels whose tabs are being added (workbench/widgets/bot_tools.py)
    adding_panels: dict[str, Any]

    def on_mount(self) -> None:
        self.adding_panels = {}

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="tab-world", id="inspector-tabs"):
            with TabPane("World", id="tab-world"):
                with VerticalScroll():
                    yield Static("connecting…", id="inspect-world")
            with TabPane("State", id="tab-state"):
                with VerticalScroll():
                    yield Static("no engine state yet", id="inspect-state")
            with TabPane("Message", id="tab-message"):
                with VerticalScroll():
                    yield Static("select a message to see its JSON", id="inspect-message")

    @property
    def active(self) -> str:
        return self.query_one(TabbedContent).active

    @active.setter
    def active(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def clear(self) -> None:
        """Nothing shown: a new conversation starts (its world and state follow)."""
        self.query_one("#inspect-world", Static).update("connecting…")
        self.query_one("#inspect-state", Static).update("no engine state yet")
        self.query_one("#inspect-message", Static).update("select a message to see its JSON")

    def show_world(self, info: dict[str, Any]) -> None:
        self.query_one("#inspect-world", Static).update(_json(info))

    def show_state(self, states: dict[str, Any]) -> None:
        self.query_one("#inspect-state", Static).update(_json(states) if states else "no engine state yet")

    def show_message(self, entry: dict[str, Any]) -> None:
        shown = {
            "act": entry.get("act"),
            "role": entry.get("role"),
            "world": entry.get("world"),
            "world_instance": entry.get("world_instance"),
            "stored": entry.get("stored"),
            "trace": entry.get("trace"),
        }
        self.query_one("#inspect-message", Static).update(_json(shown))
