"""Fixtures every test folder shares: servers on 127.0.0.1 that are always stopped."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from support.servers import InLoopServer, ServeProcess

# Hybrid matching answers once the embedding model has loaded in the background, so a test
# that does not wait for it would see BM25 or hybrid depending on the machine's speed. Bots
# that name no mode match with BM25 here (subprocesses inherit it); the retrieval tests set
# `retrieval: {mode: hybrid}` and wait for the model (tests/support/retrieval.py).
os.environ.setdefault("WORKBENCH_RETRIEVAL", "bm25")


@pytest.fixture
async def serve(tmp_path: Path):
    """``await serve(task_dir, settings=None, password=None, db=None)``: a server in the test's loop."""
    running: list[InLoopServer] = []

    async def start(
        task_dir: Path, settings: dict[str, Any] | None = None, password: str | None = None, db: Path | None = None
    ) -> InLoopServer:
        server = InLoopServer(task_dir, db or tmp_path / f"wb{len(running)}.db", settings, password)
        running.append(server)
        return await server.start()

    yield start
    for server in reversed(running):
        await server.stop()


@pytest.fixture
def serve_process():
    """``serve_process(task_dir, port=None, args=())``: `workbench serve` in a subprocess (killed at the end)."""
    started: list[ServeProcess] = []

    def start(task_dir: Path, port: int | None = None, args: tuple[str, ...] = ()) -> ServeProcess:
        proc = ServeProcess(task_dir, port, args)
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.kill()
