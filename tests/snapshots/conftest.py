"""SVG snapshots of the TUI: every Input and TextArea starts with a steady cursor, and "today"
is the day the snapshots were made (the restaurant's slot panel shows the date "tonight" means)."""

import datetime as dt

import pytest
from support.tui import fixed_today, steady_cursor

#: the day the snapshots were made
SNAPSHOT_DAY = dt.date(2026, 11, 30)


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    steady_cursor(monkeypatch)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed_today(monkeypatch, SNAPSHOT_DAY)
