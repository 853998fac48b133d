"""Step mode in the TUI: back and forward through a helpdesk and a restaurant conversation,
the state and slot panels showing each turn as it was, the turn's changes highlighted;
from the history screen too, where a fork is resumed in the chat and a conversation up to a
turn is saved as a conversation test."""

from __future__ import annotations

from pathlib import Path

from support import copy_sample, until
from support.tui import ready, send, session, shown
from textual.widgets import Input

from workbench.screens.conversations import ConversationsScreen
from workbench.screens.path_prompt import PathPrompt
from workbench.screens.step import StepScreen
from workbench.testing.conversation import load_file
from workbench.tui.app import make_app
from workbench.widgets.slot_panel import SlotPanel
from workbench.widgets.state_panel import StatePanel
from workbench.widgets.timeline_list import TimelineList
from workbench.widgets.transcript import MessageItem, Transcript
from workbench.widgets.turn_view import TurnView

SIZE = (160, 50)


async def open_step(pilot, app) -> StepScreen:
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, StepScreen), what="the step screen")
    screen = app.screen
    await until(pilot, lambda: screen.number is not None, what="the timeline")
    return screen


async def at(pilot, screen: StepScreen, number: int) -> None:
    """Wait until the screen shows turn ``number`` and its bot panels have caught up with it."""
    await until(pilot, lambda: screen.number == number, what=f"turn {number}")

    def panels_at_turn() -> bool:
        views = [p.view for p in (*screen.query(StatePanel), *screen.query(SlotPanel))]
        return all(v is not None and getattr(v, "turn", number) == number for v in views)

    await until(pilot, panels_at_turn, what=f"the panels at turn {number}")


def current_texts(screen: StepScreen) -> list[str]:
    items = screen.query_one(Transcript).query(MessageItem)
    return [str(i.entry["act"].get("text") or "") for i in items if i.has_class("step-current")]


async def test_stepping_through_a_helpdesk_conversation(tmp_path: Path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        await send(pilot, app, "I have a problem with my account", "What seems to be the problem exactly?")
        await send(pilot, app, "Forgot Password", "Please type your email address")
        await send(pilot, app, "ann@example.org", "Let me know if you have any other request")
        screen = await open_step(pilot, app)
        panel = screen.query_one(StatePanel)
        assert screen.number == 3 and screen.query_one(TimelineList).numbers == [0, 1, 2, 3]
        assert panel.view.current == "any_further" and panel.view.data["email"] == "ann@example.org"
        assert current_texts(screen)[0] == "ann@example.org"

        await pilot.press("left")
        await at(pilot, screen, 2)
        assert panel.view.current == "forgot_password" and panel.view.pending["kind"] == "form"
        assert "email" not in panel.view.data
        assert len(screen.query_one(Transcript).query(MessageItem)) == 5  # nothing after turn 2
        turn = shown(screen.query_one(TurnView).query_one("#turn-view-body"))
        assert (
            "entered forgot_password" in turn and "current: further_details_access_question → forgot_password" in turn
        )

        await pilot.press("home")
        await at(pilot, screen, 0)
        assert panel.view.current == "start" and panel.view.turn == 0
        assert current_texts(screen)[0].startswith("Hello and welcome")

        await pilot.press("right")
        await at(pilot, screen, 1)
        assert panel.view.current == "further_details_access_question"
        assert [c.state for c in panel.view.candidates][0] == "further_details_access_question"
        assert "candidates" in shown(screen.query_one("#step-trace"))

        await pilot.press("end")
        await at(pilot, screen, 3)
        assert panel.view.current == "any_further"

        # live: the chat goes on and the step screen follows it
        session(app).put("bye")
        await until(pilot, lambda: screen.timeline.last == 4, what="the new turn")
        await at(pilot, screen, 4)
        assert panel.view.current == "goodbye_question"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.chat, what="back in the chat")


async def test_stepping_through_a_restaurant_conversation(tmp_path: Path, store) -> None:
    app = make_app(copy_sample("restaurant", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "booking")
        await send(pilot, app, "I'm looking for a restaurant", "What price range?")
        await send(pilot, app, "medium", "What kind of cuisine would you like?")
        await send(pilot, app, "mexican food in london", "How many people will you be?")
        screen = await open_step(pilot, app)
        panel = screen.query_one(SlotPanel)

        def slot(name: str):
            return next(r.value for r in panel.view.slots.rows if r.name == name)

        assert panel.view.slots.requested_slot == "people" and slot("cuisine") == "mexican"
        turn = shown(screen.query_one(TurnView).query_one("#turn-view-body"))
        assert "set cuisine, location" in turn and "slots.cuisine = mexican" in turn
        await pilot.press("left")
        await at(pilot, screen, 2)
        assert panel.view.slots.requested_slot == "cuisine" and slot("price") == "medium" and slot("cuisine") is None
        await pilot.press("left")
        await at(pilot, screen, 1)
        assert panel.view.slots.requested_slot == "price" and slot("price") is None
        assert panel.view.slots.form == "restaurant"
        assert "entered restaurant" in shown(screen.query_one(TurnView).query_one("#turn-view-body"))
        await pilot.press("left")
        await at(pilot, screen, 0)
        assert panel.view.slots.form is None
        await pilot.press("right", "right", "right")
        await at(pilot, screen, 3)
        assert slot("location") == "london"
        # jump by number
        await pilot.press("g")
        await until(pilot, lambda: app.screen.query("#turn-input"), what="the turn prompt")
        app.screen.query_one("#turn-input", Input).value = "1"
        await pilot.press("enter")
        await at(pilot, screen, 1)


async def test_from_the_history_a_fork_is_resumed_and_a_turn_saved_as_a_test(tmp_path: Path, store) -> None:
    task_dir = copy_sample("helpdesk", tmp_path)
    app = make_app(task_dir, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        await send(pilot, app, "I have a problem with my account", "What seems to be the problem exactly?")
        await send(pilot, app, "Account locked", "If your account is locked")
        first = session(app).conversation_id
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen), what="the history")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, StepScreen), what="the step screen")
        screen = app.screen
        await until(pilot, lambda: screen.number == 2, what="the last turn")
        assert screen.runner is None

        await pilot.press("left")
        await at(pilot, screen, 1)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, PathPrompt), what="where to save")
        target = tmp_path / "saved.yml"
        app.screen.query_one("#path-input", Input).value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: target.exists(), what="the test file")
        (test,) = load_file(target)
        assert [s.kind for s in test.steps] == ["bot", "user", "bot"]
        assert test.steps[1].value == "I have a problem with my account"

        await until(pilot, lambda: app.screen is screen, what="back on the step screen")
        await pilot.press("f")
        await until(pilot, lambda: app.screen is app.chat, what="the chat")
        await until(pilot, lambda: session(app) is not None and session(app).conversation_id != first, what="the fork")
        fork = session(app).conversation_id
        assert app.runner.store.conversation(fork)["meta"]["forked_from"]["turn"] == 1
        await until(pilot, lambda: session(app).world == "help", what="the fork resumed")
        await send(pilot, app, "Forgot Password", "Please type your email address")
        assert app.runner.store.messages(first)[-1]["text"].startswith("Let me know")
