"""BreakpointForm: choose when to hold a turn: what happens (a kind), to which state or slot
(a name, or any), for which bot (or any), in the chat's conversation only or in all. The
table editor and the slot panel open it with their state or slot filled in."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from workbench.runtime.debugger import KINDS, NAMED, Breakpoint


class BreakpointForm(ModalScreen[Breakpoint | None]):
    CSS_PATH = "debugger.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="bp_form.cancel", tooltip="Close without a breakpoint")]

    def __init__(
        self, task: Any, conversation_id: str | None = None, kind: str = "state", name: str = "", bot: str | None = None
    ) -> None:
        super().__init__()
        self.wb_task = task
        self.conversation_id = conversation_id
        self.kind = kind
        self.name_text = name
        self.bot = bot

    def compose(self) -> ComposeResult:
        with Vertical(id="bp-form", classes="wb-modal"):
            yield Label("Hold a bot's turn (before its reply is stored or sent) when…", classes="wb-modal-title")
            yield Select(
                [(text, kind) for kind, text in KINDS.items()], value=self.kind, allow_blank=False, id="bp-kind"
            )
            yield Label("state or slot name (empty: any)", classes="wb-field-label")
            yield Input(self.name_text, placeholder="e.g. forgot_password, or price", id="bp-name", classes="wb-field")
            yield Label("bot", classes="wb-field-label")
            bots = [(b, b) for b in self.wb_task.bot_configs]
            yield Select([("any bot", "")] + bots, value=self.bot or "", allow_blank=False, id="bp-bot")
            yield Checkbox(
                f"only in conversation {self.conversation_id}" if self.conversation_id else "only in this conversation",
                value=False,
                disabled=self.conversation_id is None,
                id="bp-here",
            )
            with Horizontal(classes="wb-modal-buttons"):
                yield Button("Add", id="bp-add", variant="primary")
                yield Button("Cancel", id="bp-cancel")

    def on_mount(self) -> None:
        self._kind_changed()
        self.query_one("#bp-kind", Select).focus()

    @on(Select.Changed, "#bp-kind")
    def _kind_changed(self) -> None:
        named = str(self.query_one("#bp-kind", Select).value) in NAMED
        self.query_one("#bp-name", Input).disabled = not named

    @on(Input.Submitted, "#bp-name")
    @on(Button.Pressed, "#bp-add")
    def _add(self) -> None:
        kind = str(self.query_one("#bp-kind", Select).value)
        name = self.query_one("#bp-name", Input).value.strip() if kind in NAMED else ""
        bot = str(self.query_one("#bp-bot", Select).value) or None
        here = self.query_one("#bp-here", Checkbox).value
        try:
            point = Breakpoint(kind, name or None, bot, self.conversation_id if here else None)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.dismiss(point)

    @on(Button.Pressed, "#bp-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
