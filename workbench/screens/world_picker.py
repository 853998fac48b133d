"""WorldPicker: choose a world to start a conversation in."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class WorldPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="worlds.cancel", tooltip="Close without choosing")]

    def __init__(self, task: Any) -> None:
        super().__init__()
        self.wb_task = task

    def compose(self) -> ComposeResult:
        with Vertical(id="world-picker"):
            yield Label("Start a conversation in:")
            yield OptionList(
                *(
                    Option(
                        f"{name}  ({spec.type}{', ' + str(spec.agents_required) + ' people' if spec.agents_required > 1 else ''})",
                        id=name,
                    )
                    for name, spec in self.wb_task.worlds.items()
                ),
                id="world-list",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
