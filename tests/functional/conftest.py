"""Pilot tests of the TUI: every Input and TextArea starts with a steady cursor."""

import pytest
from support.tui import steady_cursor


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    steady_cursor(monkeypatch)
