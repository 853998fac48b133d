"""Pilot helpers for the TUI's functional and snapshot tests: a conversation ready in the chat,
sending through the composer, reading what widgets show, the serve screen's controls, the
notifications an app emitted, a steady cursor (snapshots and polling need no blink) and a fixed
"today" (a snapshot that shows a relative date must not change with the day it runs).

Every wait is bounded (``support.until``)."""

from __future__ import annotations

import datetime as dt
import io
import types
from collections.abc import Iterable
from typing import Any

import pytest
from rich.console import Console
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Input, Static, TextArea

from support import until
from workbench.screens.serve import ServeScreen
from workbench.tui.app import WorkbenchApp
from workbench.widgets.server_log import ServerLog
from workbench.widgets.session_table import SessionTable
from workbench.widgets.transcript import MessageItem, Transcript


def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs and text areas start with a cursor that does not blink (their reactive's default):
    a blink timer would repaint while a test polls, and a snapshot would catch either phase."""
    for widget in (Input, TextArea):
        monkeypatch.setattr(widget.cursor_blink, "_default", False)


def fixed_today(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    """Relative dates ("tonight", "tomorrow") resolve against ``day`` instead of the clock's."""
    from workbench.engines.nlu import dates

    class Day(dt.date):
        @classmethod
        def today(cls) -> Day:
            return cls(day.year, day.month, day.day)

    monkeypatch.setattr(dates, "dt", types.SimpleNamespace(date=Day, timedelta=dt.timedelta))


# -- the chat ---------------------------------------------------------------------------------


def session(app: WorkbenchApp) -> Any:
    """The session of the person shown in the chat (None before the store opens)."""
    p = app.chat.person if getattr(app, "chat", None) is not None else None
    return p.session if p is not None else None


async def ready(pilot: Pilot, app: WorkbenchApp, world: str | None = None) -> None:
    """Wait for the chat's conversation to be live (in ``world`` when given)."""
    await until(pilot, lambda: session(app) is not None and session(app).world is not None, what="a conversation")
    if world:
        await until(pilot, lambda: session(app).world == world, what=f"world {world}")


def items(app: WorkbenchApp, screen: Any = None) -> list[MessageItem]:
    return list((screen or app.chat).query_one(Transcript).query(MessageItem))


def texts(app: WorkbenchApp, screen: Any = None) -> list[str]:
    """The texts of the transcript of the chat (or of ``screen``), in order."""
    return [str(i.entry["act"].get("text") or "") for i in items(app, screen)]


async def send(
    pilot: Pilot, app: WorkbenchApp, text: str, expect: str, timeout: float = 10.0, type_it: bool = False
) -> None:
    """Put ``text`` in the composer (typed key by key with ``type_it``), press Enter, and wait
    until a message containing ``expect`` is in the transcript."""
    composer = app.chat.query_one("#composer", Input)
    composer.focus()
    if type_it:
        await pilot.press(*text)
    else:
        composer.value = text
    await pilot.press("enter")
    await until(pilot, lambda: any(expect in t for t in texts(app)), timeout, what=f"{expect!r} in the transcript")


def quick_replies(app: WorkbenchApp) -> list[str]:
    return [str(b.label) for b in app.chat.query("#quick-replies Button")]


async def click_quick_reply(pilot: Pilot, app: WorkbenchApp, label: str) -> None:
    """Click the quick-reply button ``label`` once it is laid out (a click lands on its region)."""

    def button() -> Button | None:
        return next((b for b in app.chat.query("#quick-replies Button") if str(b.label) == label), None)

    await until(pilot, lambda: button() is not None and button().region.area > 0, what=f"the {label!r} button")
    assert await pilot.click(button())


# -- reading widgets ----------------------------------------------------------------------------


def shown(widget: Widget, width: int = 200) -> str:
    """The plain text a Static shows, whatever it renders (a string, Rich text, JSON, tables)."""
    content = widget.content if hasattr(widget, "content") else widget.render()
    if isinstance(content, str):
        return content
    for inner in (content, getattr(content, "text", None)):
        if hasattr(inner, "plain"):
            return inner.plain
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(content)
    return console.export_text()


def screen_lines(app: WorkbenchApp) -> list[str]:
    """The screen as text, one string a line, as the terminal shows it now (the text captures of
    the issue-14 report come from here)."""
    return [strip.text.rstrip() for strip in app.screen._compositor.render_strips()]


def notifications(messages: Iterable[Message]) -> list[str]:
    """What the app notified, from the messages a ``message_hook`` collected."""
    return [str(m.notification.message) for m in messages if isinstance(m, Notify)]


# -- the serve screen ---------------------------------------------------------------------------


def transcript_texts(screen: ServeScreen) -> list[str]:
    return [str(i.entry["act"].get("text") or "") for i in screen.query_one(Transcript).query(MessageItem)]


def table_rows(screen: ServeScreen) -> list[list[str]]:
    table = screen.query_one(SessionTable)
    return [[str(c) for c in table.get_row(key)] for key in table.rows]


def log_text(screen: ServeScreen) -> str:
    return "\n".join(text for _, text in screen.query_one(ServerLog).entries)


async def open_serve(pilot: Pilot, app: WorkbenchApp, port: int) -> ServeScreen:
    """Ctrl+S from the chat, once the store is open; the port field set to ``port``."""
    await until(pilot, lambda: app.runner is not None, what="the store")
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, ServeScreen), what="the serve screen")
    screen = app.screen
    screen.query_one("#serve-port", Input).value = str(port)
    return screen


async def start_serving(pilot: Pilot, screen: ServeScreen) -> None:
    """F5, and wait until the screen says the server runs."""
    await pilot.press("f5")
    await until(pilot, lambda: screen.live.state == "running", what="the server to start")
    await until(pilot, lambda: "running at http://127.0.0.1:" in shown(screen.query_one("#serve-status", Static)))


async def type_reply(pilot: Pilot, screen: ServeScreen, text: str) -> None:
    """Type the developer's answer in the reply box, once it opens, and press Enter."""
    reply = screen.query_one("#serve-reply", Input)
    await until(pilot, lambda: not reply.disabled, what="the reply box to open")
    reply.focus()
    await pilot.pause()
    await pilot.press(*text)
    await pilot.press("enter")
