"""No REST handler does its heavy work on the event loop: an import, a search, a turn's
engine step and its store write each run in a worker thread. Each test holds that work
at a gate and checks that other clients are answered meanwhile; work done on the loop
would hold the loop at the gate and the other clients' requests would time out. The
other clients run in threads of their own, so a held loop cannot hold them too.
(How long other clients wait is measured by benchmarks/rest_stall.py.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from support.rest import TOKEN, auth, helpdesk

from workbench.services.starchat import edits


class Gate:
    """Wraps a function so that each call waits at the gate until it is opened."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()

    def around(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def gated(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            self.opened.wait(20)
            return fn(*args, **kwargs)

        return gated

    async def wait_reached(self) -> None:
        assert await asyncio.to_thread(self.reached.wait, 20), "the gated work never started"


@pytest.fixture
async def server(serve, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    return await serve(helpdesk(tmp_path))


def ask(url: str, method: str = "GET", body: dict | None = None) -> int:
    """A request from another client, in a thread of its own: fails if not answered in 5 s."""
    with httpx.Client(timeout=5) as client:
        return client.request(method, url, json=body, headers=auth()).status_code


async def health_is_answered(server: Any) -> None:
    assert await asyncio.to_thread(ask, f"{server.http_url}/health") == 200


async def others_are_served(server: Any, pending: asyncio.Task) -> None:
    """While ``pending`` waits at its gate, /health and another person's turn are answered."""
    await health_is_answered(server)
    turn = {"user_id": "other", "text": "what are your opening hours"}
    assert await asyncio.to_thread(ask, f"{server.http_url}/get_next_response", "POST", turn) == 200
    assert not pending.done()


async def held(server: Any, gate: Gate, request: Any) -> httpx.Response:
    pending = asyncio.ensure_future(request)
    try:
        await gate.wait_reached()
        await others_are_served(server, pending)
    finally:
        gate.opened.set()
    return await asyncio.wait_for(pending, 30)


@pytest.mark.parametrize("what", ["knowledgebase", "decisiontable"])
async def test_an_upload_is_imported_off_the_loop(server, monkeypatch, what):
    gate = Gate()
    name = "import_qas" if what == "knowledgebase" else "import_table"
    monkeypatch.setattr(edits, name, gate.around(getattr(edits, name)))
    csv = (
        "id,question,answer,verified\n9,do you ship abroad,Yes.,true\n"
        if what == "knowledgebase"
        else "state,queries,bubble\npricing,how much,Free.\n"
    )
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30, headers=auth()) as client:
        upload = client.post(f"/{what}/upload_csv", content=csv, headers={"Content-Type": "text/csv"})
        assert (await held(server, gate, upload)).status_code == 201


async def test_a_search_runs_off_the_loop(server):
    gate = Gate()
    engine = server.ctx.task.engine("desk")
    kb_search = engine.kb.search
    engine.kb.search = gate.around(kb_search)
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=30, headers=auth()) as client:
            search = client.post("/knowledgebase_search", json={"question": "opening hours"})
            # the other client's turn asks the knowledge base too: it waits at the gate as well,
            # so here only /health is asked while the search is held
            pending = asyncio.ensure_future(search)
            await gate.wait_reached()
            await health_is_answered(server)
            assert not pending.done()
            gate.opened.set()
            assert (await asyncio.wait_for(pending, 30)).status_code == 200
    finally:
        gate.opened.set()
        engine.kb.search = kb_search


async def test_a_turns_engine_step_and_store_write_run_off_the_loop(server, monkeypatch):
    engine = server.ctx.task.engine("desk")
    step = Gate()
    monkeypatch.setattr(engine, "protocol_turn", step.around(engine.protocol_turn))
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30, headers=auth()) as client:
        turn = client.post("/get_next_response", json={"user_id": "slow", "text": "my account is locked"})
        pending = asyncio.ensure_future(turn)
        await step.wait_reached()
        await health_is_answered(server)
        step.opened.set()
        assert (await asyncio.wait_for(pending, 30)).status_code == 200

        write = Gate()
        monkeypatch.setattr(server.store, "commit_many", write.around(server.store.commit_many))
        turn = client.post("/get_next_response", json={"user_id": "slow", "text": "my account is locked"})
        pending = asyncio.ensure_future(turn)
        await write.wait_reached()
        await health_is_answered(server)
        assert not pending.done()  # acknowledged only once written
        write.opened.set()
        assert (await asyncio.wait_for(pending, 30)).status_code == 200
