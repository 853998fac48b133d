"""TurnPrompt: ask for the number of a turn to go to (the step screen's jump)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class TurnPrompt(ModalScreen[int | None]):
    """Dismissed with one of ``numbers``, or None."""

    CSS_PATH = "debugger.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="turn_prompt.cancel", tooltip="Stay on this turn")]

    def __init__(self, numbers: list[int], current: int | None = None) -> None:
        super().__init__()
        self.numbers = numbers
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="turn-prompt", classes="wb-modal"):
            yield Label(f"Go to turn ({self.numbers[0]} to {self.numbers[-1]}):", classes="wb-modal-title")
            yield Input(str(self.current if self.current is not None else ""), type="integer", id="turn-input")
            with Horizontal(classes="wb-modal-buttons"):
                yield Button("Go", id="turn-ok", variant="primary")
                yield Button("Cancel", id="turn-cancel")

    def on_mount(self) -> None:
        self.query_one("#turn-input", Input).focus()

    @on(Input.Submitted, "#turn-input")
    @on(Button.Pressed, "#turn-ok")
    def _ok(self) -> None:
        text = self.query_one("#turn-input", Input).value.strip()
        if not text.lstrip("-").isdigit() or int(text) not in self.numbers:
            self.notify(f"Type a turn from {self.numbers[0]} to {self.numbers[-1]}.", severity="warning")
            return
        self.dismiss(int(text))

    @on(Button.Pressed, "#turn-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
