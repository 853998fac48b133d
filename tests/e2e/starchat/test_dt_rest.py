"""starchat's REST API over real HTTP: the helpdesk's server on 127.0.0.1 (in a loop of its
own thread, so these tests can use a synchronous client), httpx as the client."""

from __future__ import annotations

import httpx
import pytest
from support import STARCHAT

TOKEN = "s3cret-token"


@pytest.fixture
def server(helpdesk, monkeypatch, serve_in_thread):
    """The helpdesk without a fallback state (so 204 exists), served over HTTP."""
    yml = helpdesk / "task.yml"
    yml.write_text(yml.read_text().replace("    fallback_state: dont_understand\n", ""))
    monkeypatch.delenv("WORKBENCH_API_TOKEN", raising=False)
    running = serve_in_thread(helpdesk, db=helpdesk / "data" / "rest.db")
    with httpx.Client(base_url=running.http_url, timeout=10) as client:
        client.task = running.task
        client.store = running.store
        yield client


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_get_next_response_follows_the_readme(server):
    # the README's first example: the user clicked "Forgot Password"
    r = server.post(
        "/get_next_response",
        json={"user_id": "1234", "user_input": {"text": ""}, "values": {"return_value": "forgot_password", "data": {}}},
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"bubble", "action", "action_input", "data", "success_value", "failure_value", "state", "score"}
    assert body["state"] == "forgot_password" and body["action"] == "input_form"
    assert body["action_input"] == {"email": "email"}
    assert body["success_value"] == "send_password_generation_link" and body["failure_value"] == "dont_understand"
    # the second: the client sends the e-mail the form collected
    r = server.post(
        "/get_next_response",
        json={
            "user_id": "1234",
            "user_input": {"text": ""},
            "values": {"return_value": "send_password_generation_link", "data": {"email": "a@b.com"}},
        },
    )
    body = r.json()
    assert r.status_code == 200 and body["state"] == "send_password_generation_link"
    assert "this address: a@b.com with" in body["bubble"]
    assert body["action_input"]["email"] == "a@b.com" and "support.example.com" in body["action_input"]["template"]
    assert body["data"]["email"] == "a@b.com"
    assert body["success_value"] == "any_further" and body["failure_value"] == "call_operator"


def test_text_matching_the_flat_form_and_persistence(server):
    r = server.post("/get_next_response", json={"user_id": "u9", "text": "my account is locked"})
    assert r.status_code == 200 and r.json()["state"] == "account_locked" and r.json()["score"] == 1.0
    # the conversation is stored like any other: one per user, channel rest-public (no token)
    (conv,) = server.store.conversations(person="u9")
    assert conv["channel"] == "rest-public"
    assert server.store.state(conv["id"], "desk")["current"] == "account_locked"
    server.post("/get_next_response", json={"user_id": "u9", "text": "my account is locked"})
    r = server.post("/get_next_response", json={"user_id": "u9", "text": "my account is locked"})
    assert r.json()["state"] != "account_locked"  # max_state_count 2 persisted across requests
    msgs = server.store.messages(conv["id"])
    assert [m["role"] for m in msgs][:2] == ["human", "bot"] and msgs[1]["trace"]["route"] == "match"


def test_status_codes_204_404_422(server):
    r = server.post("/get_next_response", json={"user_id": "u1", "user_input": {"text": "tell me about dinosaurs"}})
    assert r.status_code == 204 and r.content == b""
    r = server.post("/get_next_response", json={"user_id": "u1", "values": {"return_value": "nowhere"}})
    assert r.status_code == 404 and r.json()["field"] == "return_value" and "nowhere" in r.json()["error"]
    r = server.post(
        "/get_next_response",
        json={
            "user_id": "u1",
            "values": {"return_value": "send_password_generation_link", "data": {"email": {"a": 1}}},
        },
    )
    assert r.status_code == 422 and r.json()["code"] == 100 and "bad values" in r.json()["message"]
    # the knowledge base answers what the table does not
    r = server.post("/get_next_response", json={"user_id": "u1", "text": "what are your opening hours"})
    assert r.status_code == 200 and r.json()["bubble"].startswith("Our customer service is open")


@pytest.mark.parametrize(
    "body, field",
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"", "body"),
        (b'{"text": "hi"}', "user_id"),
        (b'{"user_id": {"a": 1}}', "user_id"),
        (b'{"user_id": "u", "user_input": 3}', "user_input"),
        (b'{"user_id": "u", "user_input": {"text": ["x"]}}', "user_input.text"),
        (b'{"user_id": "u", "values": "x"}', "values"),
        (b'{"user_id": "u", "values": {"data": 1}}', "values.data"),
    ],
)
def test_bad_requests_name_the_field(server, body, field):
    r = server.post("/get_next_response", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["field"] == field


def test_writes_need_the_token(server, monkeypatch):
    new = {"state": "pricing", "queries": ["how much does it cost"], "bubble": "It is free."}
    assert server.post("/decisiontable", json=new).status_code == 403
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    r = server.post("/decisiontable", json=new)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert server.post("/decisiontable", json=new, headers=auth("wrong")).status_code == 401
    assert server.delete("/decisiontable/start").status_code == 401
    assert (
        server.put("/decisiontable/start", json={"bubble": "x"}, headers={"Authorization": "Basic abc"}).status_code
        == 401
    )
    assert server.post("/knowledgebase", json={"question": "q", "answer": "a"}).status_code == 401
    # with a token set, reads need it too (the task opens none in serve.public_api)
    assert server.get("/decisiontable", params={"ids": "start"}).status_code == 401
    assert server.post("/decisiontable_search", json={"queries": "locked account"}).status_code == 401
    assert server.get("/decisiontable", params={"ids": "start"}, headers=auth()).status_code == 200
    monkeypatch.delenv("WORKBENCH_API_TOKEN")
    # without a token configured, reads are open
    assert server.post("/decisiontable_search", json={"queries": "locked account"}).status_code == 200


def test_decisiontable_crud_and_edits_take_effect(server, monkeypatch):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    server.headers.update(auth())  # a trusted back end: every request carries the token
    r = server.get(
        "/decisiontable", params=[("ids", "further_details_access_question"), ("ids", "start"), ("ids", "nope")]
    )
    body = r.json()
    assert r.status_code == 200 and body["total"] == 2 and body["max_score"] == 0.0
    doc = body["hits"][0]["document"]
    assert doc["state"] == "further_details_access_question" and doc["success_value"] == "eval(show_buttons)"
    assert body["hits"][0]["score"] == 0.0

    r = server.post(
        "/decisiontable",
        headers=auth(),
        json={"state": "pricing", "queries": ["how much does it cost", "what is the price"], "bubble": "It is free."},
    )
    assert r.status_code == 201
    assert r.json()["created"] is True and r.json()["dtype"] == "state" and r.json()["id"] == "pricing"
    r = server.post("/get_next_response", json={"user_id": "p", "text": "how much does it cost?"})
    assert r.json()["state"] == "pricing"

    r = server.put("/decisiontable/pricing", headers=auth(), json={"bubble": "It costs nothing."})
    assert r.status_code == 201 and r.json()["created"] is False
    r = server.post("/get_next_response", json={"user_id": "p", "text": "what is the price"})
    assert r.json()["bubble"] == "It costs nothing."
    assert server.put("/decisiontable/ghost", headers=auth(), json={"bubble": "x"}).status_code == 404
    bad = server.put("/decisiontable/pricing", headers=auth(), json={"analyzer": "band(oops"})
    assert bad.status_code == 400 and bad.json()["field"] == "analyzer" and "character" in bad.json()["error"]
    bad = server.post("/decisiontable", headers=auth(), json={"state": "x", "max_state_count": "lots"})
    assert bad.status_code == 400 and bad.json()["field"] == "max_state_count"
    bad = server.post("/decisiontable", headers=auth(), json={"state": "x", "colour": "red"})
    assert bad.status_code == 400 and bad.json()["field"] == "colour"

    r = server.delete("/decisiontable/pricing", headers=auth())
    assert r.status_code == 200 and r.json()["found"] is True
    assert server.delete("/decisiontable/pricing", headers=auth()).json()["found"] is False
    r = server.post("/get_next_response", json={"user_id": "p", "text": "how much does it cost?"})
    assert r.status_code == 204


def test_decisiontable_search_ranks_with_reasons(server):
    r = server.post("/decisiontable_search", json={"queries": "cannot access my account"})
    body = r.json()
    assert r.status_code == 200 and body["total"] >= 1
    top = body["hits"][0]
    assert top["document"]["state"] == "further_details_access_question"
    assert body["max_score"] == top["score"] and top["why"]
    assert server.post("/decisiontable_search", json={"queries": ["a"]}).json()["field"] == "queries"
    assert server.post("/decisiontable_search", json={}).json()["field"] == "queries"


def test_upload_csv_in_every_layout(server, monkeypatch):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    server.headers.update(auth())  # a trusted back end: every request carries the token
    old = (STARCHAT / "sample_state_machine_specification_2016.csv").read_bytes()
    r = server.post("/decisiontable/upload_csv", headers={**auth(), "Content-Type": "text/csv"}, content=old)
    assert r.status_code == 400
    assert {p["row"] for p in r.json()["problems"] if p["severity"] == "error"} == {4, 10}
    r = server.post(
        "/decisiontable/upload_csv?skip_invalid=true&replace=true",
        headers={**auth(), "Content-Type": "text/csv"},
        content=old,
    )
    assert r.status_code == 201 and r.json()["created"] == 9 and r.json()["rejected"] == 2
    assert server.get("/decisiontable").json()["total"] == 9
    doc = (STARCHAT / "decision_table_starchat_doc.csv").read_bytes()
    r = server.post("/decisiontable/upload_csv", headers=auth(), files={"csv": ("doc.csv", doc, "text/csv")})
    assert r.status_code == 201 and r.json()["created"] == 22
    r = server.post("/get_next_response", json={"user_id": "d", "text": "how do I install starchat with docker"})
    assert r.json()["state"] == "docker_install"


def test_knowledgebase_endpoints(server, monkeypatch):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    server.headers.update(auth())  # a trusted back end: every request carries the token
    r = server.get("/knowledgebase", params={"ids": "7"})
    assert r.status_code == 200 and r.json()["hits"][0]["document"]["question"] == "thank you"
    qa = {
        "answer": "you are welcome!",
        "conversation": "832",
        "doctype": "normal",
        "id": "100",
        "index_in_conversation": 11,
        "question": "many thanks for the help",
        "state": "",
        "status": 0,
        "topics": "",
        "verified": True,
    }
    r = server.post("/knowledgebase", headers=auth(), json=qa)
    assert r.status_code == 201 and r.json()["hits"][0]["document"]["id"] == "100"
    r = server.post("/knowledgebase_search", json={"question": "many thanks", "verified": True, "doctype": "normal"})
    assert r.status_code == 200 and r.json()["hits"][0]["document"]["id"] == "100" and r.json()["max_score"] > 0
    r = server.put("/knowledgebase/100", headers=auth(), json={"answer": "glad to help"})
    assert r.status_code == 201 and r.json()["dtype"] == "question"
    r = server.post("/get_next_response", json={"user_id": "k", "text": "many thanks for the help"})
    assert r.json()["bubble"] == "glad to help"
    assert server.put("/knowledgebase/nope", headers=auth(), json={"answer": "x"}).status_code == 404
    bad = server.post("/knowledgebase", headers=auth(), json={"question": "q", "doctype": "weird"})
    assert bad.status_code == 400 and bad.json()["field"] == "doctype"
    assert server.post("/knowledgebase_search", json={"verified": True}).json()["field"] == "question"
    assert server.delete("/knowledgebase/100", headers=auth()).json()["found"] is True
    assert server.delete("/knowledgebase/100", headers=auth()).json()["found"] is False
    csv_text = "id,question,answer,verified\n200,do you ship abroad,Yes to 30 countries.,true\n"
    r = server.post("/knowledgebase/upload_csv", headers={**auth(), "Content-Type": "text/csv"}, content=csv_text)
    assert r.status_code == 201 and r.json()["created"] == 1
    r = server.post("/get_next_response", json={"user_id": "k", "text": "do you ship abroad?"})
    assert r.json()["bubble"] == "Yes to 30 countries."


def test_openapi_describes_the_routes(server):
    doc = server.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path, method in [
        ("/get_next_response", "post"),
        ("/decisiontable", "get"),
        ("/decisiontable", "post"),
        ("/decisiontable/{state}", "put"),
        ("/decisiontable/{state}", "delete"),
        ("/decisiontable_search", "post"),
        ("/decisiontable/upload_csv", "post"),
        ("/knowledgebase", "get"),
        ("/knowledgebase", "post"),
        ("/knowledgebase/{id}", "put"),
        ("/knowledgebase/{id}", "delete"),
        ("/knowledgebase_search", "post"),
        ("/knowledgebase/upload_csv", "post"),
    ]:
        assert method in doc["paths"][path], (path, method)
    responses = doc["paths"]["/get_next_response"]["post"]["responses"]
    assert set(responses) >= {"200", "204", "400", "404", "422"}
    assert doc["paths"]["/decisiontable"]["post"]["security"] == [{"bearer": []}]
