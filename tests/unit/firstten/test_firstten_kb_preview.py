"""What F6 would add to a knowledge base (issue 14, point 5): every question and answer of a
conversation, except fallback answers and personal data, each left out with its reason."""

from __future__ import annotations

from support import copy_sample

from workbench.message import Message
from workbench.runtime.editing import BotEditor
from workbench.store import Commit, Record
from workbench.task import load_task


def _conversation(store, turns: list[Record]) -> str:
    cid = store.new_conversation("helpdesk", "ada", "test")
    store.commit(Commit(records={cid: turns}))
    return cid


def test_fallbacks_and_personal_data_are_left_out_with_their_reason(tmp_path, store):
    task = load_task(copy_sample("helpdesk", tmp_path))
    task.use_store(store)
    editor = BotEditor(task)
    cid = _conversation(
        store,
        [
            Record(Message(text="when do you open"), role="human"),
            Record(Message(id="desk", text="At nine."), role="bot", trace={"route": "match", "state": "hours"}),
            Record(Message(text="zzz"), role="human"),
            Record(Message(id="desk", text="I do not understand."), role="bot", trace={"route": "fallback_state"}),
            Record(Message(text="my number is +44 20 7946 0958"), role="human"),
            Record(Message(id="desk", text="Noted."), role="bot", trace={"route": "match"}),
            # flagged by the task's safety rules when it was sent (masked, so no detector would see it)
            Record(Message(text="card [card number]", meta={"safety": {"found": ["card_number"]}}), role="human"),
            Record(Message(id="desk", text="Thanks."), role="bot", trace={"route": "match"}),
            # the desk's own phone number in an answer is not a person's data
            Record(Message(text="how do I call you"), role="human"),
            Record(Message(id="desk", text="Call 800 000 000."), role="bot", trace={"route": "match"}),
        ],
    )
    previews = editor.preview_exchanges("desk", cid)
    reasons = {p.qa.question: p.left_out for p in previews}
    assert reasons == {
        "when do you open": None,
        "zzz": "the answer is a fallback: nothing knew it",
        "my number is +44 20 7946 0958": "it holds a phone number",
        "card [card number]": "it holds a card number",
        "how do I call you": None,
    }
    chosen = [p.qa.id for p in previews if p.left_out is None]
    added = editor.add_chosen_exchanges("desk", cid, chosen[:1])
    assert [qa.question for qa in added] == ["when do you open"] and not added[0].verified
    assert editor.knowledge_base("desk").get(chosen[1]) is None  # only what was chosen
