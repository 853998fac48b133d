"""Fixtures of the decision-table tests: real SQLite stores, a real tantivy index, real task directories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workbench.engines.base import Context
from workbench.engines.decision_table.engine import DecisionTableEngine
from workbench.engines.decision_table.table import DecisionTable
from workbench.index.embedded import EmbeddedIndex
from workbench.message import Message
from workbench.store import open_store

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "starchat"
HELPDESK = REPO / "sample_tasks" / "helpdesk"


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "workbench.db")
    yield s
    s.close()


@pytest.fixture
def index():
    return EmbeddedIndex()


@pytest.fixture
def make_table(store, index):
    """``make_table(states_or_csv_text)``: a DecisionTable in the test's store."""

    def make(content, bot: str = "bot") -> DecisionTable:
        table = DecisionTable(store, index, bot)
        if isinstance(content, str):
            read = table.import_text(content, "test.csv")
            assert read.ok, [str(p) for p in read.errors]
        else:
            table.import_states(content)
        return table

    return make


@pytest.fixture
def helpdesk(tmp_path: Path):
    """A copy of sample_tasks/helpdesk (its store lands in the copy's data/)."""
    dest = tmp_path / "helpdesk"
    shutil.copytree(HELPDESK, dest, ignore=shutil.ignore_patterns("data"))
    return dest


class Chat:
    """Drives an engine turn by turn, keeping the state as the runtime would."""

    def __init__(self, engine: DecisionTableEngine, conversation_id: str = "c1", data: dict | None = None) -> None:
        self.engine = engine
        self.context = Context(conversation_id=conversation_id, bot=engine.bot, data=data or {}, task=engine.task)
        self.state = engine.initial_state()
        self.trace: dict = {}

    def greet(self) -> list[str]:
        turn = self.engine.greeting(self.state, self.context)
        if turn is None:
            return []
        self.state, self.trace = turn.state, turn.trace
        self.replies = turn.replies
        return [m.text for m in turn.replies]

    def say(self, text: str = "", **extra) -> list[str]:
        turn = self.engine.step(self.state, Message(text=text, **extra), self.context)
        assert not hasattr(turn, "__await__"), "use an async test for fallback bots"
        self.state, self.trace = turn.state, turn.trace
        self.replies = turn.replies
        return [m.text for m in turn.replies]
