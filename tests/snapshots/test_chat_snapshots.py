"""SVG snapshots of the chat screen on the echo task (pytest-textual-snapshot).

What varies between runs is frozen: conversation and world-instance ids come from a
counter, the store path is relative, the terminal size is fixed and the cursor does
not blink (tests/snapshots/conftest.py). Update after a deliberate change with
`pytest tests/snapshots --snapshot-update`.
"""

from __future__ import annotations

import itertools

import pytest
from support import copy_sample, until
from support.tui import items, session, shown
from textual.widgets import Input

from workbench.store import open_store
from workbench.tui.app import make_app

SIZE = (110, 30)


@pytest.fixture
def echo_app(tmp_path, monkeypatch):
    counter = itertools.count(1)

    def fixed_id() -> str:
        return f"id{next(counter):010d}"

    monkeypatch.setattr("workbench.store.base.new_id", fixed_id)
    monkeypatch.setattr("workbench.runtime.runner.new_id", fixed_id)
    task = copy_sample("echo", tmp_path)
    monkeypatch.chdir(tmp_path)
    store = open_store("snapshot.db")  # a relative path: the inspector shows it as is
    yield make_app(task, store)
    store.close()


def _conversation_ready(app) -> bool:
    return session(app) is not None and session(app).world == "echo"


def test_chat_screen_on_start(snap_compare, echo_app) -> None:
    async def run_before(pilot) -> None:
        await until(pilot, lambda: _conversation_ready(echo_app) and echo_app.first_paint is not None)

    assert snap_compare(echo_app, terminal_size=SIZE, run_before=run_before)


def test_chat_screen_after_a_turn(snap_compare, echo_app) -> None:
    async def run_before(pilot) -> None:
        await until(pilot, lambda: _conversation_ready(echo_app))
        echo_app.chat.query_one("#composer", Input).value = "hello"
        await pilot.press("enter")
        await until(pilot, lambda: len(items(echo_app)) == 2 and all(i.entry["stored"] for i in items(echo_app)))
        await until(pilot, lambda: '"turns": 1' in shown(echo_app.chat.query_one("#inspect-state")))

    assert snap_compare(echo_app, terminal_size=SIZE, run_before=run_before)
