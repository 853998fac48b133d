"""ServeScreen: run the task's server from the TUI, watch live conversations, take one over.

The server runs in the app's own loop (:class:`workbench.services.live.LiveServer`); this
screen renders its events and calls its methods, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from workbench.runtime.takeover import bot_worlds
from workbench.services.live import DEFAULT_HOST, DEFAULT_PORT, LiveServer, ServeError
from workbench.widgets.server_log import ServerLog
from workbench.widgets.session_table import SessionTable
from workbench.widgets.transcript import Transcript


def _source(logger: str) -> str:
    """A short name for where a log line came from: ``uvicorn``, ``services.messenger``…"""
    if logger.startswith("uvicorn"):
        return "uvicorn"
    return logger.removeprefix("workbench.")


class ServeScreen(Screen):
    """Server controls, live sessions, the open conversation (read-only unless taken over), the log."""

    CSS_PATH = "serve.tcss"
    BINDINGS = [
        Binding(
            "f5",
            "toggle_server",
            "Start/stop",
            id="serve.toggle_server",
            tooltip="Start the server on the host and port shown, or stop it gracefully",
        ),
        Binding(
            "f6",
            "toggle_takeover",
            "Take over",
            id="serve.toggle_takeover",
            tooltip="Answer in the bot's place in the open conversation, or hand it back to the bot",
        ),
        Binding("escape", "back", "Back", id="serve.back", tooltip="Back to the chat; the server keeps running"),
        Binding(
            "f12",
            "breakpoints",
            "Breakpoints",
            show=False,
            id="serve.breakpoints",
            tooltip="Hold the served bot's turns at breakpoints, edit a held state, continue (docs/debugging.md)",
        ),
    ]

    class LiveEvent(Message):
        """Something the live server or its runner reported."""

        def __init__(self, event: Any) -> None:
            super().__init__()
            self.event = event

    def __init__(
        self,
        task: Any,
        store: Any = None,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        live: LiveServer | None = None,
    ) -> None:
        super().__init__()
        self.wb_task = task
        self.live = live or LiveServer(task, store=store)
        self.host = host
        self.port = port
        #: the conversation shown on the right
        self.opened: str | None = None
        self._shown: set[str] = set()
        self._unsubscribe: Callable[[], None] | None = None

    # -- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="serve-bar"):
            yield Label("Host", classes="serve-label")
            yield Input(self.host, id="serve-host", compact=True)
            yield Label("Port", classes="serve-label")
            yield Input(str(self.port), id="serve-port", type="integer", compact=True)
            yield Button("Start", id="serve-toggle", variant="success", compact=True)
            yield Static("stopped", id="serve-status")
        with Horizontal(id="serve-body"):
            with Vertical(id="serve-left"):
                yield Static("Live sessions", classes="serve-heading")
                yield SessionTable(id="serve-sessions")
            with Vertical(id="serve-right"):
                yield Static("Select a session to watch its conversation.", id="serve-title")
                yield Transcript(id="serve-transcript")
                yield Input(placeholder="Take over (F6) to answer in the bot's place", id="serve-reply", disabled=True)
        log = ServerLog(id="serve-log")
        log.border_title = "Server log"
        yield log
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"workbench · {self.wb_task.name} · serve"
        self._unsubscribe = self.live.subscribe(lambda ev: self.post_message(self.LiveEvent(ev)))
        self.set_interval(1.0, self._refresh_sessions, name="idle-times")
        self._render_state()
        self._refresh_sessions()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    # -- server -------------------------------------------------------------------
    def _address(self) -> tuple[str, int] | None:
        host = self.query_one("#serve-host", Input).value.strip() or DEFAULT_HOST
        raw = self.query_one("#serve-port", Input).value.strip()
        if not raw.isdigit() or not 0 <= int(raw) <= 65535:
            self.notify(f"The port must be a number from 0 to 65535, not {raw!r}.", severity="error")
            return None
        return host, int(raw)

    def action_toggle_server(self) -> None:
        if self.live.state in ("running",):
            self.run_worker(self.live.stop(), group="serve", exclusive=True, exit_on_error=False, name="stop-server")
        elif self.live.state == "stopped":
            address = self._address()
            if address is not None:
                self.host, self.port = address
                self.run_worker(
                    self._start(*address), group="serve", exclusive=True, exit_on_error=False, name="start-server"
                )

    async def _start(self, host: str, port: int) -> None:
        try:
            await self.live.start(host, port)
        except ServeError:
            pass  # reported by the live server's server_error event

    @on(Button.Pressed, "#serve-toggle")
    def _toggle_pressed(self) -> None:
        self.action_toggle_server()

    # -- events -------------------------------------------------------------------
    @on(LiveEvent)
    def _on_live(self, message: ServeScreen.LiveEvent) -> None:
        ev = message.event
        kind, fields = ev.kind, ev.fields
        cid = getattr(ev.session, "conversation_id", None)
        log = self.query_one(ServerLog)
        if kind == "server":
            self._render_state()
            if fields.get("state") == "running":
                log.add("info", f"serving {self.wb_task.name} at {fields.get('url')}")
                self.notify(f"Serving at {fields.get('url')}", title="Server started")
            elif fields.get("state") == "stopped":
                log.add("info", "server stopped")
            self._refresh_sessions()
        elif kind == "server_error":
            log.add("error", str(fields.get("error")))
            self.notify(str(fields.get("error")), title="Server", severity="error", timeout=10)
            self._render_state()
        elif kind == "log":
            log.add(fields.get("level", "info"), f"{_source(str(fields.get('logger')))}: {fields.get('text')}")
        elif kind == "error":
            text = f"conversation {cid}: {fields.get('error')}" if cid else str(fields.get("error"))
            log.add("error", text)
            self.notify(text, title="Runtime error", severity="error", timeout=10)
        elif kind in ("session_start", "session_end", "world", "takeover"):
            self._refresh_sessions()
            if kind == "session_start":
                log.add("info", f"{ev.session.person} joined on {ev.session.channel} (conversation {cid})")
            if cid is not None and cid == self.opened:
                self._render_opened()
        elif kind == "message" and cid is not None and cid == self.opened:
            entry = fields.get("entry")
            if entry is not None and entry["uid"] not in self._shown:
                self._shown.add(entry["uid"])
                self.query_one(Transcript).add(entry)
        elif kind == "acknowledged" and cid is not None and cid == self.opened:
            self.query_one(Transcript).acknowledge(fields["record"].message.uid)

    def _render_state(self) -> None:
        state = self.live.state
        status = self.query_one("#serve-status", Static)
        if state == "running":
            status.update(f"running at {self.live.url} · {len(self.live.sessions())} live")
        elif self.live.error and state == "stopped":
            status.update(f"stopped: {self.live.error}")
        else:
            status.update(state)
        button = self.query_one("#serve-toggle", Button)
        button.label = "Stop" if state in ("running", "stopping") else "Start"
        button.variant = "error" if state in ("running", "stopping") else "success"
        button.disabled = state in ("starting", "stopping")
        for field in ("#serve-host", "#serve-port"):
            self.query_one(field, Input).disabled = state != "stopped"

    def _refresh_sessions(self) -> None:
        rows = self.live.sessions()
        self.query_one(SessionTable).show(rows)
        if self.live.state == "running":
            self.query_one("#serve-status", Static).update(f"running at {self.live.url} · {len(rows)} live")

    # -- the open conversation ----------------------------------------------------------
    @on(SessionTable.RowSelected, "#serve-sessions")
    async def _row_selected(self, event: SessionTable.RowSelected) -> None:
        await self.open(str(event.row_key.value))

    async def open(self, conversation_id: str) -> None:
        """Show ``conversation_id``'s transcript, updated live."""
        self.opened = conversation_id
        entries = self.live.transcript(conversation_id)
        self._shown = {e["uid"] for e in entries}
        await self.query_one(Transcript).reset(entries)
        self._render_opened()

    def _render_opened(self) -> None:
        cid = self.opened
        title = self.query_one("#serve-title", Static)
        reply = self.query_one("#serve-reply", Input)
        if cid is None:
            return
        session = self.live.session(cid)
        takeover = self.live.takeovers.get(cid)
        live = session is not None and not session.closed and self.live.state == "running"
        where = (
            f"{session.person} on {session.channel} · world {session.world or '…'}" if session is not None else "gone"
        )
        if not live:
            state = "ended"
        elif takeover is not None and takeover.active:
            if takeover.waiting is not None:
                state = "YOUR TURN: the person waits for your answer (F6 hands back)"
            elif not takeover.supported:
                state = "taken over; you answer once they are in a bot_chat world (F6 hands back)"
            else:
                state = "taken over: you answer for the bot (F6 hands back)"
        else:
            state = "watching, read-only (F6 takes over)"
        title.update(f"{state} · conversation {cid} · {where}")
        reply.disabled = not (live and takeover is not None and takeover.active)
        reply.placeholder = (
            "Type the bot's answer and press Enter"
            if not reply.disabled
            else "Take over (F6) to answer in the bot's place"
        )

    def action_toggle_takeover(self) -> None:
        cid = self.opened
        if not bot_worlds(self.wb_task):
            worlds = ", ".join(self.wb_task.worlds)
            self.notify(
                f"This task has no bot_chat world, so there is no bot to take over (its worlds: {worlds}).",
                severity="warning",
                timeout=10,
            )
            return
        if cid is None:
            self.notify("Open a live session first (select it in the list).", severity="warning")
            return
        takeover = self.live.takeovers.get(cid)
        if takeover is not None and takeover.active:
            self.live.hand_back(cid)
            self.notify("Handed back to the bot.")
            self._render_opened()
            return
        try:
            takeover = self.live.take_over(cid)
        except LookupError as exc:
            self.notify(f"Cannot take over: {exc}.", severity="warning")
            return
        if not takeover.supported:
            session = self.live.session(cid)
            self.notify(
                f"{session.person} is in world {session.world!r}, which is not a bot_chat world; "
                "you will answer once they reach one.",
                severity="warning",
                timeout=8,
            )
        else:
            self.notify("You answer for the bot now; F6 hands the conversation back.")
        self._render_opened()
        self.query_one("#serve-reply", Input).focus()

    @on(Input.Submitted, "#serve-reply")
    def _reply(self, event: Input.Submitted) -> None:
        text = event.value
        cid = self.opened
        if not text.strip() or cid is None:
            return
        event.input.value = ""
        self.run_worker(self._answer(cid, text), group="takeover", exit_on_error=False, name="answer")

    async def _answer(self, cid: str, text: str) -> None:
        try:
            await self.live.answer(cid, text)
        except LookupError as exc:
            self.notify(f"Not sent: {exc}.", severity="warning")

    def action_breakpoints(self) -> None:
        """The running server's breakpoints (its runner's; a restart starts without any)."""
        if self.live.runner is None:
            self.notify("Start the server first (F5).", severity="warning")
            return
        from workbench.screens.breakpoints import BreakpointsScreen

        self.app.push_screen(BreakpointsScreen(self.wb_task, self.live.runner, self.opened))

    # -- leaving -------------------------------------------------------------------
    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
