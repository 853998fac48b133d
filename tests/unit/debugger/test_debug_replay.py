"""What-if replay (workbench/testing/replay.py): stored conversations sent again to the bot as it
is now, in a scratch store; the first turn whose replies differ is where they diverged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import Person, copy_sample, say, write_task

from workbench.runtime.editing import BotEditor
from workbench.runtime.runner import Runner
from workbench.store import open_store
from workbench.task import load_task
from workbench.testing.replay import Replayer, ReplayReport, parse_since, select


async def _talk(task: Any, conversations: list[list[str]]) -> list[str]:
    """Each list of messages as one conversation of the task's store; their ids."""
    runner = Runner(task, task.store)
    ids = []
    try:
        for n, lines in enumerate(conversations):
            p = Person(f"p{n}")
            p.session = await runner.connect(p.deliver, person=p.name)
            assert await runner.wait_idle(timeout=10)
            for line in lines:
                await say(runner, p, line)
            ids.append(p.session.conversation_id)
            await runner.disconnect(p.session)
    finally:
        await runner.stop()
    return ids


@pytest.fixture
def helpdesk_task(tmp_path: Path):
    task = load_task(copy_sample("helpdesk", tmp_path))
    yield task
    task.store.close()


HELPDESK = [
    ["I have a problem with my account", "Specify your problem", "my account is locked"],
    ["I forgot my password", "ann@example.org", "bye", "Excellent"],
    ["What are your opening hours?", "is there a mobile app"],
]


async def _replay(task: Any, ids: list[str] | None = None, **kw: Any) -> ReplayReport:
    ids = ids if ids is not None else select(task.store, task.name)
    return await Replayer(task.root, task.store, **kw).run(ids)


async def test_an_unchanged_bot_says_the_same_and_the_store_is_untouched(helpdesk_task) -> None:
    ids = await _talk(helpdesk_task, HELPDESK)
    before = [len(helpdesk_task.store.messages(c)) for c in ids]
    report = await _replay(helpdesk_task)
    assert [r.conversation_id for r in report.results] == ids
    assert [r.status for r in report.results] == ["same", "same", "same"], [r.to_json() for r in report.results]
    assert report.turns == 9 and report.diverged == []
    # specify_problem has two alternatives: the same conversation id picks the same one
    assert report.results[0].pairs[2].then == report.results[0].pairs[2].now
    assert [len(helpdesk_task.store.messages(c)) for c in ids] == before
    assert len(helpdesk_task.store.conversations()) == 3


async def test_an_edited_bubble_diverges_at_the_turn_that_says_it(helpdesk_task) -> None:
    ids = await _talk(helpdesk_task, HELPDESK)
    BotEditor(helpdesk_task).update_state("desk", "account_locked", {"bubble": "Locked? Call 800 111 111."})
    report = await _replay(helpdesk_task)
    first, second, third = report.results
    assert first.status == "diverged" and first.diverged_at == 3
    pair = first.at(3)
    assert pair.said == "my account is locked"
    assert pair.then[0].startswith("If your account is locked") and pair.now[0] == "Locked? Call 800 111 111."
    assert (second.status, third.status) == ("same", "same")
    out = first.to_json()
    assert out["diverged_at"] == 3 and out["now"][0] == "Locked? Call 800 111 111." and out["status"] == "diverged"
    assert report.to_json()["diverged"] == 1 and report.to_json()["same"] == 2
    assert ids == [r.conversation_id for r in report.results]


async def test_edited_queries_change_which_state_answers(helpdesk_task) -> None:
    await _talk(helpdesk_task, HELPDESK)
    # the opening-hours question now matches a state of its own instead of the knowledge base
    BotEditor(helpdesk_task).save_state(
        "desk", {"state": "opening_hours", "queries": ["What are your opening hours?"], "bubble": "Always open."}
    )
    report = await _replay(helpdesk_task)
    third = report.results[2]
    assert third.diverged_at == 1 and third.at(1).now == ["Always open."]
    assert third.at(1).then == ["Our customer service is open Monday to Friday, 9:00 to 18:00."]


async def test_selecting_conversations(helpdesk_task) -> None:
    ids = await _talk(helpdesk_task, HELPDESK)
    store = helpdesk_task.store
    assert select(store, "helpdesk") == ids
    assert select(store, "helpdesk", last=2) == ids[1:]
    assert select(store, "helpdesk", since=parse_since("2999-01-01")) == []
    assert select(store, "helpdesk", ids=[ids[1], ids[1]]) == [ids[1]]
    with pytest.raises(LookupError, match="no conversation 'nope'"):
        select(store, "helpdesk", ids=["nope"])
    with pytest.raises(ValueError, match="expected a date such as 2024-06-01"):
        parse_since("last tuesday")


ECHO = """
name: parrot
bots:
  parrot: {engine: echo, greeting: "Hello."}
worlds:
  talk: {type: bot_chat, bot: parrot}
"""


async def test_a_model_bot_replays_its_recorded_replies_unless_asked_to_regenerate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_task(tmp_path / "parrot", ECHO)
    task = load_task(root)
    task.use_store(open_store(tmp_path / "parrot.db"))
    ids = await _talk(task, [["one", "two"]])
    (root / "task.yml").write_text(ECHO.replace("Hello.", "Hi!"), encoding="utf-8")
    import workbench.engines.echo as echo

    class SamplingEcho(echo.EchoEngine):
        def generation(self) -> dict[str, Any]:
            return {"model": "parrot-1", "temperature": 0.7}

    monkeypatch.setattr(echo, "ENGINE", SamplingEcho)
    recorded = (await _replay(task, ids)).results[0]
    assert recorded.status == "same" and recorded.recorded_bots == ["parrot"] and recorded.turns == 2
    regenerated = (await _replay(task, ids, regenerate=True)).results[0]
    assert regenerated.diverged_at == 0 and regenerated.at(0).now == ["Hi!"] and regenerated.recorded_bots == []
    task.store.close()


async def test_a_conversation_of_several_people_is_skipped(tmp_path: Path) -> None:
    root = write_task(
        tmp_path / "pair",
        """
        name: pair
        worlds:
          chat: {type: human_chat, agents_required: 2}
        """,
    )
    task = load_task(root)
    store = task.store
    cid = store.new_conversation("pair", "ann", world="chat")
    from workbench.message import Message
    from workbench.store import Commit, Record

    store.commit(Commit(records={cid: [Record(Message(text="hi"), world="chat", agent="ann")]}))
    report = await Replayer(root, store).run([cid])
    assert report.results[0].status == "skipped" and "needs 2 people" in report.results[0].skipped
    store.close()


async def test_one_shot_conversations_replay_one_shot_turns(helpdesk_task) -> None:
    from workbench.message import Message

    runner = Runner(helpdesk_task, helpdesk_task.store)
    try:
        for text in ("my account is locked", "bye"):
            turn = await runner.one_shot(Message(text=text), person="api-user", channel="rest", bot="desk")
    finally:
        await runner.stop()
    cid = turn.conversation_id
    same = (await _replay(helpdesk_task, [cid])).results[0]
    assert same.status == "same" and same.turns == 2
    BotEditor(helpdesk_task).update_state("desk", "goodbye_question", {"bubble": "Rate us?"})
    changed = (await _replay(helpdesk_task, [cid])).results[0]
    assert changed.diverged_at == 2 and changed.at(2).now == ["Rate us?"]
