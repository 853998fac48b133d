"""PathPrompt: ask for a file path (where to export a table or a knowledge base)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class PathPrompt(ModalScreen[Path | None]):
    """Dismissed with the path typed (``~`` expanded), or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="path.cancel", tooltip="Close without choosing a file")]

    def __init__(self, title: str, default: str = "", action: str = "Export") -> None:
        super().__init__()
        self.prompt_title = title
        self.default = default
        self.action_label = action

    def compose(self) -> ComposeResult:
        with Vertical(id="path-prompt", classes="wb-modal"):
            yield Label(self.prompt_title, classes="wb-modal-title")
            yield Input(self.default, placeholder="path/to/file.csv (or .json)", id="path-input")
            with Horizontal(classes="wb-modal-buttons"):
                yield Button(self.action_label, id="path-ok", variant="primary")
                yield Button("Cancel", id="path-cancel")

    def on_mount(self) -> None:
        self.query_one("#path-input", Input).focus()

    @on(Input.Submitted, "#path-input")
    @on(Button.Pressed, "#path-ok")
    def _ok(self) -> None:
        text = self.query_one("#path-input", Input).value.strip()
        if not text:
            self.notify("Type a file path first.", severity="warning")
            return
        self.dismiss(Path(text).expanduser())

    @on(Button.Pressed, "#path-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
