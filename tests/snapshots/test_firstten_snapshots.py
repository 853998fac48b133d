"""SVG snapshots of the chat at 80x24 and 160x48 (issue 14, point 1): the restaurant with its
slot tab, the helpdesk with its table tab, each after the first exchange.

Ids come from a counter, the store path is relative, the cursor does not blink
(tests/snapshots/conftest.py). Update after a deliberate change with
`pytest tests/snapshots --snapshot-update`.
"""

from __future__ import annotations

import itertools

import pytest
from support import copy_sample, until
from support.tui import items, quick_replies, session
from textual.widgets import Input

from workbench.store import open_store
from workbench.tui.app import make_app
from workbench.widgets.inspector import Inspector
from workbench.widgets.slot_panel import SlotPanel
from workbench.widgets.state_panel import StatePanel

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


@pytest.fixture
def sample_app(tmp_path, monkeypatch):
    counter = itertools.count(1)

    def fixed_id() -> str:
        return f"id{next(counter):010d}"

    monkeypatch.setattr("workbench.store.base.new_id", fixed_id)
    monkeypatch.setattr("workbench.runtime.runner.new_id", fixed_id)
    monkeypatch.chdir(tmp_path)
    stores = []

    def make(sample: str):
        task = copy_sample(sample, tmp_path)
        store = open_store(f"{sample}.db")  # a relative path: the inspector shows it as is
        stores.append(store)
        return make_app(task, store)

    yield make
    for store in stores:
        store.close()


def _exchange(app, world: str, text: str, reply: str, panel_type: type, tab: str, settled):
    async def run_before(pilot) -> None:
        await until(pilot, lambda: session(app) is not None and session(app).world == world)
        await until(pilot, lambda: len(items(app)) >= 1, what="the greeting")
        app.chat.query_one("#composer", Input).value = text
        await pilot.press("enter")
        await until(
            pilot,
            lambda: (
                any(i.entry["act"].get("text") == reply for i in items(app))
                and all(i.entry["stored"] for i in items(app) if i.entry["role"] == "human")
            ),
            what="the reply, acknowledged",
        )
        panel = app.chat.query_one(panel_type)
        await until(pilot, lambda: panel.view is not None and settled(panel.view), what="the panel")
        app.chat.query_one(Inspector).active = tab
        await until(pilot, lambda: app.first_usable is not None)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_firstten_restaurant_with_the_slot_tab(snap_compare, sample_app, size) -> None:
    app = sample_app("restaurant")
    run_before = _exchange(
        app,
        "booking",
        "I want to book a table for two tonight",
        "What price range?",
        SlotPanel,
        "tab-bot-booking",
        lambda v: v.slots.requested_slot == "price",
    )

    async def with_buttons(pilot) -> None:
        await run_before(pilot)
        await until(pilot, lambda: quick_replies(app) == ["low", "medium", "high"])
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZES[size], run_before=with_buttons)


@pytest.mark.parametrize("size", SIZES)
def test_firstten_helpdesk_with_the_table_tab(snap_compare, sample_app, size) -> None:
    app = sample_app("helpdesk")
    run_before = _exchange(
        app,
        "help",
        "I have a problem with my account",
        "What seems to be the problem exactly?",
        StatePanel,
        "tab-bot-desk",
        lambda v: v.turn == 1,
    )

    async def with_buttons(pilot) -> None:
        await run_before(pilot)
        await until(pilot, lambda: len(quick_replies(app)) == 5)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZES[size], run_before=with_buttons)
