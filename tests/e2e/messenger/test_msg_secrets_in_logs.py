"""Issue 8 item 9: the Messenger channel never logs a secret, even at DEBUG: not the verify
token (right or wrong), not the app secret, not the page token in the Graph API's URLs."""

from __future__ import annotations

import logging

import pytest
from support import copy_sample, wait_for
from support.messenger import APP_SECRET, VERIFY_TOKEN, graph_double, post, sign, text


@pytest.fixture
async def graph(monkeypatch):
    async with graph_double(monkeypatch) as double:
        yield double


async def test_msg_no_secret_reaches_a_log_line(graph, serve, tmp_path, caplog) -> None:
    import httpx

    caplog.set_level(logging.DEBUG)
    server = await serve(copy_sample("echo", tmp_path), settings={"messenger": {"backoff": 0.01}})
    url = f"{server.http_url}/webhook/messenger"
    wrong_token = "a-wrong-verify-token-guess"
    async with httpx.AsyncClient(timeout=10) as client:
        for token in (VERIFY_TOKEN, wrong_token):
            await client.get(url, params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"})
    body = b'{"object": "page", "entry": []}'
    await post(server.http_url, body=body, signature=sign(body, "a-guessed-secret"))
    # a 5xx and a 4xx from the Graph API: the errors are logged with their URL's context
    graph.fail_next(500)
    graph.fail_next(400, message="(#100) refused")
    assert (await post(server.http_url, text("61", "hello"))).status_code == 200
    await wait_for(lambda: "refused" in caplog.text, 10, "the Graph API error to be logged")
    assert (await post(server.http_url, text("61", "again"))).status_code == 200
    await wait_for(lambda: "again" in graph.texts("61"), 10, "the reply")

    # what this test's own client (standing in for Facebook) logs about its requests is not the server's
    server_side = [r for r in caplog.records if not (r.name == "httpx" and "/webhook/messenger" in r.getMessage())]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in server_side)
    assert "webhook verified" in logged and "verification refused" in logged  # the requests were logged...
    assert "HTTP Request" in logged and "access_token=[redacted]" in logged
    for secret in (VERIFY_TOKEN, wrong_token, APP_SECRET, graph.token, sign(body, "a-guessed-secret")[7:]):
        assert secret not in logged  # ...without their secrets
