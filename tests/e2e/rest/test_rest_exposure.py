"""The REST API on a public port: with WORKBENCH_API_TOKEN set every endpoint needs it
unless the task opens it (serve.public_api); an anonymous caller never reads another
conversation's data, nor an unverified Q/A."""

from __future__ import annotations

import httpx
import pytest
from support.rest import TOKEN, auth, helpdesk

READS = [
    ("POST", "/get_next_response", {"user_id": "r", "text": "my account is locked"}),
    ("GET", "/decisiontable", None),
    ("POST", "/decisiontable_search", {"queries": "locked account"}),
    ("GET", "/knowledgebase", None),
    ("POST", "/knowledgebase_search", {"question": "opening hours"}),
    ("GET", "/openapi.json", None),
]


async def call(client: httpx.AsyncClient, method: str, path: str, body: dict | None, **kw) -> httpx.Response:
    return await client.request(method, path, json=body, **kw)


@pytest.fixture
async def public(serve, tmp_path, monkeypatch):
    """Token set; the task opens get_next_response and knowledgebase_search."""
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    task = helpdesk(tmp_path, "serve:\n  public_api: [get_next_response, knowledgebase_search]\n")
    server = await serve(task)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        client.server = server  # type: ignore[attr-defined]
        yield client


@pytest.mark.parametrize("method, path, body", READS)
async def test_with_a_token_every_endpoint_needs_it_unless_opened(serve, tmp_path, monkeypatch, method, path, body):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    server = await serve(helpdesk(tmp_path))
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        r = await call(client, method, path, body)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["field"] == "Authorization"
        assert (await call(client, method, path, body, headers=auth("wrong"))).status_code == 401
        assert (await call(client, method, path, body, headers=auth())).status_code == 200


async def test_public_api_opens_only_what_it_names(public):
    assert (await public.post("/get_next_response", json={"user_id": "p", "text": "hi"})).status_code in (200, 204)
    assert (await public.post("/knowledgebase_search", json={"question": "opening hours"})).status_code == 200
    assert (await public.get("/decisiontable")).status_code == 401
    assert (await public.get("/knowledgebase")).status_code == 401
    # a wrong token is refused even where no token is needed
    r = await public.post("/get_next_response", json={"user_id": "p", "text": "hi"}, headers=auth("nope"))
    assert r.status_code == 401
    # writes always need the token
    r = await public.post("/knowledgebase", json={"question": "q", "answer": "a"})
    assert r.status_code == 401


async def test_without_a_token_reads_are_open_and_writes_refused(serve, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_API_TOKEN", raising=False)
    server = await serve(helpdesk(tmp_path))
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        for method, path, body in READS:
            assert (await call(client, method, path, body)).status_code == 200, path
        r = await client.post("/decisiontable", json={"state": "x"}, headers=auth())
        assert r.status_code == 403 and "WORKBENCH_API_TOKEN" in r.json()["error"]


async def test_an_anonymous_caller_never_reads_another_conversations_data(public):
    # a trusted back end stores a person's e-mail in conversation "alice"
    r = await public.post(
        "/get_next_response",
        headers=auth(),
        json={
            "user_id": "alice",
            "values": {"return_value": "forgot_password", "data": {"email": "alice@example.org"}},
        },
    )
    assert r.status_code == 200 and r.json()["data"] == {"email": "alice@example.org"}
    # an anonymous caller who knows the user id gets neither the data nor a bubble filled from it
    r = await public.post(
        "/get_next_response", json={"user_id": "alice", "values": {"return_value": "send_password_generation_link"}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {} and "alice@example.org" not in r.text
    # nor from an earlier anonymous request with the same user id
    await public.post(
        "/get_next_response",
        json={"user_id": "bob", "values": {"return_value": "forgot_password", "data": {"email": "bob@example.org"}}},
    )
    r = await public.post(
        "/get_next_response", json={"user_id": "bob", "values": {"return_value": "send_password_generation_link"}}
    )
    assert r.status_code == 200 and "bob@example.org" not in r.text and r.json()["data"] == {}
    # its own request's data is echoed and used
    r = await public.post(
        "/get_next_response",
        json={"user_id": "bob", "return_value": "send_password_generation_link", "data": {"email": "b2@example.org"}},
    )
    assert r.json()["data"] == {"email": "b2@example.org"} and "b2@example.org" in r.json()["bubble"]
    # the trusted conversation still has its data, and the anonymous turns are kept apart
    r = await public.post(
        "/get_next_response",
        headers=auth(),
        json={"user_id": "alice", "values": {"return_value": "send_password_generation_link"}},
    )
    assert "alice@example.org" in r.json()["bubble"] and r.json()["data"]["email"] == "alice@example.org"
    channels = {c["channel"] for c in public.server.store.conversations(person="alice")}
    assert channels == {"rest", "rest-public"}


async def test_unverified_qas_are_never_shown_without_the_token(serve, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_API_TOKEN", raising=False)
    server = await serve(helpdesk(tmp_path))
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        # Q/A 5 ("is there a mobile app") is not verified
        r = await client.get("/knowledgebase", params={"ids": ["5", "1"]})
        assert [h["document"]["id"] for h in r.json()["hits"]] == ["1"]
        everything = await client.get("/knowledgebase")
        assert everything.json()["total"] > 0
        assert all(h["document"]["verified"] for h in everything.json()["hits"])
        for body in (
            {"question": "is there a mobile app"},
            {"question": "is there a mobile app", "verified": False},
            {"question": "is there a mobile app", "doctype": "hidden"},
        ):
            r = await client.post("/knowledgebase_search", json=body)
            assert r.status_code == 200 and all(h["document"]["id"] != "5" for h in r.json()["hits"]), body
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30, headers=auth()) as client:
        r = await client.get("/knowledgebase", params={"ids": ["5"]})
        assert [h["document"]["id"] for h in r.json()["hits"]] == ["5"]
        r = await client.post("/knowledgebase_search", json={"question": "is there a mobile app", "verified": False})
        assert r.json()["hits"][0]["document"]["id"] == "5"
