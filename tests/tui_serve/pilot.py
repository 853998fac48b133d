"""Pilot helpers of the serve-screen tests: open the screen, start the server, read widgets."""

from __future__ import annotations

from support import until  # noqa: F401  (shared by this folder's tests)
from textual.widgets import Input, Static

from workbench.screens.serve import ServeScreen
from workbench.store import Store, open_store
from workbench.task import load_task
from workbench.tui.app import WorkbenchApp
from workbench.widgets.server_log import ServerLog
from workbench.widgets.session_table import SessionTable
from workbench.widgets.transcript import MessageItem, Transcript

SIZE = (160, 48)


def make_app(task_dir, tmp_path) -> tuple[WorkbenchApp, Store]:
    store = open_store(tmp_path / "tui.db")
    return WorkbenchApp(load_task(task_dir), store=store), store


def shown(static: Static) -> str:
    content = static.content
    text = getattr(content, "text", content)
    return getattr(text, "plain", str(text))


def transcript_texts(screen: ServeScreen) -> list[str]:
    return [str(i.entry["act"].get("text") or "") for i in screen.query_one(Transcript).query(MessageItem)]


def table_rows(screen: ServeScreen) -> list[list[str]]:
    table = screen.query_one(SessionTable)
    return [[str(c) for c in table.get_row(key)] for key in table.rows]


def log_text(screen: ServeScreen) -> str:
    return "\n".join(text for _, text in screen.query_one(ServerLog).entries)


async def open_serve(pilot, app: WorkbenchApp, port: int) -> ServeScreen:
    await until(pilot, lambda: app.runner is not None, what="the store")
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, ServeScreen), what="the serve screen")
    screen = app.screen
    screen.query_one("#serve-port", Input).value = str(port)
    return screen


async def start(pilot, screen: ServeScreen) -> None:
    await pilot.press("f5")
    await until(pilot, lambda: screen.live.state == "running", what="the server to start")
    await until(pilot, lambda: "running at http://127.0.0.1:" in shown(screen.query_one("#serve-status", Static)))


async def type_reply(pilot, screen: ServeScreen, text: str) -> None:
    reply = screen.query_one("#serve-reply", Input)
    await until(pilot, lambda: not reply.disabled, what="the reply box to open")
    reply.focus()
    await pilot.pause()
    await pilot.press(*text)
    await pilot.press("enter")
