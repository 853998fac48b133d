"""The slot panel during a restaurant chat: values, who filled them and how, required or
not and why, the requested slot, turns against max_turns, the last message's intent
ranking and entities; setting and clearing a slot by hand changes the next turn."""

from __future__ import annotations

from support import copy_sample, until
from support.tui import ready, send, session, shown
from textual.widgets import Input, Select

from workbench.screens.set_slot import SetSlotScreen
from workbench.tui.app import make_app
from workbench.widgets.inspector import Inspector
from workbench.widgets.slot_panel import SlotPanel

SIZE = (150, 48)


def row(panel: SlotPanel, slot: str):
    return next(r for r in panel.view.slots.rows if r.name == slot)


async def set_by_hand(pilot, app, slot: str, text: str | None) -> None:
    """F7, choose ``slot``, then type ``text`` and Enter (None: press "Clear the slot")."""
    await pilot.press("f7")
    await until(pilot, lambda: isinstance(app.screen, SetSlotScreen), what="the set-slot dialog")
    dialog = app.screen
    dialog.query_one("#set-slot-name", Select).value = slot
    await pilot.pause()
    if text is None:
        await pilot.click("#set-slot-clear")
    else:
        dialog.query_one("#set-slot-value", Input).value = text
        dialog.query_one("#set-slot-value", Input).focus()
        await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, SetSlotScreen), what="the dialog closed")


async def test_the_slot_panel_follows_a_restaurant_chat_and_slots_set_by_hand_change_the_next_turn(
    tmp_path, store
) -> None:
    app = make_app(copy_sample("restaurant", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "booking")
        inspector = app.chat.query_one(Inspector)
        await until(pilot, lambda: inspector.active == "tab-bot-booking", what="the slots tab")
        panel = inspector.query_one(SlotPanel)
        await until(pilot, lambda: panel.view is not None, what="the panel")
        assert "no form active" in shown(panel.query_one("#slot-summary"))

        await send(pilot, app, "I'm looking for a restaurant", "What price range?")
        await until(pilot, lambda: panel.view.slots.requested_slot == "price", what="the price asked")
        summary = shown(panel.query_one("#slot-summary"))
        assert "form restaurant" in summary and "requested price" in summary and "turn 0 of 6" in summary
        assert "▶ price" in shown(panel.query_one("#slot-rows"))
        nlu = shown(panel.query_one("#slot-nlu"))
        assert "intent request_restaurant" in nlu

        await send(pilot, app, "medium", "What kind of cuisine would you like?")
        await send(pilot, app, "mexican food in london", "How many people will you be?")
        await until(pilot, lambda: panel.view.slots.requested_slot == "people", what="people asked")
        cuisine = row(panel, "cuisine")
        assert (cuisine.value, cuisine.message, cuisine.text) == ("mexican", 3, "mexican food in london")
        assert cuisine.required and cuisine.by == "user" and "cuisine" in cuisine.how
        assert not row(panel, "outdoor_seating").required  # only a high price needs it
        rows = shown(panel.query_one("#slot-rows"))
        assert "#3 'mexican food in london'" in rows and "▶ people" in rows
        assert "turn 2 of 6" in shown(panel.query_one("#slot-summary"))
        nlu = shown(panel.query_one("#slot-nlu"))
        assert "'mexican food in london'" in nlu
        assert "cuisine" in nlu and "[0:7] 'mexican'" in nlu and "location" in nlu and "[16:22] 'london'" in nlu
        assert "ask people" in shown(panel.query_one("#slot-decisions"))

        # by hand: people set, cuisine cleared; the live bot and the store both take it
        cid = session(app).conversation_id
        await set_by_hand(pilot, app, "people", "4")
        await until(
            pilot,
            lambda: row(panel, "people").value == 4 and row(panel, "people").by == "hand",
            what="people set by hand",
        )
        assert "by hand" in shown(panel.query_one("#slot-rows"))
        assert store.state(cid, "booking")["slots"]["people"] == 4
        await set_by_hand(pilot, app, "cuisine", None)
        await until(pilot, lambda: row(panel, "cuisine").value is None, what="cuisine cleared")
        assert store.state(cid, "booking")["slots"]["cuisine"] is None
        # the last message's understanding stays shown after a change by hand
        assert "'mexican food in london'" in shown(panel.query_one("#slot-nlu"))

        # the next turn starts from there: cuisine is asked again, people is not
        await send(pilot, app, "ok", "What kind of cuisine would you like?")
        await until(pilot, lambda: panel.view.slots.requested_slot == "cuisine", what="cuisine asked again")
        await send(pilot, app, "thai", "Ok, I have all the information I need now.")
        await until(pilot, lambda: panel.view.slots.form is None, what="the form finished")
        assert "last: restaurant finished" in shown(panel.query_one("#slot-summary"))
        assert store.state(cid, "booking")["slots"]["people"] == 4
