"""BreakpointsScreen: a runner's breakpoints and the turns they hold, and what to do about them.

The breakpoints (any conversation, or one) and, below, every held turn: which conversation
and bot, why it is held, what the person said. Keys add and remove breakpoints, edit a held
bot's state by hand (as JSON), continue a held turn (answered from the state as it now is)
or let it go and hold the conversation's next turn too (one turn at a time). The lists
follow the runner's ``paused`` and ``resumed`` events.
"""

from __future__ import annotations

import time
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from workbench.runtime.debugger import Breakpoint
from workbench.screens.messages import RuntimeEvent


class BreakpointsScreen(Screen[None]):
    CSS_PATH = "debugger.tcss"

    BINDINGS = [
        Binding("escape", "close", "Back", id="breakpoints.close", tooltip="Back to the chat"),
        Binding("a", "add", "Add", id="breakpoints.add", tooltip="Add a breakpoint"),
        Binding("delete", "remove", "Remove", id="breakpoints.remove", tooltip="Remove the highlighted breakpoint"),
        Binding(
            "c",
            "resume",
            "Continue",
            id="breakpoints.resume",
            tooltip="Let the highlighted held turn go (or the first)",
        ),
        Binding(
            "s",
            "step",
            "Next turn",
            id="breakpoints.step",
            tooltip="Let the held turn go and hold the conversation's next turn too",
        ),
        Binding(
            "e",
            "edit_state",
            "Edit state",
            id="breakpoints.edit_state",
            tooltip="Change the held bot's engine state by hand (JSON); continuing answers from it",
        ),
    ]

    def __init__(self, task: Any, runner: Any, conversation_id: str | None = None) -> None:
        super().__init__()
        self.wb_task = task
        self.runner = runner
        #: the conversation the chat shows (a new breakpoint may be limited to it)
        self.conversation_id = conversation_id
        self._unsubscribe: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="bp-status")
        yield Label("Breakpoints", classes="bp-heading")
        yield DataTable(id="bp-points", cursor_type="row", zebra_stripes=True)
        yield Label("Held turns", classes="bp-heading")
        yield DataTable(id="bp-paused", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "workbench · breakpoints"
        self.query_one("#bp-points", DataTable).add_columns("when", "bot", "conversation")
        self.query_one("#bp-paused", DataTable).add_columns("conversation", "bot", "why", "they said", "held for")
        self._unsubscribe = self.runner.subscribe(lambda ev: self.post_message(RuntimeEvent(ev)))
        self.refresh_lists()
        self.query_one("#bp-points", DataTable).focus()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    @on(RuntimeEvent)
    def _runtime(self, message: RuntimeEvent) -> None:
        if message.event.kind in ("paused", "resumed"):
            self.refresh_lists()

    def refresh_lists(self) -> None:
        points = self.query_one("#bp-points", DataTable)
        points.clear()
        for i, p in enumerate(self.runner.breakpoints.points):
            points.add_row(p.describe(), p.bot or "any", p.conversation or "any", key=str(i))
        held = self.query_one("#bp-paused", DataTable)
        held.clear()
        now = time.time()
        for cid, pause in self.runner.breakpoints.paused.items():
            said = str(pause.message.get("text") or "")
            held.add_row(cid, pause.bot, "; ".join(pause.reasons), said, f"{now - pause.since:.0f} s", key=cid)
        n = len(self.runner.breakpoints.paused)
        self.query_one("#bp-status", Static).update(
            f"{len(self.runner.breakpoints.points)} breakpoint(s) · {n} turn(s) held"
            + "   a add · delete remove · e edit state · c continue · s next turn"
        )

    # -- which row ---------------------------------------------------------------------------
    def _point(self) -> Breakpoint | None:
        table = self.query_one("#bp-points", DataTable)
        points = self.runner.breakpoints.points
        if table.row_count == 0 or table.cursor_row is None or table.cursor_row >= len(points):
            return None
        return points[table.cursor_row]

    def _held(self) -> str | None:
        """The held conversation highlighted (or the chat's, or the first one held)."""
        paused = self.runner.breakpoints.paused
        table = self.query_one("#bp-paused", DataTable)
        if table.row_count and self.focused is table:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if self.conversation_id in paused:
            return self.conversation_id
        return next(iter(paused), None)

    # -- actions -----------------------------------------------------------------------------
    def action_add(self) -> None:
        from workbench.screens.breakpoint_form import BreakpointForm

        def added(point: Breakpoint | None) -> None:
            if point is not None:
                self.runner.breakpoints.add(point)
                self.notify(f"Breakpoint: {point.describe()}")
                self.refresh_lists()

        self.app.push_screen(BreakpointForm(self.wb_task, self.conversation_id), added)

    def action_remove(self) -> None:
        point = self._point()
        if point is not None and self.runner.breakpoints.remove(point):
            self.notify(f"Removed: {point.describe()}")
            self.refresh_lists()

    def action_resume(self) -> None:
        self._let_go(step=False)

    def action_step(self) -> None:
        self._let_go(step=True)

    def _let_go(self, step: bool) -> None:
        cid = self._held()
        if cid is None:
            self.notify("No turn is held.", severity="warning")
            return
        self.runner.breakpoints.resume(cid, step=step)
        self.notify("Next turn will be held too." if step else f"Conversation {cid} goes on.")

    def action_edit_state(self) -> None:
        cid = self._held()
        if cid is None:
            self.notify("No turn is held: hold one first (a breakpoint, or F10 in the chat).", severity="warning")
            return
        bot = self.runner.breakpoints.paused[cid].bot
        edit_bot_state(self, self.runner, cid, bot)

    def action_close(self) -> None:
        self.dismiss(None)


def edit_bot_state(screen: Screen, runner: Any, conversation_id: str, bot: str) -> None:
    """Open the JSON editor on ``bot``'s state in a conversation; the saved state goes to
    :meth:`Runner.set_bot_state` (a held turn is then answered from it)."""
    from workbench.screens.state_edit import StateEditScreen

    state = runner.bot_state(conversation_id, bot) or {}

    def saved(new: dict[str, Any] | None) -> None:
        if new is not None:
            screen.run_worker(_apply(screen, runner, conversation_id, bot, new), exit_on_error=False)

    screen.app.push_screen(StateEditScreen(bot, state), saved)


async def _apply(screen: Screen, runner: Any, conversation_id: str, bot: str, state: dict[str, Any]) -> None:
    await runner.set_bot_state(conversation_id, bot, state)
    held = conversation_id in runner.breakpoints.paused
    screen.notify(f"{bot}'s state set by hand" + ("; continuing answers from it." if held else "."))


def toggle_breakpoint(screen: Screen, runner: Any, kind: str, name: str, bot: str) -> None:
    """Add a breakpoint on ``name`` (a state, a slot) for ``bot``, or remove it when it is set."""
    if runner is None:
        screen.notify("Breakpoints hold live turns: open this from the chat.", severity="warning")
        return
    point = Breakpoint(kind, name, bot)
    if runner.breakpoints.remove(point):
        screen.notify(f"Removed the breakpoint: {point.describe()}")
    else:
        runner.breakpoints.add(point)
        screen.notify(f"Breakpoint: {point.describe()} (F12 in the chat lists them)")
