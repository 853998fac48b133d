"""ConversationsScreen: browse past conversations in the store, read one, resume it."""

from __future__ import annotations

import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from workbench.widgets.inspector import Inspector
from workbench.widgets.transcript import Transcript


def _when(ts: float | None) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


class ConversationsScreen(Screen[str | None]):
    """A table of stored conversations; Enter reads one, r resumes it."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="history.close", tooltip="Back to the chat"),
        Binding("r", "resume", "Resume", id="history.resume", tooltip="Continue the highlighted conversation"),
        Binding(
            "s",
            "step",
            "Step through",
            id="history.step",
            tooltip="Step through the highlighted conversation turn by turn",
        ),
        Binding(
            "w",
            "replay",
            "What if",
            id="history.replay",
            tooltip="Replay the highlighted conversation against the bot as it is now: then and now side by side",
        ),
    ]

    def __init__(self, store: Any, task: Any) -> None:
        super().__init__()
        self.store = store
        self.wb_task = task

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            "Past conversations: Enter to read, r to resume, s to step through, w what if, Esc to go back",
            id="history-help",
        )
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "person", "channel", "world", "status", "messages", "updated")
        for c in self.store.conversations(limit=500):
            table.add_row(
                c["id"],
                c["person"],
                c["channel"],
                c.get("world") or "",
                c["status"],
                str(c["n_messages"]),
                _when(c["updated"]),
                key=c["id"],
            )
        table.focus()

    def _highlighted_id(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        cid = event.row_key.value
        if cid is None:  # not a row of ours: each is added with its conversation's id
            return
        self.app.push_screen(TranscriptScreen(self.store, cid, self.wb_task), self._after_read)

    def _after_read(self, resume_id: str | None) -> None:
        if resume_id:
            self.dismiss(resume_id)

    def action_resume(self) -> None:
        cid = self._highlighted_id()
        if cid:
            self.dismiss(cid)

    def action_step(self) -> None:
        cid = self._highlighted_id()
        if cid:
            from workbench.screens.step import StepScreen

            # a fork chosen there is resumed in the chat, as a conversation chosen here is
            self.app.push_screen(StepScreen(self.wb_task, self.store, cid), self._after_read)

    def action_replay(self) -> None:
        cid = self._highlighted_id()
        if cid:
            from workbench.screens.replay import ReplayScreen

            self.app.push_screen(ReplayScreen(self.wb_task, self.store, [cid]))

    def action_close(self) -> None:
        self.dismiss(None)


def pairing_note(task: Any, world: str | None) -> str | None:
    """What resuming a conversation of a world for several people means for the others (None:
    a world for one person)."""
    spec = task.worlds.get(world or "") if task is not None else None
    needed = getattr(spec, "agents_required", 1) or 1
    if needed < 2:
        return None
    others = "the other person is" if needed == 2 else "the other people are"
    return (
        f"{world!r} is a world for {needed} people: resuming brings back this person only, "
        f"{others} not brought back; they wait for a partner (ctrl+t in the chat plays one)."
    )


class TranscriptScreen(Screen[str | None]):
    """One stored conversation, read-only, with the inspector (laid out as the chat is)."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        Binding("escape", "close", "Back", id="transcript.close", tooltip="Back to the list"),
        Binding("r", "resume", "Resume", id="transcript.resume", tooltip="Continue this conversation"),
        Binding(
            "f2",
            "toggle_inspector",
            "Inspector",
            id="transcript.toggle_inspector",
            tooltip="Show or hide the inspector",
        ),
    ]

    def __init__(self, store: Any, conversation_id: str, task: Any = None) -> None:
        super().__init__()
        self.store = store
        self.conversation_id = conversation_id
        self.wb_task = task

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"conversation {self.conversation_id} (read-only): r to resume", id="status")
        with Horizontal(id="chat-body"):
            with Vertical(id="chat-main"):
                yield Transcript(id="transcript")
            yield Inspector(id="inspector")
        yield Footer()

    def action_toggle_inspector(self) -> None:
        inspector = self.query_one(Inspector)
        inspector.display = not inspector.display

    async def on_mount(self) -> None:
        from workbench.runtime.transcript import entry_from_row

        conv = self.store.conversation(self.conversation_id) or {}
        rows = self.store.messages(self.conversation_id)
        transcript = self.query_one(Transcript)
        await transcript.reset([entry_from_row(r) for r in rows])
        inspector = self.query_one(Inspector)
        inspector.show_world({k: conv.get(k) for k in ("id", "task", "person", "channel", "status", "world", "data")})
        inspector.show_state(self.store.states(self.conversation_id))
        note = pairing_note(self.wb_task, conv.get("world"))
        if note:
            self.query_one("#status", Static).update(
                f"conversation {self.conversation_id} (read-only): r to resume. {note}"
            )
        transcript.focus()

    @on(Transcript.Highlighted)
    def _highlighted(self, event: Transcript.Highlighted) -> None:
        if event.item is not None and hasattr(event.item, "entry"):
            inspector = self.query_one(Inspector)
            inspector.show_message(event.item.entry)
            inspector.active = "tab-message"

    def action_resume(self) -> None:
        self.dismiss(self.conversation_id)

    def action_close(self) -> None:
        self.dismiss(None)
