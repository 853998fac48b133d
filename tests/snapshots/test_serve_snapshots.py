"""An SVG snapshot of the serve screen's layout before the server starts (pytest-textual-snapshot).

Fixed terminal size, no cursor blink (tests/snapshots/conftest.py), a relative store path.
Update after a deliberate change with `pytest tests/snapshots --snapshot-update`.
"""

from __future__ import annotations

import pytest
from support import copy_sample, until

from workbench.screens.serve import ServeScreen
from workbench.store import open_store
from workbench.tui.app import make_app

SIZE = (120, 32)


@pytest.fixture
def echo_app(tmp_path, monkeypatch):
    task = copy_sample("echo", tmp_path)
    monkeypatch.chdir(tmp_path)
    store = open_store("snapshot.db")
    yield make_app(task, store)
    store.close()


def test_serve_screen_before_starting(snap_compare, echo_app) -> None:
    async def run_before(pilot) -> None:
        await until(pilot, lambda: echo_app.runner is not None, what="the store")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(echo_app.screen, ServeScreen), what="the serve screen")

    assert snap_compare(echo_app, terminal_size=SIZE, run_before=run_before)
