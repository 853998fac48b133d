"""Numbers are bounded where they are stored and analyzers cannot stall a turn, over the real
REST API (issue 8 items 3 and 4): a Q/A ``status: 2**70``, ``execution_order: 1e30`` or ``inf``
in an upload, an analyzer nested 3,000 deep are 400s naming the field, and a table with
``regex("^(a+)+$")`` answers a 5,000-letter message."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from support import copy_sample

TOKEN = "files-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def api(tmp_path: Path, serve, monkeypatch):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    task = copy_sample("helpdesk", tmp_path)
    server = await serve(task)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        yield client


async def test_a_qa_status_beyond_32_bits_is_a_400_naming_the_field(api: httpx.AsyncClient) -> None:
    for status in (2**70, 1e30):
        r = await api.post("/knowledgebase", headers=AUTH, json={"question": "q", "answer": "a", "status": status})
        assert r.status_code == 400, r.text
        assert r.json()["field"] in ("status", "body"), r.json()
    r = await api.post("/knowledgebase", headers=AUTH, json={"question": "q", "answer": "a", "status": 7})
    assert r.status_code == 201 and r.json()["hits"][0]["document"]["status"] == 7


async def test_state_numbers_are_bounded_in_bodies_and_uploads(api: httpx.AsyncClient) -> None:
    r = await api.post("/decisiontable", headers=AUTH, json={"state": "big", "execution_order": 1e30})
    assert r.status_code == 400 and r.json()["field"] == "execution_order", r.text
    csv = "state,execution_order,bubble\nfine,1,hello\nhuge,inf,hi\n"
    r = await api.post("/decisiontable/upload_csv", headers={**AUTH, "Content-Type": "text/csv"}, content=csv)
    assert r.status_code == 400 and r.json()["field"] == "execution_order", r.text
    (problem,) = [p for p in r.json()["problems"] if p["severity"] == "error"]
    assert (problem["row"], problem["column"], problem["key"], problem["subject"]) == (
        3,
        2,
        "execution_order",
        "state huge",
    )


async def test_an_analyzer_nested_3000_deep_is_a_400_with_its_character(api: httpx.AsyncClient) -> None:
    analyzer = "bor(" * 3000 + 'keyword("x")' + ")" * 3000
    r = await api.post("/decisiontable", headers=AUTH, json={"state": "deep", "analyzer": analyzer})
    assert r.status_code == 400 and r.json()["field"] == "analyzer", r.text
    assert "nested more than" in r.json()["error"] and "(character 201)" in r.json()["error"]


@pytest.mark.timeout(90)
async def test_a_catastrophic_regex_cannot_stall_a_turn(api: httpx.AsyncClient) -> None:
    state = {"state": "redos", "analyzer": 'regex("^(a+)+$")', "bubble": "all a's"}
    assert (await api.post("/decisiontable", headers=AUTH, json=state)).status_code == 201
    # with a backtracking engine a 5,000-letter message would never be answered
    r = await api.post("/get_next_response", headers=AUTH, json={"user_id": "u", "text": "a" * 5000 + "!"})
    assert r.status_code in (200, 204), r.text
    r = await api.post("/get_next_response", headers=AUTH, json={"user_id": "u", "text": "a" * 5000})
    assert r.status_code == 200 and r.json()["state"] == "redos", r.text
