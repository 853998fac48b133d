"""Engines tell their turns in a debugger's terms (capabilities.DebuggableBot): what breakpoints
and the step view read, whatever the engine's own trace looks like."""

from __future__ import annotations

from pathlib import Path

from support import copy_sample
from support.engines import Chat

from workbench.engines.capabilities import DebuggableBot, bots_with
from workbench.engines.turn_facts import changed_values
from workbench.store import open_store
from workbench.task import load_task


def _chat(tmp_path: Path, sample: str, bot: str) -> Chat:
    task = load_task(copy_sample(sample, tmp_path))
    task.use_store(open_store(tmp_path / f"{sample}.db"))
    return Chat(task.engine(bot), bot=bot)


def test_the_table_and_form_engines_can_tell(tmp_path: Path) -> None:
    assert bots_with(load_task(copy_sample("helpdesk", tmp_path)), DebuggableBot) == ["desk"]
    assert bots_with(load_task(copy_sample("restaurant", tmp_path)), DebuggableBot) == ["booking"]
    assert bots_with(load_task(copy_sample("echo", tmp_path)), DebuggableBot) == []


def test_a_decision_table_turn(tmp_path: Path) -> None:
    chat = _chat(tmp_path, "helpdesk", "desk")
    engine = chat.engine

    def facts(text: str):
        before = chat.state
        chat.say(text)
        return engine.turn_facts(before, chat.state, chat.trace)

    got = facts("I forgot my password")
    assert got.entered == ["forgot_password"] and not got.fallback and got.form_failed is None
    got = facts("not an address")
    assert got.form_failed == "the answer to the form of forgot_password is not valid"
    got = facts("ann@example.org")
    assert got.entered == ["send_password_generation_link", "any_further"]
    assert got.slots_set == ["email", "reset_sent_to"] and got.slots_cleared == []
    assert facts("is there a mobile app").fallback


def test_a_form_turn(tmp_path: Path) -> None:
    chat = _chat(tmp_path, "restaurant", "booking")
    engine = chat.engine

    def facts(text: str):
        before = chat.state
        chat.say(text)
        return engine.turn_facts(before, chat.state, chat.trace)

    got = facts("I'm looking for a restaurant")
    assert got.entered == ["restaurant"] and got.slots_set == []
    got = facts("italian in berlin")
    assert set(got.slots_set) >= {"cuisine", "location"} and got.entered == []
    got = facts('/inform{"people": -3}')
    assert got.form_failed is not None and "people" in got.form_failed


def test_changed_values() -> None:
    assert changed_values({"a": 1, "b": 2, "c": None}, {"a": 1, "b": None, "d": 4}) == (["d"], ["b"])
    assert changed_values(None, {"a": 0}) == (["a"], [])
