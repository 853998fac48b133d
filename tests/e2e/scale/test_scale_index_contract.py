"""The Index contract: what every retrieval backend must do, run against the embedded backend,
osmem-server (an in-memory OpenSearch-compatible server) and, when WORKBENCH_ES_URL names one, a
real Elasticsearch (skipped, saying so, otherwise).

Analysis (stemming, stop words), scores normalised to 0..1 so one threshold works everywhere,
filters and groups that restrict without changing a score, updates by id, separate collections,
rebuilds that searches never see half done, and the store revision a shared index remembers.

Scores: the embedded backend and Elasticsearch normalise exactly (an exact match is 1.0);
osmem-server's BM25 is its own approximation of Lucene's (it weighs document lengths and
repeated words differently), so there an exact match is checked to rank first with a score near
1 (docs/scale.md says where rankings can differ)."""

from __future__ import annotations

import threading

import pytest
from support.search_servers import ES_URL_VARIABLE, elasticsearch_url, server_index

from workbench.index import Document, Index
from workbench.index.embedded import EmbeddedIndex

HELPDESK = [
    Document(
        "pw", "I forgot my password", group="forgot_password", fields={"verified": True, "topics": ["account", "login"]}
    ),
    Document("lock", "my account is locked", group="account_locked", fields={"verified": False, "topics": ["account"]}),
    Document("op", "can I talk to a human operator", group="call_operator", fields={"verified": True, "topics": []}),
    Document("bye", "goodbye and thanks", group="goodbye", fields={"verified": True, "lang": "en"}),
]


@pytest.fixture(params=["embedded", "osmem", "elasticsearch"])
def backend(request):
    """(an empty index, whether its scores are exact)."""
    if request.param == "embedded":
        index: Index = EmbeddedIndex()
        exact = True
    elif request.param == "osmem":
        index = server_index("opensearch", request.getfixturevalue("osmem").url)
        exact = False
    else:
        url = elasticsearch_url()
        if url is None:
            pytest.skip(
                f"no Elasticsearch to test against: set {ES_URL_VARIABLE}=http://host:9200 to run this suite on one"
            )
        index = server_index("elasticsearch", url)
        exact = True
    yield index, exact
    index.close()


@pytest.fixture
def index(backend) -> Index:
    ix, _ = backend
    ix.upsert("dt", HELPDESK)
    return ix


def ids(hits) -> list[str]:
    return [h.id for h in hits]


def test_stemming_and_stop_words_work_the_same(index: Index) -> None:
    assert ids(index.search("dt", "Passwords?")) == ["pw"]
    assert ids(index.search("dt", "LOCKING")) == ["lock"]
    assert index.search("dt", "the and is to") == []  # only stop words: nothing to match
    assert index.search("dt", "?!") == []


def test_scores_are_normalised(backend, index: Index) -> None:
    _, exact_scores = backend
    exact = index.search("dt", "I forgot my password")
    assert exact[0].id == "pw"
    if exact_scores:
        assert exact[0].score == 1.0
    else:
        # osmem indexes "i" and "my" as stop words though its _analyze keeps them: they then
        # count as words no document has, which lowers the score (docs/scale.md)
        assert exact[0].score > 0.4
        assert index.search("dt", "forgot password")[0].score >= 0.9
    assert index.search("dt", "zebra crossing") == []  # nothing shares a word: no hit
    partial = index.search("dt", "forgot password")
    assert partial[0].id == "pw" and 0.3 < partial[0].score <= 1.0
    for query in ("password account", "my account", "human", "thanks operator"):
        assert all(0.0 < h.score <= 1.0 for h in index.search("dt", query))
    # a word no document has lowers the score (it weighs as the rarest word)
    alone = index.search("dt", "password")[0].score
    off_topic = index.search("dt", "password weather forecast")[0].score
    assert off_topic < alone / 2


def test_filters_and_groups_restrict_without_changing_scores(index: Index) -> None:
    free = {h.id: h.score for h in index.search("dt", "password account")}
    filtered = index.search("dt", "password account", filters={"verified": True})
    assert ids(filtered) == ["pw"] and filtered[0].score == free["pw"]
    assert ids(index.search("dt", "account", filters={"verified": False})) == ["lock"]
    assert sorted(ids(index.search("dt", "password account", filters={"topics": "login"}))) == ["pw"]
    assert sorted(ids(index.search("dt", "password account", filters={"topics": ["account", "x"]}))) == ["lock", "pw"]
    assert len(index.search("dt", "password account", filters={"verified": None})) == 2  # None: no filter
    assert index.search("dt", "password account", filters={"topics": []}) == []
    assert index.search("dt", "password", filters={"verified": "true"}) == []  # a string is not a bool
    assert ids(index.search("dt", "password account", groups=["account_locked"])) == ["lock"]
    assert index.search("dt", "password", groups=[]) == []
    hit = index.search("dt", "goodbye", groups=["goodbye"], filters={"lang": "en"})[0]
    assert (hit.group, hit.fields) == ("goodbye", {"verified": True, "lang": "en"})


def test_upsert_replaces_by_id_and_delete_removes(index: Index) -> None:
    index.upsert("dt", [Document("pw", "reset my login code", group="forgot_password")])
    assert index.count("dt") == 4
    assert index.search("dt", "forgot password") == []
    assert ids(index.search("dt", "login code")) == ["pw"]
    index.delete("dt", ["pw", "no-such-id"])
    assert index.count("dt") == 3 and index.search("dt", "login") == []
    index.upsert("dt", [Document("x", "alpha"), Document("x", "beta")])  # last one wins
    assert index.search("dt", "alpha") == [] and ids(index.search("dt", "beta")) == ["x"]
    index.clear("dt")
    assert index.count("dt") == 0 and index.search("dt", "beta") == []


def test_a_failed_batch_leaves_the_collection_unchanged(index: Index) -> None:
    with pytest.raises(TypeError):
        index.upsert("dt", [Document("new", "fresh text"), Document("bad", 42)])  # type: ignore[arg-type]
    assert index.count("dt") == 4 and index.search("dt", "fresh") == []


def test_collections_keep_separate_documents_and_statistics(index: Index) -> None:
    index.upsert("kb", [Document("q1", "password password password"), Document("q2", "hours")])
    assert ids(index.search("kb", "password")) == ["q1"]
    assert "q1" not in ids(index.search("dt", "password"))
    assert index.search("nothing-here", "password") == [] and index.count("nothing-here") == 0
    index.delete("nothing-here", ["a"])  # deleting from a collection never written is a no-op


def test_a_rebuild_replaces_the_collection_and_searches_never_see_it_half_done(index: Index) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                hits = index.search("dt", "I forgot my password")
                assert hits and hits[0].id in ("pw", "pw2")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for n in range(3):
            docs = [*HELPDESK, Document("pw2", "I forgot my password again", group="forgot_password")]
            docs += [Document(f"extra{i}", f"unrelated words number {i} round {n}") for i in range(20)]
            index.rebuild("dt", docs, stamp=f"set:{7 + n}")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors
    assert index.count("dt") == 25
    if index.persistent:  # a shared index remembers what it mirrors
        assert index.stamp("dt") == "set:9"


def test_a_shared_index_remembers_what_it_mirrors(backend) -> None:
    index, _ = backend
    if not index.persistent:
        return  # an index in memory is built by its process: nothing to remember
    assert index.stamp("dt") is None
    index.rebuild("dt", HELPDESK, stamp="set:3")
    assert index.stamp("dt") == "set:3"
    index.set_stamp("dt", "set:5")
    assert index.stamp("dt") == "set:5"
    assert ids(index.search("dt", "password")) == ["pw"]
    index.delete_groups("dt", ["forgot_password"])
    assert "pw" not in ids(index.search("dt", "password"))
    health = index.health()
    assert health["status"] in ("green", "yellow")


def test_vectors_match_by_cosine_where_the_backend_has_them(backend) -> None:
    index, _ = backend
    if not hasattr(index, "knn"):
        pytest.skip("the embedded backend's vectors are the retrieval layer's (another module)")
    docs = [
        Document("north", "go north", group="dir", vector=[1.0, 0.0, 0.0]),
        Document("east", "go east", group="dir", vector=[0.0, 1.0, 0.0], fields={"verified": True}),
        Document("up", "go up", group="up", vector=[0.0, 0.0, 1.0]),
    ]
    index.upsert("v", docs)
    near = index.knn("v", [0.9, 0.1, 0.0], k=2)
    assert ids(near) == ["north", "east"] and 0.9 < near[0].score <= 1.0
    assert ids(index.knn("v", [0.9, 0.1, 0.0], k=3, filters={"verified": True})) == ["east"]
    fused = index.hybrid("v", "east", [0.9, 0.1, 0.0], k=3)
    assert {h.id for h in fused[:2]} == {"north", "east"} and all(0 <= h.score <= 1 for h in fused)
