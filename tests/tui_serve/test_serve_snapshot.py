"""An SVG snapshot of the serve screen's layout before the server starts (pytest-textual-snapshot).

Update after a deliberate change with `pytest tests/tui_serve --snapshot-update`.
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input

from workbench.screens.serve import ServeScreen
from workbench.store import open_store
from workbench.task import load_task
from workbench.tui.app import WorkbenchApp

from .helpers import copy_sample

SIZE = (120, 32)


@pytest.fixture
def echo_app(tmp_path, monkeypatch):
    task = load_task(copy_sample("echo", tmp_path))
    monkeypatch.chdir(tmp_path)
    store = open_store("snapshot.db")
    yield WorkbenchApp(task, store=store)
    store.close()


def test_serve_screen_before_starting(snap_compare, echo_app) -> None:
    async def run_before(pilot) -> None:
        deadline = time.monotonic() + 10
        while echo_app.runner is None:
            assert time.monotonic() < deadline, "the store did not open"
            await pilot.pause(0.02)
        await pilot.press("ctrl+s")
        while not isinstance(echo_app.screen, ServeScreen):
            assert time.monotonic() < deadline, "the serve screen did not open"
            await pilot.pause(0.02)
        for field in echo_app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.05)

    assert snap_compare(echo_app, terminal_size=SIZE, run_before=run_before)
