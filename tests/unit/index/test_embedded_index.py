"""The embedded index on real tantivy: analysis, normalised scores, updates, filters, groups, disk."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pytest
from support import FIXTURES

from workbench.index import Document, open_index
from workbench.index.embedded import Analyzer, EmbeddedIndex

BANKING = FIXTURES / "intents" / "banking77_train.csv"

HELPDESK = [
    Document(
        "pw", "I forgot my password", group="forgot_password", fields={"verified": True, "topics": ["account", "login"]}
    ),
    Document("lock", "my account is locked", group="account_locked", fields={"verified": False, "topics": ["account"]}),
    Document("op", "can I talk to a human operator", group="call_operator", fields={"verified": True, "topics": []}),
    Document("bye", "goodbye and thanks", group="goodbye", fields={"verified": True, "lang": "en"}),
]


@pytest.fixture
def index() -> EmbeddedIndex:
    ix = EmbeddedIndex()
    ix.upsert("dt", HELPDESK)
    return ix


def ids(hits) -> list[str]:
    return [h.id for h in hits]


# -- analysis ---------------------------------------------------------------------
def test_stemming_makes_plural_and_singular_one_term(index: EmbeddedIndex) -> None:
    assert index.analyze("passwords") == index.analyze("password") == ["password"]
    assert index.analyze("Locked LOCKING locks") == ["lock", "lock", "lock"]
    assert ids(index.search("dt", "Passwords?")) == ["pw"]


def test_stop_words_are_dropped_and_a_stop_word_query_matches_nothing(index: EmbeddedIndex) -> None:
    assert index.analyze("the password is in the box") == ["password", "box"]
    assert index.search("dt", "the and is to") == []
    assert index.search("dt", "?!") == []


def test_other_languages_stem_with_tantivy_or_pystemmer() -> None:
    french = Analyzer("french")
    assert french.stop_words and french("les mots de passe") == ["mot", "pass"]
    catalan = Analyzer("catalan")  # tantivy has no Catalan stemmer: PyStemmer does it
    assert not catalan.stop_words and catalan("contrasenyes") == catalan("contrasenya")
    assert Analyzer(None)("Running Dogs") == ["running", "dogs"]
    with pytest.raises(ValueError, match="no stemmer for language 'klingon'"):
        Analyzer("klingon")


# -- scores -----------------------------------------------------------------------
def test_exact_match_scores_one_no_match_zero_partial_in_between(index: EmbeddedIndex) -> None:
    exact = index.search("dt", "I forgot my password")
    assert exact[0].id == "pw" and exact[0].score == 1.0
    assert index.search("dt", "zebra crossing") == []  # nothing shares a word: no hit, score 0
    partial = index.search("dt", "forgot password")
    assert partial[0].id == "pw" and 0.5 < partial[0].score < 1.0
    for query in ("password account", "my account", "human", "thanks operator"):
        assert all(0.0 < h.score <= 1.0 for h in index.search("dt", query))


def test_an_unknown_word_in_the_query_lowers_the_score(index: EmbeddedIndex) -> None:
    alone = index.search("dt", "password")[0].score
    off_topic = index.search("dt", "password weather forecast")[0].score
    assert off_topic < alone / 2


def test_scores_stay_exact_after_updates_and_deletes() -> None:
    with open(BANKING, newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)][:600]
    ix = EmbeddedIndex()
    ix.upsert("b", (Document(str(i), t) for i, t in enumerate(texts)))
    ix.delete("b", [str(i) for i in range(0, 300, 2)])
    for i in range(1, 100, 2):
        ix.upsert("b", [Document(str(i), texts[i] + " edited")])
    assert ix.count("b") == 450
    # tantivy still counts the deleted documents in its statistics; the normaliser must too
    for i in (301, 420, 599):
        top = ix.search("b", texts[i])[0]
        assert top.score == pytest.approx(1.0, abs=1e-5)
        assert texts[int(top.id)] == texts[i]


def test_filters_and_groups_restrict_without_changing_scores(index: EmbeddedIndex) -> None:
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


# -- updates ----------------------------------------------------------------------
def test_upsert_replaces_by_id_and_delete_removes(index: EmbeddedIndex) -> None:
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


def test_a_failed_batch_leaves_the_collection_unchanged(index: EmbeddedIndex) -> None:
    with pytest.raises(TypeError):
        index.upsert("dt", [Document("new", "fresh text"), Document("bad", 42)])  # type: ignore[arg-type]
    assert index.count("dt") == 4 and index.search("dt", "fresh") == []


def test_collections_keep_separate_documents_and_statistics(index: EmbeddedIndex) -> None:
    index.upsert("kb", [Document("q1", "password password password"), Document("q2", "hours")])
    assert ids(index.search("kb", "password")) == ["q1"]
    assert "q1" not in ids(index.search("dt", "password"))
    assert index.search("nothing-here", "password") == [] and index.count("nothing-here") == 0


def test_searches_from_many_threads_while_writing(index: EmbeddedIndex) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                hits = index.search("dt", "I forgot my password")
                assert hits and hits[0].id == "pw" and hits[0].score == 1.0
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(15):
        index.upsert("dt", [Document(f"extra{i}", f"unrelated words number {i}")])
    stop.set()
    for t in threads:
        t.join()
    assert not errors and index.count("dt") == 19


# -- on disk ----------------------------------------------------------------------
def test_on_disk_index_survives_reopening(tmp_path: Path) -> None:
    ix = EmbeddedIndex(path=tmp_path / "idx")
    ix.upsert("knowledge_base:desk", HELPDESK)
    ix.close()
    again = EmbeddedIndex(path=tmp_path / "idx")
    assert again.count("knowledge_base:desk") == 4
    assert again.search("knowledge_base:desk", "I forgot my password")[0].score == 1.0
    assert again.count("never-written") == 0
    assert not (tmp_path / "idx" / "never-written").exists()


def test_on_disk_index_built_with_another_language_is_dropped(tmp_path: Path) -> None:
    EmbeddedIndex(path=tmp_path / "idx").upsert("c", HELPDESK)
    french = EmbeddedIndex(path=tmp_path / "idx", language="french")
    assert french.count("c") == 0  # its terms were English stems: the store rebuilds it


def test_open_index_gives_the_embedded_backend() -> None:
    assert isinstance(open_index("embedded"), EmbeddedIndex)
    assert isinstance(open_index(None, language="german"), EmbeddedIndex)
