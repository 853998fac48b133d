"""StateFormScreen: add or edit one decision-table state, validated before it is saved.

The form shows every field as text (:func:`~workbench.engines.decision_table.editing.form_fields`)
and checks it with :func:`~workbench.engines.decision_table.editing.state_from_form`:
every problem is listed with its field, line and character, and the form stays open.
It is dismissed with the valid :class:`State`; the caller writes it.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from workbench.engines.decision_table.editing import (
    FORM_FIELDS,
    StateFormError,
    field_problem,
    form_fields,
    pointer,
    state_from_form,
)
from workbench.engines.decision_table.model import State
from workbench.problems import Problem

#: fields edited in a multi-line box
MULTILINE = {"analyzer", "queries", "bubble", "action_input", "state_data"}

HINTS = {
    "state": "name (no spaces, % or |)",
    "evaluation_class": "a request evaluates only its class's states",
    "execution_order": "ties between equal scores: lower first",
    "max_state_count": "times it may be reached per conversation (0: no limit)",
    "analyzer": 'rule, e.g. band(keyword("password"), bor(keyword("forgot"), keyword("lost")))',
    "queries": "one query per line (matched by retrieval when there is no analyzer)",
    "bubble": "the reply: %var% templates, A|B alternatives",
    "action": "show_buttons, input_form or a server action",
    "action_input": 'JSON object, e.g. {"Yes": "next_state"}',
    "state_data": "JSON object",
    "success_value": "next state",
    "failure_value": "next state on failure",
}


class StateFormScreen(ModalScreen[State | None]):
    """A modal form for one state; ``state=None`` adds a new one."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="state_form.save", tooltip="Check the state and save it"),
        Binding("escape", "cancel", "Cancel", id="state_form.cancel", tooltip="Close without saving"),
    ]

    def __init__(self, state: State | None, existing: Iterable[str] = ()) -> None:
        super().__init__()
        self.original = state
        self.existing = set(existing)

    def compose(self) -> ComposeResult:
        fields = form_fields(self.original)
        title = f"Edit state {self.original.state}" if self.original else "Add a state"
        with Vertical(id="state-form", classes="wb-modal"):
            yield Label(title, classes="wb-modal-title")
            with VerticalScroll(id="state-form-fields"):
                for name in FORM_FIELDS:
                    yield Label(f"{name}  [dim]{HINTS.get(name, '')}[/dim]", classes="wb-field-label")
                    if name in MULTILINE:
                        yield TextArea(fields[name], id=f"sf-{name}", classes="wb-field-area", soft_wrap=True)
                    else:
                        box = Input(fields[name], id=f"sf-{name}", classes="wb-field")
                        if name == "state" and self.original is not None:
                            box.disabled = True  # other states refer to it by name
                        yield box
            yield Static("", id="state-form-errors")
            with Horizontal(classes="wb-modal-buttons"):
                yield Button("Save", id="sf-save", variant="primary")
                yield Button("Cancel", id="sf-cancel")

    def on_mount(self) -> None:
        first = "#sf-bubble" if self.original is not None else "#sf-state"
        self.query_one(first).focus()

    def values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in FORM_FIELDS:
            if name in MULTILINE:
                out[name] = self.query_one(f"#sf-{name}", TextArea).text
            else:
                out[name] = self.query_one(f"#sf-{name}", Input).value
        return out

    def show_errors(self, errors: list[Problem]) -> None:
        for widget in self.query(".wb-field, .wb-field-area"):
            widget.remove_class("-invalid")
        text = Text()
        values = self.values()
        for e in errors:
            text.append(f"✗ {e}\n", style="bold")
            caret = pointer(e, values.get(e.key or "", ""))
            if caret:
                text.append(caret + "\n")
            for widget in self.query(f"#sf-{e.key}"):
                widget.add_class("-invalid")
        self.query_one("#state-form-errors", Static).update(text)
        if errors:
            first = self.query(f"#sf-{errors[0].key}")
            if first:
                first.first().focus()

    @on(Button.Pressed, "#sf-save")
    def action_save(self) -> None:
        try:
            state = state_from_form(self.values())
        except StateFormError as exc:
            self.show_errors(exc.errors)
            return
        if self.original is None and state.state in self.existing:
            self.show_errors([field_problem("state", f"a state named {state.state!r} exists already: edit it instead")])
            return
        self.dismiss(state)

    @on(Button.Pressed, "#sf-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
