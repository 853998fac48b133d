"""QAFormScreen: add or edit one knowledge-base Q/A, checked before it is saved.

The fields are checked with :func:`workbench.engines.knowledge_base.parse_qa` (the rules every import
and API write follows); faults are listed by field and the form stays open. It is
dismissed with the valid :class:`~workbench.engines.knowledge_base.QA`; the caller writes it.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from workbench.engines.knowledge_base import DOCTYPES, QA, parse_qa


class QAFormScreen(ModalScreen[QA | None]):
    """A modal form for one Q/A; ``qa=None`` adds a new one (its id is derived from its text)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="qa_form.save", tooltip="Check the Q/A and save it"),
        Binding("escape", "cancel", "Cancel", id="qa_form.cancel", tooltip="Close without saving"),
    ]

    def __init__(self, qa: QA | None) -> None:
        super().__init__()
        self.original = qa

    def compose(self) -> ComposeResult:
        qa = self.original or QA(question="")
        title = f"Edit Q/A {qa.id}" if self.original else "Add a Q/A"
        with Vertical(id="qa-form", classes="wb-modal"):
            yield Label(title, classes="wb-modal-title")
            with VerticalScroll(id="qa-form-fields"):
                yield Label("question", classes="wb-field-label")
                yield TextArea(qa.question, id="qa-question", classes="wb-field-area", soft_wrap=True)
                yield Label("answer  [dim]empty only for a decisiontable Q/A[/dim]", classes="wb-field-label")
                yield TextArea(qa.answer, id="qa-answer", classes="wb-field-area", soft_wrap=True)
                yield Checkbox("verified (only verified Q/As answer in a conversation)", qa.verified, id="qa-verified")
                yield Label("doctype", classes="wb-field-label")
                yield Select([(d, d) for d in DOCTYPES], value=qa.doctype, allow_blank=False, id="qa-doctype")
                yield Label("topics  [dim]words separated by spaces or commas[/dim]", classes="wb-field-label")
                yield Input(qa.topics, id="qa-topics", classes="wb-field")
                yield Label("state  [dim]the decision-table state it leads to[/dim]", classes="wb-field-label")
                yield Input(qa.state, id="qa-state", classes="wb-field")
            yield Static("", id="qa-form-errors")
            with Horizontal(classes="wb-modal-buttons"):
                yield Button("Save", id="qa-save", variant="primary")
                yield Button("Cancel", id="qa-cancel")

    def on_mount(self) -> None:
        self.query_one("#qa-question", TextArea).focus()

    def values(self) -> dict[str, Any]:
        base = self.original.to_dict() if self.original else {}
        return {
            **base,
            "question": self.query_one("#qa-question", TextArea).text,
            "answer": self.query_one("#qa-answer", TextArea).text,
            "verified": self.query_one("#qa-verified", Checkbox).value,
            "doctype": str(self.query_one("#qa-doctype", Select).value),
            "topics": self.query_one("#qa-topics", Input).value,
            "state": self.query_one("#qa-state", Input).value,
        }

    @on(Button.Pressed, "#qa-save")
    def action_save(self) -> None:
        values = self.values()
        if not self.original:
            values.pop("id", None)
        qa, faults = parse_qa(values)
        for widget in self.query(".wb-field, .wb-field-area"):
            widget.remove_class("-invalid")
        if qa is None:
            text = Text()
            for fault in faults:
                text.append(f"✗ {fault.key}: {fault.message}\n", style="bold")
                for widget in self.query(f"#qa-{fault.key}"):
                    widget.add_class("-invalid")
            self.query_one("#qa-form-errors", Static).update(text)
            return
        self.dismiss(qa)

    @on(Button.Pressed, "#qa-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
