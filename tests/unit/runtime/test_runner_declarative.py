"""The Runner with declarative worlds: menu, onboarding, bot_chat, human_chat, pooling, timeouts."""

from __future__ import annotations

import time

import pytest
from support import Person, say, wait_for

from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task

TASK = """
name: decl
bots:
  echo: {engine: echo, prefix: "E: "}
worlds:
  overworld:
    type: menu
    text: Pick one
    options: {Echo: echo, Consent: consented, Pair: pair, Lonely: lonely, Slow: slow, EXIT: EXIT}
  echo: {type: bot_chat, bot: echo}
  consented:
    type: bot_chat
    bot: echo
    onboarding: consent
    text: "Hello {name}, you like {colour}."
  consent:
    type: onboarding
    text: Before we start.
    checkboxes: {adult: "I am 18 or older."}
    questions:
      - {key: name, text: "What is your name?"}
      - {key: colour, text: "Favourite colour?", choices: [red, green]}
    done_text: "Thanks {name}."
  pair: {type: human_chat, agents_required: 2}
  lonely: {type: human_chat, agents_required: 2, max_time_in_pool: 0.3, backup_world: echo}
  slow: {type: bot_chat, bot: echo, timeout: 0.3}
"""


@pytest.fixture
async def env(task_dir, tmp_path):
    task = load_task(task_dir(TASK))
    store = open_store(tmp_path / "wb.db")
    runner = Runner(task, store)

    async def join(name: str = "you") -> Person:
        p = Person(name)
        p.session = await runner.connect(p.deliver, person=name)
        assert await runner.wait_idle(timeout=5)
        return p

    yield runner, store, join
    await runner.stop(wait=2)
    store.close()


async def test_menu_offers_quick_replies_and_matches_typed_choice_case_insensitively(env) -> None:
    runner, store, join = env
    p = await join()
    first = p.received[0]
    assert first.text == "Pick one"
    assert first.quick_replies == ["Echo", "Consent", "Pair", "Lonely", "Slow", "EXIT"]
    assert p.session.world == "overworld"

    assert await say(runner, p, "dance") == ["Please choose one of: Echo, Consent, Pair, Lonely, Slow, EXIT."]
    assert p.session.world == "overworld"

    assert await say(runner, p, "  eCHo ") == []
    assert p.session.world == "echo"
    assert await say(runner, p, "hello") == ["E: hello"]
    # [DONE] ends the task world and the menu greets again
    assert await say(runner, p, "[DONE]") == ["Pick one"]
    assert p.session.world == "overworld"
    # a world's name typed instead of its label is accepted too
    await say(runner, p, "ECHO")
    assert p.session.world == "echo"


async def test_menu_exit_says_goodbye_and_ends_the_conversation(env) -> None:
    runner, store, join = env
    p = await join()
    assert await say(runner, p, "exit") == ["Goodbye!"]
    assert p.received[-1].episode_done
    await wait_for(lambda: p.session.closed, what="the session to close")
    await wait_for(lambda: store.conversation(p.session.conversation_id)["status"] == "ended", what="status ended")


async def test_onboarding_consent_yes_collects_answers_that_reach_the_task_world(env) -> None:
    runner, store, join = env
    p = await join()
    assert await say(runner, p, "Consent") == ["Before we start.", "I am 18 or older."]
    assert p.received[-1].quick_replies == ["Yes", "No"]
    assert p.session.world == "consent"
    assert await say(runner, p, "yes") == ["What is your name?"]
    assert await say(runner, p, "Ada") == ["Favourite colour?"]
    assert p.received[-1].quick_replies == ["red", "green"]
    # an answer that is not one of the choices is asked again
    assert await say(runner, p, "blue") == ["Please answer one of: red, green.", "Favourite colour?"]
    # the task world's text is filled from the agent's data
    assert await say(runner, p, "GREEN") == ["Thanks Ada.", "Hello Ada, you like green."]
    assert p.session.world == "consented"
    assert p.session.data == {"consent": {"adult": True}, "name": "Ada", "colour": "green"}
    stored = store.conversation(p.session.conversation_id)["data"]
    assert stored == {"consent": {"adult": True}, "name": "Ada", "colour": "green"}
    assert await say(runner, p, "hi") == ["E: hi"]


async def test_onboarding_consent_no_returns_to_the_start(env) -> None:
    runner, store, join = env
    p = await join()
    await say(runner, p, "Consent")
    assert await say(runner, p, "No") == ["You need to agree to continue. Returning to the start.", "Pick one"]
    assert p.session.world == "overworld"
    assert store.conversation(p.session.conversation_id)["data"]["consent"] == {"adult": False}


async def test_human_chat_pools_two_people_and_relays_until_done(env) -> None:
    runner, store, join = env
    alice, bob = await join("alice"), await join("bob")
    assert await say(runner, alice, "Pair") == ["Waiting for a partner..."]
    assert alice.session.world == "pair"
    assert await say(runner, bob, "pair") == ["You are now chatting with alice. Send [DONE] to end the chat."]
    assert alice.texts[-1] == "You are now chatting with bob. Send [DONE] to end the chat."
    assert alice.session.world_instance == bob.session.world_instance != "pool"

    assert await say(runner, alice, "hi bob") == []
    assert bob.received[-1].text == "hi bob" and bob.received[-1]["id"] == "alice"
    await say(runner, bob, "hello alice")
    assert alice.received[-1].text == "hello alice" and alice.received[-1]["id"] == "bob"

    assert await say(runner, bob, "[DONE]") == ["Pick one"]
    assert alice.texts[-2:] == ["bob has left the chat.", "Pick one"]
    assert alice.session.world == bob.session.world == "overworld"
    # both sides of the chat are stored in each person's conversation
    texts = [r["text"] for r in store.messages(alice.session.conversation_id)]
    assert "hi bob" in texts and "hello alice" in texts


async def test_pool_timeout_sends_the_person_to_the_backup_world(env) -> None:
    runner, store, join = env
    p = await join()
    started = time.monotonic()
    p.put("Lonely")
    await wait_for(lambda: "Nobody else came in time." in p.texts, timeout=5, what="the pool to time out")
    assert time.monotonic() - started >= 0.25  # not before max_time_in_pool (0.3 s)
    await wait_for(lambda: p.session.world == "echo", what="the backup world")
    assert runner.waiting("lonely") == []
    assert await say(runner, p, "still here") == ["E: still here"]


async def test_world_timeout_ends_the_world(env) -> None:
    runner, store, join = env
    p = await join()
    await say(runner, p, "Slow")
    assert p.session.world == "slow"
    started = time.monotonic()
    await wait_for(lambda: "This conversation timed out." in p.texts, timeout=5, what="the world to time out")
    assert time.monotonic() - started >= 0.25  # not before the world's timeout (0.3 s)
    await wait_for(lambda: p.session.world == "overworld", what="the overworld")
    assert p.texts[-1] == "Pick one"


async def test_the_menu_has_no_timeout(env) -> None:
    runner, store, join = env
    p = await join()
    await say(runner, p, "Slow")
    await wait_for(lambda: p.texts[-1:] == ["Pick one"] and p.session.world == "overworld", timeout=5)
    # a world entered after p came back to the menu times out (0.3 s): a timeout of p's menu would have fired first
    q = await join("q")
    await say(runner, q, "Slow")
    await wait_for(lambda: "This conversation timed out." in q.texts, timeout=5, what="the later world to time out")
    assert p.texts[-1] == "Pick one" and not p.session.closed


async def test_disconnect_mid_world_ends_and_stores_the_conversation(env) -> None:
    runner, store, join = env
    p = await join()
    await say(runner, p, "Echo")
    await say(runner, p, "last words")
    await runner.disconnect(p.session, wait=3)
    assert p.session.task.done()
    conv = store.conversation(p.session.conversation_id)
    assert conv["status"] == "ended"
    assert [r["text"] for r in store.messages(p.session.conversation_id)][-2:] == ["last words", "E: last words"]


async def test_a_person_sending_fast_gets_every_answer_in_order(env) -> None:
    runner, store, join = env
    p = await join()
    await say(runner, p, "Echo")
    for i in range(20):
        p.put(f"m{i}")
    assert await runner.wait_idle(timeout=5)
    assert p.texts[-20:] == [f"E: m{i}" for i in range(20)]
    assert store.state(p.session.conversation_id, "echo") == {"turns": 20}


async def test_stop_tells_live_people_and_stores_it(env) -> None:
    runner, store, join = env
    alice, bob = await join("alice"), await join("bob")
    await say(runner, bob, "Echo")
    await runner.stop(message="Back soon.", wait=3)
    for p in (alice, bob):
        assert p.texts[-1] == "Back soon."
        assert p.session.closed
        rows = store.messages(p.session.conversation_id)
        assert rows[-1]["text"] == "Back soon." and rows[-1]["role"] == "system"
        assert store.conversation(p.session.conversation_id)["status"] == "ended"
    assert runner.sessions == {}
