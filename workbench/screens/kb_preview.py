"""KBPreviewScreen: the exchanges a conversation would add to a knowledge base, to choose from.

Each question and its answer is a checkbox, ticked unless it is left out by default (its
answer was a fallback, or it holds personal data; :meth:`BotEditor.preview_exchanges
<workbench.runtime.editing.BotEditor.preview_exchanges>` says why): those are listed
under the choices with the reason, and are not offered.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, SelectionList, Static
from textual.widgets.selection_list import Selection


def _exchange(qa: Any, width: int = 70) -> Text:
    def short(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= width else text[: width - 1] + "…"

    out = Text()
    out.append("Q ", style="bold")
    out.append(short(qa.question))
    out.append("\n  A ", style="bold")
    out.append(short(qa.answer), style="dim")
    return out


class KBPreviewScreen(ModalScreen[list[str] | None]):
    """Dismissed with the chosen Q/A ids, or None (cancelled)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="kb_preview.cancel", tooltip="Close without adding anything"),
    ]

    def __init__(self, bot: str, conversation_id: str, previews: list[Any]) -> None:
        super().__init__()
        self.bot = bot
        self.conversation_id = conversation_id
        self.previews = previews

    @property
    def offered(self) -> list[Any]:
        return [p for p in self.previews if p.left_out is None]

    def compose(self) -> ComposeResult:
        offered = self.offered
        left_out = [p for p in self.previews if p.left_out is not None]
        with Vertical(id="kb-preview", classes="wb-modal"):
            yield Label(
                f"Add {len(offered)} exchange(s) of conversation {self.conversation_id} to {self.bot}'s "
                "knowledge base, unverified? Untick what should not be added.",
                classes="wb-modal-title",
            )
            yield SelectionList[str](
                *(Selection(_exchange(p.qa), p.qa.id, True) for p in offered), id="kb-preview-list"
            )
            notes = Text()
            for p in left_out:
                notes.append("left out: ", style="bold")
                notes.append(f"{' '.join(p.qa.question.split())[:60]!r}: {p.left_out}\n")
            yield Static(notes or Text("nothing is left out", style="dim"), id="kb-preview-left-out")
            with Horizontal(classes="wb-modal-buttons"):
                yield Button("Add the ticked ones", id="kb-preview-add", variant="primary")
                yield Button("Cancel", id="kb-preview-cancel")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    @on(Button.Pressed, "#kb-preview-add")
    def action_add(self) -> None:
        self.dismiss(list(self.query_one(SelectionList).selected))

    @on(Button.Pressed, "#kb-preview-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
