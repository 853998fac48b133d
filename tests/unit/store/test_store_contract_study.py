"""The Store contract for evaluation studies (``Store.study``), run against each backend:
accounts, threads started within their limits (also when many start at once), ratings
written all-or-nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from workbench.store import Account, AccountExists, LimitReached, NewThread, Rating, Store, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path):
    s = open_store(tmp_path / "study.db" if request.param == "sqlite" else request.getfixturevalue("pg_url"))
    yield s
    s.close()


def _new(person: str, topics: list[str], per_topic: int = 2, per_person: int = 5, bots=("bot",)) -> NewThread:
    return NewThread(
        study="s",
        person=person,
        topics=topics,
        bots=list(bots),
        max_threads_per_topic=per_topic,
        max_threads_per_person=per_person,
        task="task",
        channel="evaluation",
        world="evaluation/thread",
        data={"evaluation": {"topic": "x"}},
    )


def _people(store: Store, *names: str) -> None:
    for name in names:
        store.study.create_account(Account(name, name.title(), "worker"))


def test_accounts_are_unique_by_id_and_by_platform_id(store: Store) -> None:
    study = store.study
    study.create_account(Account("ann", "Ann", "worker", password_hash="h1"))
    study.create_account(Account("w-1", "Prolific worker", "worker", ext_src="prolific", ext_id="P1"))
    with pytest.raises(AccountExists):
        study.create_account(Account("ann", "Another Ann", "admin", password_hash="h2"))
    with pytest.raises(AccountExists):
        study.create_account(Account("w-2", "Same worker", "worker", ext_src="prolific", ext_id="P1"))
    assert study.account("ann").password_hash == "h1" and study.account("ann").role == "worker"
    assert study.account_by_external("prolific", "P1").id == "w-1"
    assert study.account_by_external("mturk", "P1") is None
    study.set_password("ann", "h3")
    study.set_consent("ann", {"version": "v1", "checkboxes": {"adult": True}})
    assert study.update_account_data("ann", {"a": 1}) == {"a": 1}
    ann = study.account("ann")
    assert ann.password_hash == "h3" and ann.consent["version"] == "v1" and ann.data == {"a": 1}
    assert [a.id for a in study.accounts()] == ["ann", "w-1"] and study.accounts("admin") == []


def test_a_thread_is_a_conversation_on_the_least_used_topic_the_person_has_not_done(store: Store) -> None:
    _people(store, "ann", "bob")
    study = store.study
    first = study.start_thread(_new("ann", ["t1", "t2"]))
    assert (first.topic, first.bot, first.status) == ("t1", "bot", "chatting")
    conv = store.conversation(first.id)
    assert conv["person"] == "ann" and conv["world"] == "evaluation/thread" and conv["data"]["evaluation"]
    # bob gets the topic with fewer threads; ann never gets the same topic twice
    assert study.start_thread(_new("bob", ["t1", "t2"])).topic == "t2"
    assert study.start_thread(_new("ann", ["t1", "t2"])).topic == "t2"
    with pytest.raises(LimitReached) as hit:
        study.start_thread(_new("ann", ["t1", "t2"]))
    assert hit.value.reason == "topics"
    assert [t.topic for t in study.threads("s", person="ann")] == ["t1", "t2"]
    assert len(study.threads("s")) == 3 and study.threads("other") == []


def test_bots_share_a_topic_evenly(store: Store) -> None:
    _people(store, "a", "b", "c", "d")
    bots = [store.study.start_thread(_new(p, ["t1"], per_topic=4, bots=("x", "y"))).bot for p in "abcd"]
    assert sorted(bots) == ["x", "x", "y", "y"]


def test_a_person_does_at_most_their_threads(store: Store) -> None:
    _people(store, "ann")
    for _ in range(2):
        store.study.start_thread(_new("ann", ["t1", "t2", "t3"], per_person=2))
    with pytest.raises(LimitReached) as hit:
        store.study.start_thread(_new("ann", ["t1", "t2", "t3"], per_person=2))
    assert hit.value.reason == "person"


def test_the_topic_limit_holds_when_many_start_at_once(store: Store) -> None:
    people = [f"p{i}" for i in range(12)]
    _people(store, *people)
    started: list[str] = []
    refused: list[str] = []
    barrier = threading.Barrier(len(people))

    def start(person: str) -> None:
        barrier.wait(10)
        try:
            started.append(store.study.start_thread(_new(person, ["t1", "t2"], per_topic=3)).topic)
        except LimitReached:
            refused.append(person)

    threads = [threading.Thread(target=start, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(started) == ["t1"] * 3 + ["t2"] * 3 and len(refused) == 6
    assert len(store.study.threads("s")) == 6


def test_ratings_of_turns_and_of_the_whole_thread(store: Store) -> None:
    _people(store, "ann", "bob")
    study = store.study
    t = study.start_thread(_new("ann", ["t1"]))
    study.rate_turn(Rating(t.id, "ann", "good", 2, "no"))
    study.rate_turn(Rating(t.id, "ann", "good", 2, "yes"))  # replaced
    with pytest.raises(ValueError):
        study.rate_turn(Rating(t.id, "ann", "good", 0, "yes"))
    # not before the chat has ended, not by another person
    assert study.submit_ratings(t.id, "ann", {"q": 3}, {"code": "C"}) is False
    assert study.set_thread_status(t.id, "rating", expect="chatting") is True
    assert study.set_thread_status(t.id, "rating", expect="chatting") is False
    assert study.submit_ratings(t.id, "bob", {"q": 3}, {}) is False
    assert study.submit_ratings(t.id, "ann", {"q": 3, "why": "fine"}, {"code": "C"}) is True
    # a second submission (a replay) writes nothing
    assert study.submit_ratings(t.id, "ann", {"q": 1}, {"code": "D"}) is False
    thread = study.thread(t.id)
    assert thread.status == "done" and thread.data == {"code": "C"}
    got = [(r.question, r.seq, r.value) for r in study.ratings("s")]
    assert sorted(got[:2]) == [("q", 0, 3), ("why", 0, "fine")] and got[2] == ("good", 2, "yes")
    assert study.update_thread_data(t.id, {"hit": "H"}) == {"code": "C", "hit": "H"}
    assert study.ratings("s", thread_id="nope") == []
