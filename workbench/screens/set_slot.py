"""SetSlotScreen: pick a slot and type a value (or clear it) to try a path by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select


@dataclass
class SlotChoice:
    slot: str
    #: None clears the slot
    value: Any


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


class SetSlotScreen(ModalScreen[SlotChoice | None]):
    """``rows``: the slot panel's rows (name, value); the requested slot is chosen first."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="set_slot.cancel", tooltip="Close without changing a slot")]

    def __init__(self, rows: list[Any], requested: str | None = None) -> None:
        super().__init__()
        self.values = {r.name: r.value for r in rows}
        self.requested = requested if requested in self.values else (next(iter(self.values), None))

    def compose(self) -> ComposeResult:
        with Vertical(id="set-slot", classes="wb-modal"):
            yield Label("Set or clear a slot by hand (the bot sees it at its next turn)", classes="wb-modal-title")
            yield Select(
                [(f"{name} = {_text_of(v) or '—'}", name) for name, v in self.values.items()],
                value=self.requested if self.requested is not None else Select.BLANK,
                allow_blank=False,
                id="set-slot-name",
            )
            yield Input(
                _text_of(self.values.get(self.requested or "")),
                placeholder='a value: text, a number, true/false ("2" keeps a number as text)',
                id="set-slot-value",
            )
            with Horizontal(classes="wb-modal-buttons"):
                yield Button("Set", id="set-slot-set", variant="primary")
                yield Button("Clear the slot", id="set-slot-clear", variant="warning")
                yield Button("Cancel", id="set-slot-cancel")

    def on_mount(self) -> None:
        self.query_one("#set-slot-value", Input).focus()

    @on(Select.Changed, "#set-slot-name")
    def _slot_changed(self, event: Select.Changed) -> None:
        self.query_one("#set-slot-value", Input).value = _text_of(self.values.get(str(event.value)))

    def _slot(self) -> str:
        return str(self.query_one("#set-slot-name", Select).value)

    @on(Input.Submitted, "#set-slot-value")
    @on(Button.Pressed, "#set-slot-set")
    def _set(self) -> None:
        from workbench.engines.form.live_panel import value_from_text

        value = value_from_text(self.query_one("#set-slot-value", Input).value)
        self.dismiss(SlotChoice(self._slot(), value))

    @on(Button.Pressed, "#set-slot-clear")
    def _clear(self) -> None:
        self.dismiss(SlotChoice(self._slot(), None))

    @on(Button.Pressed, "#set-slot-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
