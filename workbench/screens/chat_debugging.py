"""The chat's debugger keys: step through the conversation, breakpoints, held turns.

:class:`ChatDebugging` is mixed into the chat screen (workbench/screens/chat.py), whose
``BINDINGS`` include :data:`DEBUG_BINDINGS` (so each is in the palette too). It opens the
step screen on the conversation shown (a fork chosen there is resumed in the chat), the
breakpoints screen, and the breakpoint form for the slot panel's slots; it lets a held
turn go (F5) or holds the next one (F10), and tells the developer when a turn of the
conversation they watch is held and why.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from workbench.engines.capabilities import SlotBot, bots_with

DEBUG_BINDINGS = [
    Binding(
        "f4",
        "step_through",
        "Step through",
        show=False,
        id="chat.step_through",
        tooltip="Step through this conversation turn by turn: states, slots and traces as they were",
    ),
    Binding(
        "f5",
        "debug_continue",
        "Continue",
        show=False,
        id="chat.debug_continue",
        tooltip="Let the turn held at a breakpoint go (answered from the bot's state as it now is)",
    ),
    Binding(
        "f10",
        "debug_next",
        "Next turn",
        show=False,
        id="chat.debug_next",
        tooltip="Hold this conversation's next turn (with a turn held: let it go and hold the next)",
    ),
    Binding(
        "f12",
        "breakpoints",
        "Breakpoints",
        show=False,
        id="chat.breakpoints",
        tooltip="Breakpoints and held turns: add, remove, edit a held bot's state, continue",
    ),
    Binding(
        "ctrl+g",
        "break_on_slot",
        "Break on a slot",
        show=False,
        id="chat.break_on_slot",
        tooltip="Hold the form bot's turn when one of its slots is set or cleared",
        priority=True,
    ),
]


class ChatDebugging:
    """The chat screen's debugger actions (see the module's docstring)."""

    # provided by the chat screen
    runner: Any
    wb_task: Any
    app: Any
    person: Any
    notify: Any
    query_one: Any
    run_worker: Any
    resume: Any
    _status: Any

    def _shown_conversation(self) -> str | None:
        session = self.person.session if self.person is not None else None
        return session.conversation_id if session is not None else None

    def pause_note(self) -> str:
        """What the status line adds while the conversation shown has a turn held."""
        cid = self._shown_conversation()
        if self.runner is None or cid is None:
            return ""
        pause = self.runner.breakpoints.paused.get(cid)
        if pause is not None:
            return f" · {pause.bot} held: {'; '.join(pause.reasons)} (F5 continue, F10 next turn, F12 edit)"
        return " · stepping: each turn is held" if self.runner.breakpoints.stepping(cid) else ""

    def debug_event(self, event: Any) -> None:
        """A ``paused`` or ``resumed`` event of the conversation shown."""
        if event.kind == "paused":
            why = "; ".join(event.fields.get("reasons") or [])
            self.notify(
                f"{event.fields.get('bot')} holds its reply to {event.fields.get('text')!r}: {why}. "
                "F5 continue · F10 next turn · F12 edit the state · F4 step through",
                title="Turn held",
                timeout=10,
            )

    def action_step_through(self) -> None:
        cid = self._shown_conversation()
        if self.runner is None or cid is None:
            return
        from workbench.screens.step import StepScreen

        def chosen(fork: str | None) -> None:
            if fork:
                self.run_worker(self.resume(fork), exclusive=True, group="chat")

        self.app.push_screen(StepScreen(self.wb_task, self.runner.store, cid, runner=self.runner), chosen)

    def action_debug_continue(self) -> None:
        cid = self._shown_conversation()
        if self.runner is None or cid is None:
            return
        if not self.runner.breakpoints.resume(cid):
            self.notify("No turn of this conversation is held.", severity="warning")

    def action_debug_next(self) -> None:
        cid = self._shown_conversation()
        if self.runner is None or cid is None:
            return
        if not self.runner.breakpoints.resume(cid, step=True):
            self.runner.breakpoints.step_mode(cid)
            self.notify("The bot's next turn will be held; F5 lets it go.")
        self._status()

    def action_breakpoints(self) -> None:
        if self.runner is None:
            return
        from workbench.screens.breakpoints import BreakpointsScreen

        self.app.push_screen(BreakpointsScreen(self.wb_task, self.runner, self._shown_conversation()))

    def action_break_on_slot(self) -> None:
        from workbench.widgets import bot_tools
        from workbench.widgets.inspector import Inspector
        from workbench.widgets.slot_panel import SlotPanel

        person = self.person
        world = person.session.world if person is not None and person.session is not None else None
        bots = bots_with(self.wb_task, SlotBot, bot_tools.world_bots(self.wb_task, world))
        panel = bot_tools.panel_of(self.query_one(Inspector), bots[0]) if bots else None
        if not isinstance(panel, SlotPanel):
            self.notify("No form bot speaks in this world.", severity="warning")
            return
        panel.action_break_on_slot()

    def on_slot_panel_break_on_slot_requested(self, event: Any) -> None:
        if self.runner is None:
            return
        from workbench.screens.breakpoint_form import BreakpointForm

        def added(point: Any) -> None:
            if point is not None:
                self.runner.breakpoints.add(point)
                self.notify(f"Breakpoint: {point.describe()}")

        form = BreakpointForm(
            self.wb_task, self._shown_conversation(), kind="slot_set", name=event.requested or "", bot=event.panel.bot
        )
        self.app.push_screen(form, added)
