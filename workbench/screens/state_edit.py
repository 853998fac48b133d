"""StateEditScreen: a bot's engine state as JSON, to change by hand while a turn is held.

The text is checked as a person's JSON (workbench/io/untrusted.py: size, depth, numbers)
and must be an object; a mistake is shown with its line and column and the screen stays.
"""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from workbench.io.untrusted import UntrustedInput, parse_json_object


class StateEditScreen(ModalScreen[dict[str, Any] | None]):
    """Dismissed with the new state, or None."""

    CSS_PATH = "debugger.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="state_edit.cancel", tooltip="Close without changing the state"),
        Binding("ctrl+s", "save", "Set", id="state_edit.save", tooltip="Set the bot's state to this JSON"),
    ]

    def __init__(self, bot: str, state: dict[str, Any]) -> None:
        super().__init__()
        self.bot = bot
        self.state = state

    def compose(self) -> ComposeResult:
        with Vertical(id="state-edit", classes="wb-modal"):
            yield Label(f"{self.bot}'s engine state (JSON): ctrl+s sets it", classes="wb-modal-title")
            yield TextArea(
                json.dumps(self.state, indent=2, ensure_ascii=False, default=str),
                language=None,
                id="state-edit-area",
            )
            yield Static("", id="state-edit-error")
            with Horizontal(classes="wb-modal-buttons"):
                yield Button("Set", id="state-edit-set", variant="primary")
                yield Button("Cancel", id="state-edit-cancel")

    def on_mount(self) -> None:
        self.query_one("#state-edit-area", TextArea).focus()

    @on(Button.Pressed, "#state-edit-set")
    def action_save(self) -> None:
        try:
            state = parse_json_object(self.query_one("#state-edit-area", TextArea).text, what="state")
        except UntrustedInput as exc:
            self.query_one("#state-edit-error", Static).update(str(exc))
            return
        self.dismiss(state)

    @on(Button.Pressed, "#state-edit-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
