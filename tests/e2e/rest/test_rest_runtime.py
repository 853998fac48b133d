"""A REST get_next_response turn goes through the runtime: the runner's events, the task's
safety rules, the group commit and the stored engine state, like a turn of any channel."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from support.rest import helpdesk

SAFETY = """\
safety:
  incoming: {card_number: mask, email: block}
  outgoing: {phone: mask}
"""


@pytest.fixture
async def server(serve, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_API_TOKEN", raising=False)
    return await serve(helpdesk(tmp_path, SAFETY))


async def test_a_turn_emits_the_runners_events(server):
    events = []
    unsubscribe = server.runner.subscribe(events.append)
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
            r = await client.post("/get_next_response", json={"user_id": "ev", "text": "what are your opening hours"})
            assert r.status_code == 200
    finally:
        unsubscribe()
    kinds = [(e.kind, e.fields.get("committed")) for e in events]
    assert kinds[0] == ("session_start", None)
    assert ("message", False) in kinds and ("acknowledged", None) in kinds and ("message", True) in kinds
    assert ("state", None) in kinds
    held = next(e for e in events if e.kind == "message" and not e.fields["committed"])
    assert held.fields["record"].message.text == "what are your opening hours"
    reply = next(e for e in events if e.kind == "message" and e.fields["committed"])
    assert reply.fields["record"].role == "bot" and reply.fields["record"].trace["route"] == "knowledge_base"
    state = next(e for e in events if e.kind == "state")
    assert state.fields["bot"] == "desk" and state.session.conversation_id == held.session.conversation_id
    assert {e.session.channel for e in events} == {"rest-public"}


async def test_the_tasks_safety_rules_apply(server):
    events = []
    server.runner.subscribe(events.append)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        # incoming card numbers are masked before the bot or the store sees them
        r = await client.post(
            "/get_next_response", json={"user_id": "s", "text": "my account is locked, card 4111 1111 1111 1111"}
        )
        assert r.status_code == 200 and r.json()["state"] == "account_locked"
        # outgoing phone numbers are masked in the answer
        assert "800 000 000" not in r.json()["bubble"] and "[phone number]" in r.json()["bubble"]
        # an incoming e-mail address is blocked: the bot never sees it
        r = await client.post("/get_next_response", json={"user_id": "s", "text": "write to me at ann@example.org"})
        assert r.status_code == 422 and r.json()["code"] == 101
        assert "e-mail address" in r.json()["detail"]
    (conv,) = server.store.conversations(person="s")
    texts = [m["text"] for m in server.store.messages(conv["id"])]
    assert texts[0] == "my account is locked, card [card number]"
    assert not any("ann@example.org" in (t or "") for t in texts) and len(texts) == 2
    assert [e.fields["action"] for e in events if e.kind == "safety"] == ["mask", "mask", "block"]


async def test_turns_of_one_user_run_one_after_the_other(server):
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        answers = await asyncio.gather(
            *(client.post("/get_next_response", json={"user_id": "same", "text": f"hello {i}"}) for i in range(12))
        )
    assert {a.status_code for a in answers} <= {200, 204}
    (conv,) = server.store.conversations(person="same")
    assert server.store.state(conv["id"], "desk")["turns"] == 12  # no turn lost to a concurrent one
    roles = [m["role"] for m in server.store.messages(conv["id"])]
    assert roles == ["human", "bot"] * 12


async def test_rest_edits_go_through_the_one_edit_path(serve, tmp_path, monkeypatch):
    """A state or Q/A written over REST is announced like a TUI or CLI edit (BotEditor)."""
    monkeypatch.setenv("WORKBENCH_API_TOKEN", "edit-token")
    server = await serve(helpdesk(tmp_path))
    events = []
    server.runner.subscribe(events.append)
    auth = {"Authorization": "Bearer edit-token"}
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        r = await client.post(
            "/decisiontable", headers=auth, json={"state": "gift_cards", "bubble": "Yes, at the desk."}
        )
        assert r.status_code == 201, r.text
        r = await client.post("/knowledgebase", headers=auth, json={"question": "parking?", "answer": "Behind us."})
        assert r.status_code == 201, r.text
        r = await client.delete("/decisiontable/gift_cards", headers=auth)
        assert r.status_code == 200 and r.json()["found"] is True
    edits = [(e.fields["what"], e.fields["action"]) for e in events if e.kind == "edited"]
    assert edits == [("state", "create"), ("qa", "create"), ("state", "delete")]
