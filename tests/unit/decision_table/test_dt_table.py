"""The store-backed table: persistence, edits reaching other instances and the index, seeding, ranking."""

from __future__ import annotations

import random

import pytest
from support import STARCHAT

from workbench.engines.decision_table.analyzer import AnalyzerError
from workbench.engines.decision_table.model import State
from workbench.engines.decision_table.table import DecisionTable
from workbench.engines.decision_table.table_io import TableFileError, read_file
from workbench.index.embedded import EmbeddedIndex
from workbench.store import open_store


def test_states_persist_in_the_store_and_reach_other_instances(tmp_path, make_table, store):
    table = make_table(read_file(STARCHAT / "sample_state_machine_specification.csv").states)
    assert len(table) == 12
    # another process: its own connection and its own index
    other_store = open_store(tmp_path / "workbench.db")
    other = DecisionTable(other_store, EmbeddedIndex(), "bot")
    assert other.names() == table.names()
    assert other.rank("my account is locked").candidates[0].state == "account_locked"

    table.update("account_locked", {"analyzer": 'bor(vOneKeyword("frozen"))'})
    table.delete("call_operator")
    table.upsert(State(state="pricing", queries=["how much does it cost", "what is the price"], bubble="It is free."))
    # the other instance sees every edit at its next read, and its index follows
    assert other.get("account_locked").analyzer == 'bor(vOneKeyword("frozen"))'
    assert other.rank("my account is frozen").candidates[0].state == "account_locked"
    assert all(c.state != "account_locked" for c in other.rank("my account is locked").candidates)
    assert "call_operator" not in other.names()
    assert other.rank("what is the price").candidates[0].state == "pricing"
    assert other.names()[-1] == "pricing"
    other_store.close()


def test_edits_reach_the_index_incrementally(make_table, index):
    table = make_table([State(state="a", queries=["apple pie recipe"]), State(state="b", queries=["banana bread"])])
    assert index.count(table.collection) == 2
    table.update("a", {"queries": ["cherry tart"]})
    assert index.count(table.collection) == 2
    assert table.rank("apple pie").candidates == []
    assert table.rank("cherry tart").candidates[0].state == "a"
    table.delete("b")
    assert index.count(table.collection) == 1


def test_invalid_states_are_refused_before_anything_is_written(make_table):
    table = make_table([State(state="a")])
    rev = table.revision
    with pytest.raises(AnalyzerError):
        table.upsert({"state": "b", "analyzer": "band(vOneKeyword("})
    with pytest.raises(ValueError):
        table.upsert({"state": "c", "max_state_count": -1})
    assert table.names() == ["a"] and table.revision == rev


def test_seeding_imports_once_and_again_when_the_file_changes(tmp_path, store, index):
    src = tmp_path / "table.csv"
    src.write_text("state,bubble\nhello,Hi\n", encoding="utf-8")
    table = DecisionTable(store, index, "bot")
    assert "imported: 1 states" in table.seed(src)
    assert table.seed(src) is None  # unchanged: the store keeps its edits
    table.update("hello", {"bubble": "Hello there"})
    assert DecisionTable(store, index, "bot").seed(src) is None
    assert table.get("hello").bubble == "Hello there"
    src.write_text("state,bubble\nhello,Hi again\nbye,Bye\n", encoding="utf-8")
    note = DecisionTable(store, index, "bot").seed(src)
    assert "re-imported" in note and "2 states" in note
    assert table.get("hello").bubble == "Hi again" and table.names() == ["hello", "bye"]


def test_seeding_a_defective_file_fails_unless_asked_to_skip(tmp_path, store, index):
    src = tmp_path / "t.csv"
    src.write_bytes((STARCHAT / "sample_state_machine_specification_2016.csv").read_bytes())
    table = DecisionTable(store, index, "bot")
    with pytest.raises(TableFileError) as info:
        table.seed(src)
    assert len(info.value.problems) == 2 and "row 4" in str(info.value)
    assert "2 row(s) skipped" in table.seed(src, skip_invalid=True)
    assert len(table) == 9


def test_rank_explains_and_respects_evaluation_class_and_max_state_count(make_table):
    states = read_file(STARCHAT / "decision_table_starchat_doc.csv").states
    states.append(
        State(
            state="docker_other",
            analyzer='band(vOneKeyword("docker"), vOneKeyword("install.*"))',
            bubble="other class",
            evaluation_class="beta",
        )
    )
    table = make_table(states)
    r = table.rank("how do I install with docker")
    assert r.candidates[0].state == "docker_install"
    assert r.candidates[0].by == "analyzer"
    assert any("docker" in w for w in r.candidates[0].why)
    assert all(c.state != "docker_other" for c in r.candidates)
    beta = table.rank("how do I install with docker", evaluation_class="beta")
    assert [c.state for c in beta.candidates] == ["docker_other"]
    # retrieval over queries explains which query was closest
    hello = table.rank("hello")
    assert hello.candidates[0].state == "hello"
    assert any("search()" in w for w in hello.candidates[0].why)
    limited = table.rank("how do I install with docker", counts={"docker_install": 1})
    assert limited.candidates[0].state == "docker_install"  # max_state_count 0: unlimited
    table.update("docker_install", {"max_state_count": 1})
    again = table.rank("how do I install with docker", counts={"docker_install": 1})
    assert "docker_install" in again.exhausted and all(c.state != "docker_install" for c in again.candidates)


def test_prefilter_gives_the_same_ranking_as_evaluating_everything(make_table):
    rng = random.Random(3)
    states = read_file(STARCHAT / "decision_table_starchat_doc.csv").states
    states += read_file(STARCHAT / "sample_state_machine_specification.csv").states[1:]
    vocab = [
        "install",
        "docker",
        "index",
        "indices",
        "create",
        "elasticsearch",
        "delete",
        "help",
        "open",
        "source",
        "problem",
        "account",
        "locked",
        "password",
        "reset",
        "forgot",
        "call",
        "operator",
        "talk",
        "test",
        "send",
        "don't",
        "hello",
        "ciao",
        "standalone",
        "load",
        "config",
        "file",
        "decision",
        "table",
        "damn",
    ]
    seen = {s.state for s in states}
    for i in range(300):
        a, b = rng.sample(vocab, 2)
        name = f"gen_{i}"
        if name not in seen:
            states.append(
                State(state=name, analyzer=f'band(vOneKeyword("{a}"), bor(vOneKeyword("{b}.*"), keyword("x*")))')
            )
    states = list({s.state: s for s in states}.values())
    table = make_table(states)
    evaluated_less = False
    for _ in range(300):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 5)))
        fast = table.rank(text, limit=None, explain=False)
        full = table.rank(text, limit=None, explain=False, prefilter=False)
        assert [(c.state, c.score) for c in fast.candidates] == [(c.state, c.score) for c in full.candidates], text
        evaluated_less |= fast.evaluated < full.evaluated
    assert evaluated_less


def test_import_text_refuses_defects_unless_skip_invalid(make_table):
    table = make_table([State(state="a")])
    text = (STARCHAT / "sample_state_machine_specification_2016.csv").read_text(encoding="utf-8")
    read = table.import_text(text, "up.csv")
    assert len(read.errors) == 2 and table.names() == ["a"]
    table.import_text(text, "up.csv", skip_invalid=True, replace=True)
    assert len(table) == 9 and "a" not in table
    assert table.export("json").startswith("[")
