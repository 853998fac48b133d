"""DiffConfirmScreen: a change to a file, shown as a diff, written only when confirmed."""

from __future__ import annotations

from rich.syntax import Syntax
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class DiffConfirmScreen(ModalScreen[bool]):
    """Dismissed with True (write it) or False."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="diff.cancel", tooltip="Close without writing"),
        Binding("w", "confirm", "Write", id="diff.write", tooltip="Write the file as the diff shows"),
    ]

    def __init__(self, title: str, diff: str, confirm: str = "Write the file") -> None:
        super().__init__()
        self.title_text = title
        self.diff = diff
        self.confirm_label = confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="diff-confirm", classes="wb-modal"):
            yield Label(self.title_text, classes="wb-modal-title")
            with VerticalScroll(id="diff-scroll"):
                yield Static(Syntax(self.diff, "diff", word_wrap=True, theme="ansi_dark"), id="diff-text")
            with Horizontal(classes="wb-modal-buttons"):
                yield Button(self.confirm_label, id="diff-yes", variant="warning")
                yield Button("Cancel", id="diff-no")

    def on_mount(self) -> None:
        self.query_one("#diff-no", Button).focus()

    @on(Button.Pressed, "#diff-yes")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#diff-no")
    def action_cancel(self) -> None:
        self.dismiss(False)
