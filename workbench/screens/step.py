"""StepScreen: step through a conversation turn by turn, live or stored.

A timeline of turns on the left (workbench/runtime/timeline.py); for the turn shown, the
transcript up to its end (its own messages highlighted), and on the right the bots as they
were then: the live state and slot panels fed that turn's state and trace, what the turn
did and what changed since the turn before (highlighted), and the raw traces. Keys step
back and forward, jump, fork a new conversation from the turn, or save the conversation
up to the turn as a conversation test. With a runner the screen follows the conversation
as it goes on. The timeline is read and the engines are built in a worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from workbench.engines.capabilities import DebuggableBot
from workbench.runtime.timeline import Timeline, TimelineTurn, load_timeline
from workbench.runtime.transcript import entry_from_row
from workbench.screens.messages import RuntimeEvent
from workbench.widgets import bot_tools
from workbench.widgets.bot_panel import BotPanel
from workbench.widgets.timeline_list import TimelineList
from workbench.widgets.transcript import MessageItem, Transcript
from workbench.widgets.turn_view import TurnView

#: runner events after which a live conversation's timeline is read again
LIVE_KINDS = frozenset({"state", "acknowledged", "message"})


class StepScreen(Screen[str | None]):
    """Dismissed with the id of a fork to resume, or None."""

    CSS_PATH = "debugger.tcss"

    BINDINGS = [
        Binding("escape", "close", "Back", id="step.close", tooltip="Leave step mode"),
        Binding("left", "back", "Back a turn", id="step.back", tooltip="Show the turn before"),
        Binding("right", "forward", "Forward", id="step.forward", tooltip="Show the turn after"),
        Binding("home", "first", "First", show=False, id="step.first", tooltip="Show the opening turn"),
        Binding("end", "last", "Last", show=False, id="step.last", tooltip="Show the latest turn"),
        Binding("g", "jump", "Jump", id="step.jump", tooltip="Go to a turn by its number"),
        Binding(
            "f",
            "fork",
            "Fork",
            id="step.fork",
            tooltip="Start a new conversation from this turn, with the bots' states as they were",
        ),
        Binding(
            "t",
            "save_test",
            "Save as test",
            id="step.save_test",
            tooltip="Save the conversation up to this turn as a conversation test",
        ),
    ]

    class Loaded(Message):
        def __init__(self, timeline: Timeline, engines: dict[str, Any], facts: dict[int, dict[str, Any]]) -> None:
            super().__init__()
            self.timeline = timeline
            self.engines = engines
            self.facts = facts

    class Failed(Message):
        def __init__(self, what: str, error: str) -> None:
            super().__init__()
            self.what = what
            self.error = error

    class Forked(Message):
        def __init__(self, conversation_id: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def __init__(
        self, task: Any, store: Any, conversation_id: str, runner: Any = None, turn: int | None = None
    ) -> None:
        super().__init__()
        self.wb_task = task
        self.store = store
        self.conversation_id = conversation_id
        self.runner = runner
        self.timeline: Timeline | None = None
        self.engines: dict[str, Any] = {}
        #: turn number -> bot -> the engine's facts of that turn
        self.facts: dict[int, dict[str, Any]] = {}
        #: the turn shown (None before the timeline is read)
        self.number: int | None = None
        self._wanted = turn
        self._panels: dict[str, BotPanel] = {}
        self._unsubscribe: Any = None

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"conversation {self.conversation_id}: reading its turns…", id="step-status")
        with Horizontal(id="step-body"):
            yield TimelineList(id="step-timeline")
            yield Transcript(id="transcript")
            with Vertical(id="step-side"):
                with TabbedContent(id="step-tabs", initial="step-tab-turn"):
                    with TabPane("Turn", id="step-tab-turn"):
                        yield TurnView(id="step-turn")
                    with TabPane("Trace", id="step-tab-trace"):
                        with VerticalScroll():
                            yield Static("", id="step-trace")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"workbench · step · {self.conversation_id}"
        self.query_one(TimelineList).focus()
        if self.runner is not None:
            self._unsubscribe = self.runner.subscribe(lambda ev: self.post_message(RuntimeEvent(ev)))
        self.load()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    # -- loading -----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="step-load", name="read-timeline")
    def load(self) -> None:
        """The timeline, the engines of its bots and each turn's facts, off the UI thread."""
        try:
            timeline = load_timeline(self.store, self.conversation_id)
            engines: dict[str, Any] = {}
            bots = list(dict.fromkeys(b for t in timeline.turns for b in t.bots))
            for bot in bots:
                if bot in self.wb_task.bot_configs:
                    engines[bot] = self.wb_task.engine(bot)
            facts = _facts(timeline, engines)
        except Exception as exc:  # shown to the person, never a traceback
            self.post_message(self.Failed(f"read conversation {self.conversation_id}", f"{type(exc).__name__}: {exc}"))
            return
        if not get_current_worker().is_cancelled:  # a newer read (the next live turn) replaces this one
            self.post_message(self.Loaded(timeline, engines, facts))

    @on(Loaded)
    async def _loaded(self, message: Loaded) -> None:
        following = self.timeline is None or self.number == self.timeline.last
        self.timeline, self.engines, self.facts = message.timeline, message.engines, message.facts
        await self._add_panels()
        entered = {n: _entered(f) for n, f in self.facts.items()}
        timeline = self.query_one(TimelineList)
        await timeline.show(self.timeline.turns, entered)
        if not self.timeline.turns:
            self.query_one("#step-status", Static).update(f"conversation {self.conversation_id} has no turns yet")
            return
        wanted = self._wanted if self._wanted is not None else self.number
        self._wanted = None
        if wanted is None or following or wanted not in self.timeline.numbers:
            wanted = self.timeline.last
        timeline.index = timeline.position(wanted)
        await self.show_turn(wanted)

    async def _add_panels(self) -> None:
        """A tab per bot with a live panel (a table's state, a form's slots), added once."""
        tabs = self.query_one("#step-tabs", TabbedContent)
        for bot in self.engines:
            cls = bot_tools.panel_class(self.wb_task, bot)
            if cls is None or bot in self._panels:
                continue
            panel = cls(self.wb_task, bot)
            self._panels[bot] = panel
            await tabs.add_pane(bot_tools.BotPane(f"{cls.TITLE} · {bot}", panel, id=f"step-{_safe(bot)}"))

    # -- showing a turn ----------------------------------------------------------------------
    async def show_turn(self, number: int) -> None:
        timeline = self.timeline
        if timeline is None:
            return
        turn = timeline.turn(number)
        self.number = number
        live = " · live" if self.runner is not None and self.conversation_id in self.runner.sessions else ""
        gap = "" if timeline.complete else " · states before state history was kept are not known"
        self.query_one("#step-status", Static).update(
            f"conversation {self.conversation_id} · turn {number} of {timeline.last}{live}{gap}"
            "   ←/→ step · g jump · f fork · t save as test"
        )
        await self._show_transcript(timeline, turn)
        data = dict(timeline.conversation.get("data") or {})
        for bot, panel in self._panels.items():
            engine = self.engines.get(bot)
            at = turn.bots.get(bot)
            if engine is None:
                continue
            panel.engine = engine
            panel.state = at.state if at is not None and at.state is not None else engine.initial_state()
            panel.trace = at.trace if at is not None else None
            panel.data = data
            try:
                panel.show()
            except Exception as exc:  # one panel that cannot show a state does not stop stepping
                self.notify(f"The {bot} panel cannot show turn {number}: {exc}", severity="warning")
        self.query_one(TurnView).show(turn, self.facts.get(number, {}))
        traces = {bot: at.trace for bot, at in turn.bots.items() if at.trace is not None}
        self.query_one("#step-trace", Static).update(_json(traces) if traces else "no trace in this turn")

    async def _show_transcript(self, timeline: Timeline, turn: TimelineTurn) -> None:
        transcript = self.query_one(Transcript)
        await transcript.reset([entry_from_row(r) for r in timeline.transcript(turn.number)])
        current = {f"row-{m['id']}" for m in turn.messages}
        first = None
        for i, item in enumerate(transcript.query(MessageItem)):
            if item.entry.get("uid") in current:
                item.add_class("step-current")
                first = i if first is None else first
        if first is not None:
            transcript.index = first
            transcript.scroll_to_widget(transcript.children[first], animate=False)

    @on(TimelineList.Highlighted, "#step-timeline")
    async def _highlighted(self, event: TimelineList.Highlighted) -> None:
        item = event.item
        number = getattr(item, "number", None)
        if number is not None and number != self.number:
            await self.show_turn(number)

    # -- live --------------------------------------------------------------------------------
    @on(RuntimeEvent)
    def _runtime(self, message: RuntimeEvent) -> None:
        ev = message.event
        session = ev.session
        if session is not None and session.conversation_id == self.conversation_id and ev.kind in LIVE_KINDS:
            if ev.kind != "message" or ev.fields.get("committed"):
                self.load()

    # -- actions -----------------------------------------------------------------------------
    def _move(self, delta: int | None = None, to: int | None = None) -> None:
        timeline = self.query_one(TimelineList)
        if not timeline.numbers:
            return
        if to is None:
            at = timeline.index if timeline.index is not None else len(timeline.numbers) - 1
            to = max(0, min(len(timeline.numbers) - 1, at + (delta or 0)))
        timeline.index = to

    def action_back(self) -> None:
        self._move(-1)

    def action_forward(self) -> None:
        self._move(+1)

    def action_first(self) -> None:
        self._move(to=0)

    def action_last(self) -> None:
        self._move(to=len(self.query_one(TimelineList).numbers) - 1)

    def go_to(self, number: int) -> bool:
        """Show turn ``number`` (False when the conversation has no such turn)."""
        position = self.query_one(TimelineList).position(number)
        if position is None:
            return False
        self._move(to=position)
        return True

    def action_jump(self) -> None:
        if self.timeline is None or not self.timeline.turns:
            return
        from workbench.screens.turn_prompt import TurnPrompt

        def chosen(number: int | None) -> None:
            if number is not None and not self.go_to(number):
                self.notify(f"There is no turn {number}.", severity="warning")

        self.app.push_screen(TurnPrompt(self.timeline.numbers, self.number), chosen)

    def action_fork(self) -> None:
        if self.number is not None:
            self.fork(self.number)

    @work(thread=True, exit_on_error=False, group="step-fork", name="fork-conversation")
    def fork(self, number: int) -> None:
        from workbench.runtime.fork import fork_conversation

        try:
            new = fork_conversation(self.store, self.conversation_id, number)
        except Exception as exc:
            self.post_message(self.Failed(f"fork turn {number}", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Forked(new))

    @on(Forked)
    def _forked(self, message: Forked) -> None:
        self.notify(f"Forked as conversation {message.conversation_id} from turn {self.number}.")
        self.dismiss(message.conversation_id)

    def action_save_test(self) -> None:
        if self.timeline is None or self.number is None:
            return
        from workbench.screens.path_prompt import PathPrompt

        number = self.number
        folder = self.wb_task.path(self.wb_task.spec.tests)
        default = folder / f"{self.conversation_id}-turn{number}.yml"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.save_test(path, number)

        self.app.push_screen(
            PathPrompt(f"Save the conversation up to turn {number} as a test:", str(default), action="Save"), chosen
        )

    @work(thread=True, exit_on_error=False, group="step-save", name="save-conversation-test")
    def save_test(self, path: Path, number: int) -> None:
        from workbench.testing.from_conversation import conversation_test, save_test

        try:
            assert self.timeline is not None
            save_test(path, conversation_test(self.timeline, number))
        except Exception as exc:
            self.post_message(self.Failed(f"save {path}", f"{type(exc).__name__}: {exc}"))
            return
        self.notify(f"Saved the conversation up to turn {number} as a test: {path}")

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.notify(f"Could not {message.what}: {message.error}", severity="error", timeout=10)

    def action_close(self) -> None:
        self.dismiss(None)


def _facts(timeline: Timeline, engines: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Each turn's facts per bot, from the engines that can tell (DebuggableBot)."""
    out: dict[int, dict[str, Any]] = {}
    before: dict[str, Any] = {}
    for t in timeline.turns:
        for bot, at in t.bots.items():
            engine = engines.get(bot)
            if isinstance(engine, DebuggableBot) and at.state is not None and at.trace is not None:
                out.setdefault(t.number, {})[bot] = engine.turn_facts(before.get(bot), at.state, at.trace)
            if at.state is not None:
                before[bot] = at.state
    return out


def _entered(facts: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(s for f in facts.values() for s in f.entered))


def _json(value: Any) -> Any:
    import json

    from rich.json import JSON

    return JSON(json.dumps(value, default=str, ensure_ascii=False))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
