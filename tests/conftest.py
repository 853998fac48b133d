"""Fixtures every kind of test shares (the helpers behind them live in tests/support):

- servers on 127.0.0.1 that are always stopped: ``serve`` (in the test's loop), ``serve_in_thread``
  (for synchronous tests), ``serve_process`` (`workbench serve` as a subprocess);
- Messenger: ``graph`` (the Graph API double, with the environment pointing at it) and ``messenger``
  (a task's server with its webhook);
- real parts for the unit tests: ``task_dir``, ``store``, ``index``, ``helpdesk``, ``make_table``
  (a decision table), ``build`` (a form engine from YAML text);
- PostgreSQL: ``postgres`` (a throwaway server, started once per session; skipped with the reason
  when PostgreSQL is not installed) and ``pg_url`` (a URL whose tables live in a fresh schema);
- search servers: ``osmem`` (osmem-server, an in-memory OpenSearch-compatible server, once per
  session) for the index contract suite.
- model bots: ``tiny_models`` (tiny random transformers models saved once per session) and
  ``openai_double`` (an OpenAI-compatible server double on 127.0.0.1).

And one guard for the whole run: no test leaves a store in the repository's fixtures or
sample tasks (``repository_stays_clean``).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import FIXTURES, SAMPLES, copy_sample, write_task
from support.engines import TODAY, Chat
from support.graph_double import GraphDouble
from support.messenger import Webhook, graph_env
from support.openai_double import OpenAIDouble
from support.servers import InLoopServer, LoopThread, ServeProcess, serve_app

# -- the repository ----------------------------------------------------------------------------


def _stores_in_repository() -> set[Path]:
    return {p for root in (FIXTURES, SAMPLES) for p in root.rglob(".workbench")}


@pytest.fixture(scope="session", autouse=True)
def repository_stays_clean():
    """A test that opens a task's default store must work on a copy (copy_sample, tmp_path):
    fails the run, naming the folders, when one was left in tests/fixtures or sample_tasks."""
    before = _stores_in_repository()
    yield
    left = sorted(str(p) for p in _stores_in_repository() - before)
    assert not left, f"the tests left stores in the repository (use a copy of the task): {left}"


# -- servers ------------------------------------------------------------------------------------

# Hybrid matching answers once the embedding model has loaded in the background, so a test
# that does not wait for it would see BM25 or hybrid depending on the machine's speed. Bots
# that name no mode match with BM25 here (subprocesses inherit it); the retrieval tests set
# `retrieval: {mode: hybrid}` and wait for the model (tests/support/retrieval.py).
os.environ.setdefault("WORKBENCH_RETRIEVAL", "bm25")


@pytest.fixture
async def serve(tmp_path: Path):
    """``await serve(task_dir, settings=None, password=None, db=None, providers=None)``: a task's
    server in the test's loop (``providers``: route modules instead of the server's own)."""
    running: list[InLoopServer] = []

    async def start(
        task_dir: Path,
        settings: dict[str, Any] | None = None,
        password: str | None = None,
        db: Path | None = None,
        providers: list[str] | None = None,
    ) -> InLoopServer:
        server = InLoopServer(task_dir, db or tmp_path / f"wb{len(running)}.db", settings, password, providers)
        running.append(server)
        return await server.start()

    yield start
    for server in reversed(running):
        await server.stop()


@pytest.fixture
def serve_in_thread(tmp_path: Path):
    """``serve_in_thread(task_dir, settings=None, password=None, db=None)``: the same server for a
    synchronous test, in an event loop of its own thread."""
    loop = LoopThread()
    running: list[InLoopServer] = []

    def start(
        task_dir: Path, settings: dict[str, Any] | None = None, password: str | None = None, db: Path | None = None
    ) -> InLoopServer:
        server = InLoopServer(task_dir, db or tmp_path / f"wb{len(running)}.db", settings, password)
        running.append(server)
        return loop.run(server.start())

    yield start
    for server in reversed(running):
        loop.run(server.stop())
    loop.close()


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


# -- Messenger ----------------------------------------------------------------------------------


@pytest.fixture
async def graph(monkeypatch: pytest.MonkeyPatch):
    """The Graph API double, served on 127.0.0.1; the environment's WORKBENCH_FB_* point at it."""
    double = GraphDouble()
    server = await serve_app(double.app())
    for name, value in graph_env(double, server.url).items():
        monkeypatch.setenv(name, value)
    double.url = server.url
    yield double
    await server.stop()


@pytest.fixture
async def messenger(graph: GraphDouble, serve):
    """``await messenger(task_dir, settings=None, db=None)``: the task's server with its webhook
    (``settings``: the Messenger channel's, over quick retries). The double is set up first, so
    it is still there while the server shuts down (and sends what is queued)."""
    clients: list[httpx.AsyncClient] = []

    async def start(task_dir: Path, settings: dict[str, Any] | None = None, db: Path | None = None) -> Webhook:
        server = await serve(task_dir, settings={"messenger": {"backoff": 0.01, **(settings or {})}}, db=db)
        clients.append(httpx.AsyncClient(timeout=10))
        return Webhook(server, clients[-1], graph)

    yield start
    for client in clients:
        await client.aclose()


# -- real parts for unit tests ------------------------------------------------------------------


@pytest.fixture
def task_dir(tmp_path: Path) -> Callable[..., Path]:
    """``task_dir(task_yml, worlds_py=None, name="task", tests=None)`` writes a task into tmp_path."""

    def make(
        task_yml: str, worlds_py: str | None = None, name: str = "task", tests: dict[str, str] | None = None
    ) -> Path:
        return write_task(tmp_path / name, task_yml, worlds_py, tests)

    return make


@pytest.fixture
def store(tmp_path: Path):
    """A real SQLite store in tmp_path, closed at the end."""
    from workbench.store import open_store

    s = open_store(tmp_path / "workbench.db")
    yield s
    s.close()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the whole session (support/postgres.py)."""
    from support.postgres import PostgresServer, missing_reason

    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def osmem():
    """osmem-server on 127.0.0.1 for the whole session (tests/support/search_servers.py)."""
    from support.search_servers import osmem_missing

    reason = osmem_missing()
    if reason is not None:
        pytest.skip(reason)
    from osmem_server import OsmemServer

    server = OsmemServer.start(japanese=False, addr="127.0.0.1:0")
    yield server
    server.close()


@pytest.fixture
def pg_url(postgres) -> Any:
    """A PostgreSQL store URL of its own (a fresh schema, dropped afterwards)."""
    url = postgres.schema_url()
    yield url
    postgres.drop_schema(url)


@pytest.fixture
def index():
    """A real (in-memory) tantivy index."""
    from workbench.index.embedded import EmbeddedIndex

    return EmbeddedIndex()


@pytest.fixture
def helpdesk(tmp_path: Path) -> Path:
    """A copy of sample_tasks/helpdesk (its store lands in the copy's data/)."""
    return copy_sample("helpdesk", tmp_path)


@pytest.fixture
def make_table(store, index):
    """``make_table(states_or_csv_text, bot="bot")``: a DecisionTable in the test's store."""
    from workbench.engines.decision_table.table import DecisionTable

    def make(content: Any, bot: str = "bot") -> DecisionTable:
        table = DecisionTable(store, index, bot)
        if isinstance(content, str):
            read = table.import_text(content, "test.csv")
            assert read.ok, [str(p) for p in read.errors]
        else:
            table.import_states(content)
        return table

    return make


@pytest.fixture
def build(tmp_path: Path, index):
    """``build(forms_yaml, nlu_yaml=None, registry=None, **engine_options) -> Chat``: a form
    engine (with understanding over the real index when NLU data is given)."""
    from workbench.engines.form import FormEngine
    from workbench.engines.form.spec import check_actions, load_forms
    from workbench.engines.nlu import NLU, load_nlu

    def make(forms: str, nlu: str | None = None, registry: Any = None, **options: Any) -> Chat:
        forms_file = tmp_path / "forms.yml"
        forms_file.write_text(textwrap.dedent(forms), encoding="utf-8")
        defs, lines = load_forms(forms_file)
        problems = check_actions(defs, registry, forms_file, lines)
        assert not problems, problems
        understanding = None
        if nlu is not None:
            nlu_file = tmp_path / "nlu.yml"
            nlu_file.write_text(textwrap.dedent(nlu), encoding="utf-8")
            understanding = NLU(load_nlu(nlu_file), index=index, collection="nlu:test", today=TODAY)
        engine = FormEngine(defs, nlu=understanding, registry=registry, today=TODAY, **options)
        return Chat(engine, registry=registry, bot="bot")

    return make


# -- model bots ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random models built from a config and saved with save_pretrained, once per session:
    ``causal`` (a chat template), ``plain`` (causal, no template: the prompt format) and ``seq2seq``."""
    from workbench.engines.models import tiny

    root = tmp_path_factory.mktemp("models")
    return {
        "causal": tiny.build(root / "causal", "causal"),
        "plain": tiny.build(root / "plain", "causal", chat_template=False),
        "seq2seq": tiny.build(root / "seq2seq", "seq2seq", chat_template=False),
    }


@pytest.fixture
async def openai_double():
    """An OpenAI-compatible server double on 127.0.0.1 (``.base_url`` is its /v1); stopped after the test."""
    double = OpenAIDouble()
    server = await serve_app(double.app())
    double.url = server.url
    yield double
    double.release()
    await server.stop()


@pytest.fixture
def threaded_openai_double():
    """(the OpenAI double, its loop): served from a loop in a thread of its own, for tests that
    block (on subprocesses, on a browser); release it with ``loop.loop.call_soon_threadsafe``."""
    loop = LoopThread()
    double = OpenAIDouble()
    server = loop.run(serve_app(double.app()))
    double.url = server.url
    yield double, loop
    loop.loop.call_soon_threadsafe(double.release)
    loop.run(server.stop())
    loop.close()
