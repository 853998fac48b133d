"""Hostile REST bodies over real HTTP: each is a 400 (413 for size) naming the field, never
a 500, and the server keeps serving everyone else."""

from __future__ import annotations

import json

import httpx
import pytest
from support.rest import TOKEN, auth, helpdesk

DEEP = b'{"user_id": "u", "data": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
HUGE_INT = b'{"user_id": "u", "data": {"n": ' + b"9" * 5_000 + b"}}"

CASES = [
    # (path, body, status, field)
    ("/get_next_response", DEEP, 400, "body"),
    ("/get_next_response", b"[" * 30_000 + b"]" * 30_000, 400, "body"),
    (
        "/decisiontable_search",
        b'{"queries": "x", "data": ' + b"{" * 0 + b"[" * 5_000 + b"]" * 5_000 + b"}",
        400,
        "body",
    ),
    ("/knowledgebase_search", b'{"question": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", 400, "body"),
    ("/get_next_response", HUGE_INT, 400, "body"),
    ("/get_next_response", b'{"user_id": "u", "data": {"x": 1e999}}', 400, "body"),
    ("/get_next_response", b'{"user_id": "u", "data": {"x": NaN}}', 400, "body"),
    ("/get_next_response", b'{"user_id": "u", "text": "\xff\xfe"}', 400, "body"),
    ("/get_next_response", b'{"user_id": "u", "text": "x' + b"a" * 10_001 + b'"}', 400, "text"),
    ("/get_next_response", b'{"user_id": "u", "surprise": 1}', 400, "surprise"),
    ("/knowledgebase_search", b'{"question": "hi", "status": 1180591620717411303424}', 400, "body"),
    ("/knowledgebase_search", b'{"question": "hi", "status": 1e30}', 400, "status"),
    ("/knowledgebase_search", b'{"question": "hi", "max_results": 100000}', 400, "max_results"),
    ("/decisiontable_search", b'{"queries": "hi", "max_results": 0}', 400, "max_results"),
]


@pytest.fixture
async def server(serve, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_API_TOKEN", raising=False)
    return await serve(helpdesk(tmp_path))


@pytest.mark.parametrize("path, body, status, field", CASES)
async def test_a_hostile_body_is_refused_with_its_field(server, path, body, status, field):
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        r = await client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == status, r.text
        assert r.json()["field"] == field and r.json()["error"]
        # the server still answers everyone else
        ok = await client.post("/get_next_response", json={"user_id": "other", "text": "my account is locked"})
        assert ok.status_code == 200 and ok.json()["state"] == "account_locked"


async def test_a_lone_surrogate_is_stored_as_a_replacement_character(server):
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        body = b'{"user_id": "s", "text": "locked account \\ud800 please"}'
        r = await client.post("/get_next_response", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 200
    (conv,) = server.store.conversations(person="s")
    assert "\ufffd" in server.store.messages(conv["id"])[0]["text"]


@pytest.mark.parametrize(
    "qa, field",
    [
        ({"question": "q", "answer": "a", "status": 2**70}, "body"),  # over 64 bits: refused while parsing
        ({"question": "q", "answer": "a", "status": 2**40}, "status"),  # stored as starchat's 32 bits
        ({"question": "q", "answer": "a", "status": 1e30}, "status"),
        ({"question": "q", "answer": "a", "index_in_conversation": -(2**40)}, "index_in_conversation"),
        ({"question": "q" * 10_001, "answer": "a"}, "question"),
    ],
)
async def test_numbers_of_a_qa_are_bounded_where_they_are_stored(server, monkeypatch, qa, field):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30, headers=auth()) as client:
        r = await client.post("/knowledgebase", content=json.dumps(qa), headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["field"] == field, r.text
        r = await client.put("/knowledgebase/1", content=json.dumps(qa), headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["field"] == field, r.text


@pytest.mark.parametrize(
    "state, field",
    [
        ({"state": "s", "execution_order": 2**40}, "execution_order"),
        ({"state": "s", "execution_order": 1e30}, "execution_order"),
        ({"state": "s", "max_state_count": -1}, "max_state_count"),
        ({"state": "s", "max_state_count": 2**31}, "max_state_count"),
    ],
)
async def test_numbers_of_a_state_are_bounded_where_they_are_stored(server, monkeypatch, state, field):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30, headers=auth()) as client:
        r = await client.post("/decisiontable", json=state)
        assert r.status_code == 400 and r.json()["field"] == field, r.text
        r = await client.put("/decisiontable/start", json={k: v for k, v in state.items() if k != "state"})
        assert r.status_code == 400 and r.json()["field"] == field, r.text


async def test_an_uploaded_qa_with_a_huge_status_is_a_row_problem(server, monkeypatch):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    csv = f"id,question,answer,verified,status\n9,do you ship,yes,true,{2**70}\n"
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30, headers=auth()) as client:
        r = await client.post("/knowledgebase/upload_csv", content=csv, headers={"Content-Type": "text/csv"})
        assert r.status_code == 400 and r.json()["loaded"] == 0
        assert "row 2" in r.json()["problems"][0] and "status" in r.json()["problems"][0]


async def test_a_name_with_a_slash_reaches_its_endpoint(server, monkeypatch):
    # found by schemathesis: "/knowledgebase/a%2Fb" was Starlette's plain-text 404, not the API's JSON
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30, headers=auth()) as client:
        r = await client.post("/knowledgebase", json={"id": "a/b", "question": "q", "answer": "a"})
        assert r.status_code == 201
        r = await client.put("/knowledgebase/a%2Fb", json={"answer": "b"})
        assert r.status_code == 201 and r.json()["id"] == "a/b"
        assert (await client.delete("/knowledgebase/a%2Fb")).json()["found"] is True
        r = await client.delete("/knowledgebase/a%2Fb")
        assert r.status_code == 200 and r.json()["found"] is False
        r = await client.put("/decisiontable/x%2Fy", json={"bubble": "b"})
        assert r.status_code == 404 and r.headers["content-type"] == "application/json"
        r = await client.post("/knowledgebase", json={"id": "line\nbreak", "question": "q", "answer": "a"})
        assert r.status_code == 201
        assert (await client.delete("/knowledgebase/line%0Abreak")).json()["found"] is True
