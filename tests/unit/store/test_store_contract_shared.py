"""The Store contract when several processes share one store (``serve --workers N`` on SQLite,
instances on several machines on PostgreSQL), run against each backend: a second handle on the
same store stands for a second process. Also `workbench store copy` between backends, and the
PostgreSQL-only parts (schemas, migrations, URLs without passwords)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from workbench.message import Message
from workbench.store import Commit, ConversationMoved, Record, Store, open_store
from workbench.store.copy import TABLES, NotEmpty, copy_store, totals


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path):
    s = open_store(tmp_path / "shared.db" if request.param == "sqlite" else request.getfixturevalue("pg_url"))
    yield s
    s.close()


@pytest.fixture
def other(store: Store):
    """A second handle on the same store: another process."""
    s = open_store(store.path)
    yield s
    s.close()


def _turn(cid: str, text: str, state: dict | None = None, fence: int | None = None) -> Commit:
    records = {cid: [Record(Message(text=text, id="you")), Record(Message(text=f"re: {text}", id="bot"), role="bot")]}
    return Commit(
        records=records, states=[(cid, "bot", state or {"n": 1})], fences={} if fence is None else {cid: fence}
    )


def test_a_claim_fences_off_the_process_that_had_the_conversation(store: Store, other: Store) -> None:
    cid = store.new_conversation("task", "ann", channel="websocket")
    mine = store.claim_conversation(cid)
    assert mine is not None
    store.commit(_turn(cid, "one", {"n": 1}, fence=mine))
    theirs = other.claim_conversation(cid)
    assert theirs is not None and theirs > mine
    # the process that lost it can write nothing more: not a turn, not a column
    with pytest.raises(ConversationMoved):
        store.commit(_turn(cid, "late", {"n": 99}, fence=mine))
    assert store.update_conversation(cid, fence=mine, status="ended") is False
    # the one that took it over goes on where it was, with the next message numbers
    other.commit(_turn(cid, "two", {"n": 2}, fence=theirs))
    assert other.update_conversation(cid, fence=theirs, world="talk") is True
    rows = store.messages(cid)
    assert [r["text"] for r in rows] == ["one", "re: one", "two", "re: two"]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    conv = store.conversation(cid)
    assert conv["status"] == "active" and conv["world"] == "talk" and conv["epoch"] == theirs
    assert store.state(cid, "bot") == {"n": 2}
    assert store.claim_conversation("no-such-conversation") is None


def test_a_fenced_turn_fails_its_group_and_nothing_of_it_is_written(store: Store, other: Store) -> None:
    a = store.new_conversation("task", "ann")
    b = store.new_conversation("task", "bob")
    stale = store.claim_conversation(b)
    other.claim_conversation(b)
    with pytest.raises(ConversationMoved):
        store.commit_many([_turn(a, "fine"), _turn(b, "stale", fence=stale)])
    assert store.messages(a) == [] and store.messages(b) == []
    store.commit(_turn(a, "again"))
    assert [r["seq"] for r in store.messages(a)] == [1, 2]


def test_two_processes_writing_one_conversation_keep_its_order(store: Store, other: Store) -> None:
    cid = store.new_conversation("task", "ann")
    errors: list[BaseException] = []

    def work(handle: Store, name: str) -> None:
        try:
            for n in range(20):
                handle.commit(_turn(cid, f"{name}{n}", {"n": n}))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(h, name)) for h, name in ((store, "a"), (other, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    rows = store.messages(cid)
    assert [r["seq"] for r in rows] == list(range(1, 81))
    # each turn's two messages are next to each other: turns never interleave
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        assert second["text"] == f"re: {first['text']}"


def test_a_document_set_written_by_one_process_is_read_by_the_other(store: Store, other: Store) -> None:
    mine, theirs = store.documents("decision_table:desk"), other.documents("decision_table:desk")
    assert theirs.revision() == 0
    rev = mine.write([("start", {"bubble": "hi"})])
    assert theirs.revision() == rev and theirs.changes(0).upserted == [("start", {"bubble": "hi"})]
    theirs.write(deletes=["start"])
    assert mine.changes(rev).deleted == ["start"] and mine.count() == 0
    assert other.claim_event("messenger", "mid.7", 60) is True
    assert store.claim_event("messenger", "mid.7", 60) is False  # a replay at the other instance


@pytest.mark.parametrize("direction", ["sqlite->postgresql", "postgresql->sqlite"])
def test_store_copy_moves_everything_between_backends(direction: str, tmp_path: Path, pg_url: str) -> None:
    from workbench.store import Account, NewThread, Rating

    sqlite_store, pg_store = open_store(tmp_path / "copy.db"), open_store(pg_url)
    source, target = (sqlite_store, pg_store) if direction.startswith("sqlite") else (pg_store, sqlite_store)
    try:
        cid = source.new_conversation("task", "ann", channel="websocket", world="talk", data={"k": 1})
        source.commit(_turn(cid, "hello", {"n": 3}))
        source.claim_conversation(cid)
        docs = source.documents("knowledge_base:desk")
        docs.write([("q1", {"question": "when open", "answer": "9-5"}), ("q2", {"question": "x"})])
        docs.write(deletes=["q2"])
        docs.set_source("kb.csv", "h")
        source.claim_event("messenger", "mid.1", 3600)
        source.study.create_account(Account("w", "W", "worker"))
        new = NewThread("s", "w", ["t"], ["bot"], 5, 5, "task", "evaluation", "evaluation/thread")
        thread = source.study.start_thread(new)
        source.study.rate_turn(Rating(thread.id, "w", "fluent", 1, 4))
        vectors = [(f"k{i}", bytes([i]) * 8) for i in range(3)]
        source.vectors("mini").put_many(vectors)
        seen: list[tuple[str, int, int]] = []
        done = copy_store(source, target, progress=lambda table, n, total: seen.append((table, n, total)))
        assert done == totals(source) and totals(target) == totals(source)
        assert {t for t, _, _ in seen} == set(TABLES) and ("messages", 2, 2) in seen
        conv = target.conversation(cid)
        assert conv["data"] == {"k": 1} and conv["epoch"] == source.conversation(cid)["epoch"]
        assert target.messages(cid) == [
            {**m, "id": t["id"]} for m, t in zip(source.messages(cid), target.messages(cid), strict=True)
        ]
        assert target.state(cid, "bot") == {"n": 3}
        copied = target.documents("knowledge_base:desk")
        assert copied.revision() == docs.revision() and copied.read() == docs.read()
        assert copied.changes(1).deleted == ["q2"] and copied.source().digest == "h"
        assert target.claim_event("messenger", "mid.1", 3600) is False
        assert target.study.ratings("s")[0].value == 4
        assert target.vectors("mini").get_many(["k0", "k1", "k2"]) == dict(vectors)  # not encoded again
        # the copy goes on: the next turn takes the next numbers
        target.commit(_turn(cid, "after"))
        assert [r["seq"] for r in target.messages(cid)] == [1, 2, 3, 4]
        with pytest.raises(NotEmpty, match="not empty"):
            copy_store(source, target)
    finally:
        sqlite_store.close()
        pg_store.close()


# -- PostgreSQL only ------------------------------------------------------------------------------
def test_a_postgres_schema_from_a_newer_workbench_is_refused(postgres, pg_url: str) -> None:
    open_store(pg_url).close()
    import psycopg

    from workbench.store.postgres import split_url

    conninfo, schema = split_url(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'UPDATE "{schema}".workbench_meta SET value = %s WHERE key = %s', ("999", "schema_version"))
    with pytest.raises(RuntimeError, match="schema version 999"):
        open_store(pg_url)


def test_tasks_in_one_database_keep_to_their_schemas(postgres) -> None:
    a, b = postgres.schema_url("a"), postgres.schema_url("b")
    try:
        first, second = open_store(a), open_store(b)
        first.new_conversation("task", "ann")
        assert second.conversations() == [] and len(first.conversations()) == 1
        first.close()
        second.close()
        with pytest.raises(ValueError, match="schema="):
            open_store(postgres.url + "?schema=x;drop")
    finally:
        postgres.drop_schema(a)
        postgres.drop_schema(b)


def test_the_store_is_named_without_its_password(pg_url: str) -> None:
    from workbench.store.settings import password_in_url, without_password

    secret = pg_url.replace("workbench@", "workbench:s3cret@")
    assert password_in_url(secret) and not password_in_url(pg_url)
    assert "s3cret" not in without_password(secret) and ":***@" in without_password(secret)
    assert "s3cret" not in without_password(pg_url + "&password=s3cret")
    # trust authentication ignores the password; what matters is that the store never shows it
    store = open_store(secret)
    try:
        assert "s3cret" not in str(store.path)
    finally:
        store.close()
