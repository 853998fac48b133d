"""The Store contract: what every backend must do, run against each of them.

Conversations and messages, turns that are all-or-nothing, engine state, document sets
with revisions (decision tables and knowledge bases live in them), the ledger of handled
channel events, and schema migrations of an existing file.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from workbench.message import Message
from workbench.store import Commit, Record, Store, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path):
    s = open_store(tmp_path / "contract.db" if request.param == "sqlite" else request.getfixturevalue("pg_url"))
    yield s
    s.close()


def _turn(cid: str, text: str, state: dict | None = None) -> Commit:
    records = {cid: [Record(Message(text=text, id="you")), Record(Message(text=f"re: {text}", id="bot"), role="bot")]}
    return Commit(records=records, states=[(cid, "bot", state or {"n": 1})])


def test_a_conversation_keeps_its_turns_in_order(store: Store) -> None:
    cid = store.new_conversation("task", "ann", channel="websocket", world="start", data={"k": "v"})
    store.commit(_turn(cid, "one", {"n": 1}))
    store.commit(_turn(cid, "two", {"n": 2}))
    rows = store.messages(cid)
    assert [r["text"] for r in rows] == ["one", "re: one", "two", "re: two"]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert store.state(cid, "bot") == {"n": 2}
    assert store.states(cid) == {"bot": {"n": 2}}
    conv = store.conversation(cid)
    assert conv is not None and conv["data"] == {"k": "v"} and conv["channel"] == "websocket"
    assert store.find_conversation("task", "ann", "websocket") == cid
    assert store.find_conversation("task", "ann", "rest") is None
    assert store.latest_conversation()["id"] == cid


def test_a_group_commit_is_all_or_nothing(store: Store) -> None:
    a = store.new_conversation("task", "ann")
    b = store.new_conversation("task", "bob")
    # a value no backend can bind fails the whole group: the good turn is not written either
    broken = Commit(records={b: [Record(Message(text="y"), world=object())]})  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own driver error
        store.commit_many([_turn(a, "lost"), broken])
    assert store.messages(a) == [] and store.messages(b) == []
    assert store.state(a, "bot") is None
    store.commit_many([_turn(a, "after"), _turn(b, "after")])
    # the failure consumed no sequence numbers
    assert [r["seq"] for r in store.messages(a)] == [1, 2] and [r["seq"] for r in store.messages(b)] == [1, 2]


def test_engine_state_and_last_trace(store: Store) -> None:
    cid = store.new_conversation("task", "ann")
    assert store.last_trace(cid, "bot") is None
    store.commit(
        Commit(
            records={cid: [Record(Message(text="hi", id="bot"), agent="bot", role="bot", trace={"why": "greeting"})]}
        )
    )
    assert store.last_trace(cid, "bot") == {"why": "greeting"}


def test_every_turn_keeps_the_state_it_produced(store: Store) -> None:
    cid = store.new_conversation("task", "ann")
    assert store.state_history(cid) == []
    store.commit(_turn(cid, "one", {"n": 1}))
    store.commit(_turn(cid, "two", {"n": 2}))
    # a state set by hand between turns belongs after the last message written so far
    store.commit(Commit(states=[(cid, "bot", {"n": 20})], state_source="hand"))
    store.commit(Commit(records={cid: [Record(Message(text="x"))]}, states=[(cid, "other", {"o": 1})]))
    history = store.state_history(cid)
    assert [(h.bot, h.seq, h.state, h.source) for h in history] == [
        ("bot", 2, {"n": 1}, "turn"),
        ("bot", 4, {"n": 2}, "turn"),
        ("bot", 4, {"n": 20}, "hand"),
        ("other", 5, {"o": 1}, "turn"),
    ]
    assert all(h.conversation_id == cid and h.created > 0 for h in history)
    assert [h.state for h in store.state_history(cid, "other")] == [{"o": 1}]
    # the current state is still the latest one
    assert store.state(cid, "bot") == {"n": 20}
    assert store.states_at(cid, 0) == {}
    assert store.states_at(cid, 2) == {"bot": {"n": 1}}
    assert store.states_at(cid, 3) == {"bot": {"n": 1}}
    assert store.states_at(cid, 4) == {"bot": {"n": 20}}
    assert store.states_at(cid, 99) == {"bot": {"n": 20}, "other": {"o": 1}}
    # another conversation's history is its own
    other = store.new_conversation("task", "bob")
    store.commit(_turn(other, "hi", {"n": 7}))
    assert [h.state for h in store.state_history(other)] == [{"n": 7}]
    assert len(store.state_history(cid)) == 4


def test_state_history_is_written_with_its_turn_or_not_at_all(store: Store) -> None:
    a = store.new_conversation("task", "ann")
    b = store.new_conversation("task", "bob")
    broken = Commit(records={b: [Record(Message(text="y"), world=object())]})  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own driver error
        store.commit_many([_turn(a, "lost", {"n": 1}), broken])
    assert store.state_history(a) == []
    store.commit_many([_turn(a, "kept", {"n": 2}), _turn(b, "kept", {"n": 3})])
    assert [(h.seq, h.state) for h in store.state_history(a)] == [(2, {"n": 2})]
    assert [(h.seq, h.state) for h in store.state_history(b)] == [(2, {"n": 3})]


def test_old_state_history_is_pruned_by_age_or_count(store: Store) -> None:
    a = store.new_conversation("task", "ann")
    b = store.new_conversation("task", "bob")
    for n in range(5):
        store.commit(_turn(a, f"a{n}", {"n": n}))
        store.commit(_turn(b, f"b{n}", {"n": n}))
    assert store.prune_state_history(keep=2) == 6
    assert [h.state["n"] for h in store.state_history(a)] == [3, 4]
    assert [h.state["n"] for h in store.state_history(b)] == [3, 4]
    assert store.prune_state_history(before=0) == 0
    cutoff = max(h.created for h in store.state_history(a) + store.state_history(b)) + 1
    assert store.prune_state_history(before=cutoff) == 4
    assert store.state_history(a) == [] and store.state_history(b) == []
    # the current state is not history: it stays
    assert store.state(a, "bot") == {"n": 4}


def test_the_document_sets_written_are_listed(store: Store) -> None:
    assert store.document_sets() == []
    store.documents("knowledge_base:desk").write([("q", {"question": "?"})])
    store.documents("decision_table:desk").set_source("t.csv", "abc")
    store.documents("never_written")
    assert store.document_sets() == ["decision_table:desk", "knowledge_base:desk"]


def test_document_sets_version_every_write(store: Store) -> None:
    docs = store.documents("decision_table:desk")
    assert docs.revision() == 0 and docs.read() == [] and docs.count() == 0
    r1 = docs.write([("a", {"v": 1}), ("b", {"v": 2})])
    r2 = docs.write([("a", {"v": 3}), ("c", {"v": 4})])
    assert (r1, r2) == (1, 2)
    assert docs.read() == [("a", {"v": 3}), ("b", {"v": 2}), ("c", {"v": 4})]  # a replaced one keeps its place
    assert docs.ids() == ["a", "b", "c"]
    assert docs.read(["c", "zz", "a"]) == [("a", {"v": 3}), ("c", {"v": 4})]
    changed = docs.changes(1)
    assert changed.revision == 2 and changed.upserted == [("a", {"v": 3}), ("c", {"v": 4})] and changed.deleted == []
    docs.write(deletes=["b"])
    assert docs.changes(2).deleted == ["b"] and docs.count() == 2
    docs.write([("d", {"v": 5})], replace=True)
    assert docs.read() == [("d", {"v": 5})]
    assert sorted(docs.changes(3).deleted) == ["a", "c"]
    assert docs.changes(-1).upserted == [("d", {"v": 5})]
    # another set is separate, and the same name is the same set
    assert store.documents("knowledge_base:desk").count() == 0
    assert store.documents("decision_table:desk").revision() == docs.revision()


def test_document_sets_remember_their_source(store: Store) -> None:
    docs = store.documents("knowledge_base:desk")
    assert docs.source().digest is None
    docs.set_source("kb.csv", "abc")
    src = docs.source()
    assert (src.path, src.digest) == ("kb.csv", "abc") and src.imported is not None


def test_document_sets_read_a_few_fields_of_every_document(store: Store) -> None:
    docs = store.documents("decision_table:desk")
    docs.write([("a", {"q": ["x", "y"], "n": 2, "s": "[not json]", "b": True, "o": {"k": 1}}), ("b", {"n": 0})])
    assert list(docs.read_fields(["q", "n", "s", "b", "o", "missing"])) == [
        ("a", (["x", "y"], 2, "[not json]", True, {"k": 1}, None)),
        ("b", (None, 0, None, None, None, None)),
    ]
    with pytest.raises(ValueError):
        list(docs.read_fields(["q') --"]))
    many = store.documents("big")
    many.write((f"id{i:05d}", {"i": i}) for i in range(12_000))  # more than one batch
    assert [v[0] for _, v in many.read_fields(["i"])] == list(range(12_000))


def test_document_sets_keep_what_was_derived_from_them(store: Store) -> None:
    docs = store.documents("decision_table:desk")
    assert docs.derived("compiled") is None
    rev = docs.write([("a", {"v": 1})])
    docs.set_derived("compiled", rev, b"\x00blob")
    assert docs.derived("compiled") == (rev, b"\x00blob")
    docs.set_derived("compiled", rev + 1, b"newer")  # replaced, not added
    assert docs.derived("compiled") == (rev + 1, b"newer")
    assert docs.derived("other") is None and store.documents("knowledge_base:desk").derived("compiled") is None


def test_reading_many_ids_keeps_the_set_order(store: Store) -> None:
    docs = store.documents("big")
    docs.write((f"id{i:04d}", {"i": i}) for i in range(1200))
    got = docs.read([f"id{i:04d}" for i in reversed(range(1200))])
    assert [d["i"] for _, d in got] == list(range(1200))


def test_vectors_are_kept_per_model_and_key(store: Store) -> None:
    mini = store.vectors("mini")
    assert mini.count() == 0 and mini.get_many(["k1"]) == {}
    one, two = bytes(range(16)), b"\x00\x00\x80\x3f" * 4
    assert mini.put_many([("k1", one), ("k2", two)]) == 2
    assert mini.get_many(["k2", "k1", "missing"]) == {"k1": one, "k2": two}
    mini.put_many([("k1", two)])  # the same key replaces
    assert mini.get_many(["k1"]) == {"k1": two} and mini.count() == 2
    # another model's vectors are separate
    assert store.vectors("other").get_many(["k1"]) == {} and store.vectors("other").count() == 0
    # many keys at once (more than one statement's worth of parameters)
    mini.put_many((f"n{i}", one) for i in range(1200))
    assert len(mini.get_many(f"n{i}" for i in range(1200))) == 1200


def test_a_replayed_event_is_recognised_within_its_window(store: Store) -> None:
    assert store.claim_event("messenger", "mid.1", window=3600) is True
    assert store.claim_event("messenger", "mid.1", window=3600) is False
    assert store.claim_event("other", "mid.1", window=3600) is True
    # outside the window the old claim is forgotten
    assert store.claim_event("messenger", "mid.1", window=-1) is True


def test_concurrent_writers_share_one_store(store: Store) -> None:
    cids = [store.new_conversation("task", f"p{i}") for i in range(4)]
    errors: list[BaseException] = []

    def work(cid: str) -> None:
        try:
            for n in range(25):
                store.commit(_turn(cid, f"m{n}", {"n": n}))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in cids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    for cid in cids:
        assert [r["seq"] for r in store.messages(cid)] == list(range(1, 51))
        assert store.state(cid, "bot") == {"n": 24}


def test_an_older_sqlite_file_is_migrated_with_its_tables_and_knowledge_bases(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE conversations (id TEXT PRIMARY KEY, task TEXT, person TEXT, channel TEXT, created FLOAT,
            updated FLOAT, status TEXT, world TEXT, data TEXT, meta TEXT);
        CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id TEXT, seq INTEGER, world TEXT,
            world_instance TEXT, agent TEXT, role TEXT, created FLOAT, text TEXT, act TEXT, trace TEXT);
        CREATE TABLE engine_state (conversation_id TEXT, bot TEXT, state TEXT, updated FLOAT,
            PRIMARY KEY (conversation_id, bot));
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO meta VALUES ('schema_version', '1');
        INSERT INTO conversations VALUES ('c1', 't', 'ann', 'local', 1, 1, 'ended', 'w', '{}', '{}');
        CREATE TABLE dt_states (bot TEXT, state TEXT, doc TEXT, rev INTEGER, position INTEGER, updated REAL,
            PRIMARY KEY (bot, state));
        CREATE TABLE dt_deleted (bot TEXT, state TEXT, rev INTEGER, PRIMARY KEY (bot, state));
        CREATE TABLE dt_tables (bot TEXT PRIMARY KEY, rev INTEGER, source TEXT, source_hash TEXT, imported REAL);
        INSERT INTO dt_tables VALUES ('desk', 3, 'table.csv', 'h1', 5);
        INSERT INTO dt_states VALUES ('desk', 'start', '{"state": "start", "bubble": "Hi"}', 3, 1, 5);
        CREATE TABLE knowledge_base (bot TEXT, id TEXT, conversation TEXT, index_in_conversation INTEGER,
            question TEXT, answer TEXT, verified INTEGER, topics TEXT, doctype TEXT, state TEXT, status INTEGER,
            PRIMARY KEY (bot, id));
        INSERT INTO knowledge_base VALUES ('desk', 'q1', '', NULL, 'when open', '9-5', 1, '', 'normal', '', 0);
        CREATE TABLE kb_sources (bot TEXT PRIMARY KEY, source TEXT, source_hash TEXT, imported REAL);
        INSERT INTO kb_sources VALUES ('desk', 'kb.csv', 'h2', 6);
        """
    )
    conn.close()
    store = open_store(path)
    try:
        assert store.conversation("c1")["person"] == "ann"
        table = store.documents("decision_table:desk")
        assert table.revision() == 3 and table.read() == [("start", {"state": "start", "bubble": "Hi"})]
        assert table.source().digest == "h1"
        kb = store.documents("knowledge_base:desk")
        ((qid, qa),) = kb.read()
        assert qid == "q1" and qa["question"] == "when open" and qa["verified"] is True
        assert kb.source().digest == "h2"
    finally:
        store.close()
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"dt_states", "dt_tables", "knowledge_base", "kb_sources"}


def test_a_file_from_before_state_history_starts_with_an_empty_one(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    store = open_store(path)
    cid = store.new_conversation("task", "ann")
    store.commit(_turn(cid, "before", {"n": 1}))
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE state_history; UPDATE meta SET value = '4' WHERE key = 'schema_version';")
    conn.close()
    store = open_store(path)
    try:
        assert store.state_history(cid) == [] and store.state(cid, "bot") == {"n": 1}
        store.commit(_turn(cid, "after", {"n": 2}))
        assert [(h.seq, h.state) for h in store.state_history(cid)] == [(4, {"n": 2})]
    finally:
        store.close()


def test_a_file_from_a_newer_workbench_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema_version', '999');"
    )
    conn.close()
    with pytest.raises(RuntimeError, match="schema version 999"):
        open_store(path)
