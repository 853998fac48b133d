"""The headless side of the slot panel: values typed by hand, and the live panel of a turn with
the last message's understanding (a chain's trace holds the form bot's)."""

from __future__ import annotations

from support import copy_sample

from workbench.engines.base import Context
from workbench.engines.form.live_panel import live_panel, understanding_of, value_from_text
from workbench.message import Message
from workbench.store import open_store
from workbench.task import load_task


def test_values_typed_by_hand() -> None:
    assert value_from_text("4") == 4 and value_from_text("2.5") == 2.5
    assert value_from_text("true") is True and value_from_text("false") is False
    assert value_from_text('"4"') == "4" and value_from_text(" mexican ") == "mexican"
    assert value_from_text("") is None and value_from_text("null") is None
    assert value_from_text("[1, 2]") == [1, 2] and value_from_text("-x") == "-x"


def test_live_panel_adds_the_last_understanding(tmp_path) -> None:
    task = load_task(copy_sample("restaurant", tmp_path))
    task.use_store(open_store(tmp_path / "s.db"))
    engine = task.engine("booking")
    turn = engine.step(engine.initial_state(), Message(text="mexican food in london"), Context(bot="booking"))
    panel = live_panel(engine, turn.state, turn.trace, "booking")
    u = panel.understanding
    assert u is not None and u.text == "mexican food in london" and u.ranking
    assert {(e["entity"], e["value"]) for e in u.entities} >= {("cuisine", "mexican"), ("location", "london")}
    assert panel.slots.form == "restaurant" and panel.slots.requested_slot == "price"
    assert panel.decisions
    # a chain's trace holds the form bot's
    assert understanding_of({"engine": "chain", "traces": {"booking": turn.trace}}).intent == u.intent
    assert understanding_of({"engine": "decision_table"}) is None
