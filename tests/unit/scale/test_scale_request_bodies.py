"""What the Elasticsearch/OpenSearch backend sends, compared with recorded, reviewed expectations
(tests/fixtures/search_server/*.json). A change to a body fails here until its file is reviewed
and updated (run this file with WORKBENCH_RECORD=1 to rewrite them, then read the diff)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from support import FIXTURES

from workbench.index import Document
from workbench.index import server_bodies as bodies
from workbench.index.server import collection_alias, self_score

EXPECTED = FIXTURES / "search_server"


def _cases() -> dict[str, Any]:
    clauses = bodies.restrictions(
        {"verified": True, "topics": ["account", "login"], "state": None}, ["forgot_password"]
    )
    doc = Document("pw", "I forgot my password", group="forgot_password", fields={"verified": True, "topics": ["a"]})
    return {
        "index_template_english": bodies.index_template("workbench", "english", 1, 0),
        "index_template_german": bodies.index_template("workbench", "german", 2, 1),
        "search": bodies.search(["forgot", "password"], 10, clauses or []),
        "search_words": bodies.search(["forgot", "password"], 10, [], analysed=False),
        "term_vectors": bodies.term_vectors("I forgot my password"),
        "statistics": bodies.statistics(["forgot", "password"]),
        "source": bodies.source(doc, 4),
        "knn_elasticsearch": bodies.knn("elasticsearch", [0.1, 0.2], 5, clauses or []),
        "knn_opensearch": bodies.knn("opensearch", [0.1, 0.2], 5, clauses or []),
        "vectors": bodies.vectors(10000, []),
        "vector_mapping_elasticsearch": bodies.vector_mapping("elasticsearch", 384),
        "vector_mapping_opensearch": bodies.vector_mapping("opensearch", 384),
        "swap": bodies.swap("workbench-english-kb-1", "workbench-english-kb-1-2", ["workbench-english-kb-1-v1"]),
        "stamp_mark": bodies.stamp_mark("3f2a9c:12"),
        "groups_query": bodies.groups_query(["forgot_password", "greet"]),
        "alias": collection_alias("workbench", "english", "decision_table:desk"),
    }


@pytest.mark.parametrize("name", sorted(_cases()))
def test_scale_request_body_matches_its_recorded_expectation(name: str) -> None:
    body = _cases()[name]
    path = EXPECTED / f"{name}.json"
    if os.environ.get("WORKBENCH_RECORD"):
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert body == json.loads(path.read_text(encoding="utf-8"))


def test_scale_filters_that_accept_nothing_send_nothing() -> None:
    assert bodies.restrictions({"topics": []}, None) is None
    assert bodies.restrictions(None, []) is None
    assert bodies.restrictions({"verified": None}, None) == []
    with pytest.raises(ValueError, match="no search-server analyzer"):
        bodies.analysis("klingon")


def test_scale_the_normaliser_makes_a_lucene_exact_match_one() -> None:
    from collections import Counter

    # one document "alpha beta" among four of lengths 2, 3, 3, 1: Lucene's BM25 of the query
    # "alpha beta" against it, term by term, is the normaliser
    idf = {"alpha": 0.6931471805599453, "beta": 0.6931471805599453}
    norm = 1.2 * (1 - 0.75 + 0.75 * 2 / 2.25)
    lucene = sum(i * 1 / (1 + norm) for i in idf.values())
    assert self_score(Counter(["alpha", "beta"]), {"alpha": 2, "beta": 2}, 4.0, 2.25) == pytest.approx(lucene)
    # a word no document has weighs most
    assert self_score(Counter(["zeta"]), {"zeta": 0}, 4.0, 2.25) > self_score(Counter(["zeta"]), {"zeta": 3}, 4.0, 2.25)
