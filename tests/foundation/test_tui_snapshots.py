"""SVG snapshots of the chat screen on the echo task (pytest-textual-snapshot).

What varies between runs is frozen: conversation and world-instance ids come from a
counter, the store path is relative, the terminal size is fixed and the cursor does
not blink. Update after a deliberate change with `pytest --snapshot-update`.
"""

from __future__ import annotations

import itertools
import time

import pytest
from textual.widgets import Input

from workbench.store import open_store
from workbench.task import load_task
from workbench.tui.app import WorkbenchApp
from workbench.widgets.transcript import MessageItem, Transcript

from .helpers import copy_sample

SIZE = (110, 30)


@pytest.fixture
def echo_app(tmp_path, monkeypatch):
    counter = itertools.count(1)

    def fixed_id() -> str:
        return f"id{next(counter):010d}"

    monkeypatch.setattr("workbench.store.base.new_id", fixed_id)
    monkeypatch.setattr("workbench.runtime.runner.new_id", fixed_id)
    task = load_task(copy_sample("echo", tmp_path))
    monkeypatch.chdir(tmp_path)
    store = open_store("snapshot.db")  # a relative path: the inspector shows it as is
    yield WorkbenchApp(task, store=store)
    store.close()


async def _settle(pilot, predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the app did not settle"
        await pilot.pause(0.02)


def _conversation_ready(app) -> bool:
    p = getattr(app, "chat", None) and app.chat.person
    return bool(p and p.session and p.session.world == "echo")


def _entries(app) -> list[dict]:
    return [i.entry for i in app.chat.query_one(Transcript).query(MessageItem)]


def test_chat_screen_on_start(snap_compare, echo_app) -> None:
    async def run_before(pilot) -> None:
        await _settle(pilot, lambda: _conversation_ready(echo_app) and echo_app.first_paint is not None)
        echo_app.chat.query_one("#composer", Input).cursor_blink = False

    assert snap_compare(echo_app, terminal_size=SIZE, run_before=run_before)


def test_chat_screen_after_a_turn(snap_compare, echo_app) -> None:
    async def run_before(pilot) -> None:
        await _settle(pilot, lambda: _conversation_ready(echo_app))
        composer = echo_app.chat.query_one("#composer", Input)
        composer.cursor_blink = False
        composer.value = "hello"
        await pilot.press("enter")
        await _settle(pilot, lambda: len(_entries(echo_app)) == 2 and all(e["stored"] for e in _entries(echo_app)))
        await _settle(pilot, lambda: '"turns": 1' in str(echo_app.chat.query_one("#inspect-state").content.text.plain))

    assert snap_compare(echo_app, terminal_size=SIZE, run_before=run_before)
