"""A bot's engine state set by hand in a live conversation (what the slot panel's dialog does):
the live bot continues from it, the store keeps it, a state event says it was by hand."""

from __future__ import annotations

from support import copy_sample

from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task


async def test_set_bot_state_reaches_the_live_bot_and_the_store(tmp_path) -> None:
    task = load_task(copy_sample("restaurant", tmp_path))
    store = open_store(tmp_path / "s.db")
    task.use_store(store)
    runner = Runner(task, store)
    events = []
    runner.subscribe(lambda ev: events.append(ev) if ev.kind == "state" else None)
    got: list[str] = []
    s = await runner.connect(lambda m: got.append(m.text), person="p")
    try:
        s.put("I'm looking for a restaurant")
        assert await runner.wait_idle([s], timeout=10)
        state = runner.bot_state(s.conversation_id, "booking")
        assert state["requested_slot"] == "price"
        engine = task.engine("booking")
        live = await runner.set_bot_state(s.conversation_id, "booking", engine.set_slot(state, "price", "low"))
        assert live is True
        assert store.state(s.conversation_id, "booking")["slots"]["price"] == "low"
        assert events[-1].fields["by_hand"] is True and events[-1].fields["trace"] is None
        # the next turn starts from the state set by hand: price is not asked again
        s.put("mexican food in london")
        assert await runner.wait_idle([s], timeout=10)
        assert got[-1] == "How many people will you be?"
    finally:
        await runner.stop()
    # no live bot: only the store takes it
    assert await runner.set_bot_state(s.conversation_id, "booking", {"slots": {}}) is False
    assert store.state(s.conversation_id, "booking") == {"slots": {}}
    assert store.last_trace(s.conversation_id, "booking")["engine"] == "form"
    store.close()
