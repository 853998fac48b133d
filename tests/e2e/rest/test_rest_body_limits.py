"""Request bodies are limited while they are read: a declared length over the limit is
refused before a byte of the body is read, and a streamed body as soon as it passes the
limit (raw HTTP on 127.0.0.1, so the client can stop sending and wait)."""

from __future__ import annotations

import httpx
import pytest
from support.cli import run_cli
from support.rest import TOKEN, auth, helpdesk, raw_request, status_of


@pytest.fixture
async def server(serve, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    task = helpdesk(tmp_path, "serve:\n  public_api: [get_next_response]\n  max_upload_bytes: 2097152\n")
    return await serve(task)


def head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", *headers, "", ""]
    return "\r\n".join(lines).encode()


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(server):
    # 200 MB announced, nothing sent: an answer can only come from the header
    answer = await raw_request(server.port, head("/get_next_response", f"Content-Length: {200 << 20}"))
    assert status_of(answer) == 413, answer[:200]
    assert b'"field":"body"' in answer and b"1048576" in answer


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(server):
    # chunked, no length: 1.5 MiB sent of a body that never ends; the answer comes anyway
    chunk = b"a" * 65536
    frames = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(24)]
    answer = await raw_request(server.port, head("/get_next_response", "Transfer-Encoding: chunked"), frames)
    assert status_of(answer) == 413, answer[:200]


async def test_a_body_under_the_limit_is_read(server):
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        text = "my account is locked " + "x" * 9_000
        r = await client.post("/get_next_response", json={"user_id": "u", "text": text, "data": {"pad": "y" * 900_000}})
        assert r.status_code == 200


async def test_uploads_have_their_own_limit(server):
    rows = "".join(f"q{i},question number {i},answer {i},true\n" for i in range(40_000))
    big = ("id,question,answer,verified\n" + rows).encode()
    assert 1 << 20 < len(big) < 2 << 20 < len(big) * 2
    async with httpx.AsyncClient(base_url=server.http_url, timeout=60, headers=auth()) as client:
        r = await client.post("/knowledgebase/upload_csv", content=big, headers={"Content-Type": "text/csv"})
        assert r.status_code == 201 and r.json()["created"] == 40_000
    # over the upload limit (as curl sends a large body: it waits for "100 Continue", which never comes)
    for ctype in ("text/csv", "multipart/form-data; boundary=b"):
        request = (
            "POST /knowledgebase/upload_csv HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {2 * len(big)}\r\nExpect: 100-continue\r\n\r\n"
        )
        answer = await raw_request(server.port, request.encode())
        assert status_of(answer) == 413 and b"2097152" in answer, answer[:300]


async def test_the_limits_are_served_settings(serve, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_API_TOKEN", raising=False)
    server = await serve(helpdesk(tmp_path), settings={"max_body_bytes": 4096})
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        r = await client.post("/get_next_response", json={"user_id": "u", "text": "x" * 5000})
        assert r.status_code == 413 and "4096" in r.json()["error"]


def test_workbench_serve_overrides_the_limits(serve_process, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_API_TOKEN", raising=False)
    task = helpdesk(tmp_path)
    server = serve_process(task, args=("--max-body-bytes", "2048"))
    r = httpx.post(f"{server.http_url}/get_next_response", json={"user_id": "u", "text": "x" * 3000}, timeout=30)
    assert r.status_code == 413 and "2048" in r.json()["error"]
    refused = run_cli("serve", str(task), "--max-upload-bytes", "10")
    assert refused.returncode == 2 and "--max-upload-bytes" in refused.stderr
