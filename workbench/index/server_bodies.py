"""Every request body the Elasticsearch/OpenSearch backend sends, built by pure functions.

Kept apart from the client code so the bodies can be compared with recorded, reviewed
expectations (tests/fixtures/search_server/*.json): a change to what we send to a cluster shows
up as a diff of those files.

The analysis follows the embedded backend's (workbench/index/embedded.py) and starchat's chain:
Unicode word boundaries (the ``standard`` tokenizer; tantivy also splits at apostrophes and in
numbers such as 3.5, which ``standard`` keeps whole), words over 40 characters dropped, lower
case, the language's stop words (Lucene's lists, which tantivy's English list is), the language's
Snowball stemmer (tantivy stems with Snowball too). Filters are ``key=value`` keywords with values spelt
as JSON (workbench/index/filters.py); group restrictions are keyword terms; both sit in the
query's ``filter`` clause, so they never change a score.
"""

from __future__ import annotations

from typing import Any

from workbench.index.base import Document
from workbench.index.filters import filter_terms

#: separates a field's name from its value in a filter keyword
FILTER_SEP = "="

#: our language names -> (Lucene stop-word list or None, Snowball stemmer name)
LANGUAGES: dict[str, tuple[str | None, str | None]] = {
    "english": ("_english_", "English"),
    "french": ("_french_", "French"),
    "german": ("_german_", "German2"),
    "spanish": ("_spanish_", "Spanish"),
    "italian": ("_italian_", "Italian"),
    "portuguese": ("_portuguese_", "Portuguese"),
    "dutch": ("_dutch_", "Dutch"),
    "swedish": ("_swedish_", "Swedish"),
    "norwegian": ("_norwegian_", "Norwegian"),
    "danish": ("_danish_", "Danish"),
    "finnish": ("_finnish_", "Finnish"),
    "russian": ("_russian_", "Russian"),
    "hungarian": ("_hungarian_", "Hungarian"),
    "romanian": ("_romanian_", "Romanian"),
    "turkish": ("_turkish_", "Turkish"),
    "none": (None, None),
}


def analyzer_name(language: str) -> str:
    return f"workbench_{language}"


def analysis(language: str) -> dict[str, Any]:
    """The ``analysis`` settings of an index whose text is in ``language``."""
    if language not in LANGUAGES:
        raise ValueError(f"no search-server analyzer for language {language!r}; use one of {', '.join(LANGUAGES)}")
    stop, stemmer = LANGUAGES[language]
    filters: dict[str, Any] = {"workbench_long": {"type": "length", "max": 40}}
    chain = ["workbench_long", "lowercase"]
    if stop is not None:
        filters[f"workbench_stop_{language}"] = {"type": "stop", "stopwords": stop}
        chain.append(f"workbench_stop_{language}")
    if stemmer is not None:
        filters[f"workbench_stem_{language}"] = {"type": "snowball", "language": stemmer}
        chain.append(f"workbench_stem_{language}")
    return {
        "analyzer": {analyzer_name(language): {"type": "custom", "tokenizer": "standard", "filter": chain}},
        "filter": filters,
    }


def mappings(language: str) -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "text": {"type": "text", "analyzer": analyzer_name(language)},
            "group": {"type": "keyword"},
            "filter": {"type": "keyword"},
            # returned with each hit, never indexed
            "fields": {"type": "object", "enabled": False},
            # analysed words of ``text``: the average length when the server has no term vectors
            "ntok": {"type": "integer"},
        },
    }


def index_template(prefix: str, language: str, shards: int, replicas: int) -> dict[str, Any]:
    """The composable template every index of ``prefix`` in ``language`` is made from."""
    return {
        "index_patterns": [f"{prefix}-{language}-*"],
        "priority": 100,
        "_meta": {"managed_by": "workbench", "language": language},
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "analysis": analysis(language),
            },
            "mappings": mappings(language),
        },
    }


def vector_mapping(flavour: str, dims: int) -> dict[str, Any]:
    """The mapping that adds a dense ``vector`` field (cosine similarity)."""
    if flavour == "elasticsearch":
        field: dict[str, Any] = {"type": "dense_vector", "dims": dims, "index": True, "similarity": "cosine"}
    else:
        field = {"type": "knn_vector", "dimension": dims, "method": {"name": "hnsw", "space_type": "cosinesimil"}}
    return {"properties": {"vector": field}}


def source(doc: Document, ntok: int) -> dict[str, Any]:
    """What is stored for one document."""
    body: dict[str, Any] = {"text": doc.text, "filter": filter_terms(doc.fields, FILTER_SEP), "fields": doc.fields}
    body["ntok"] = ntok
    if doc.group is not None:
        body["group"] = str(doc.group)
    if doc.vector is not None:
        body["vector"] = [float(x) for x in doc.vector]
    return body


def restrictions(filters: dict[str, Any] | None, groups: list[str] | None) -> list[dict[str, Any]] | None:
    """The query's ``filter`` clauses; None when they accept nothing (an empty list of values)."""
    clauses: list[dict[str, Any]] = []
    for key, value in (filters or {}).items():
        if value is None:
            continue
        accepted = filter_terms({key: value}, FILTER_SEP)
        if not accepted:
            return None
        clauses.append({"terms": {"filter": accepted}})
    if groups is not None:
        if not groups:
            return None
        clauses.append({"terms": {"group": groups}})
    return clauses


def search(terms: list[str], k: int, clauses: list[dict[str, Any]], analysed: bool = True) -> dict[str, Any]:
    """BM25 over ``terms`` (each once, any may match), restricted by ``clauses``: ``term`` queries
    for terms the server analysed, ``match`` queries (the server analyses them) for plain words."""
    kind = "term" if analysed else "match"
    return {
        "size": k,
        "track_total_hits": False,
        "_source": ["group", "fields"],
        "query": {
            "bool": {
                "should": [{kind: {"text": t}} for t in terms],
                "minimum_should_match": 1,
                "filter": clauses,
            }
        },
    }


def term_vectors(query: str) -> dict[str, Any]:
    """Analysis of ``query`` with the collection's BM25 statistics, in one request (Elasticsearch)."""
    return {
        "doc": {"text": query},
        "fields": ["text"],
        "term_statistics": True,
        "field_statistics": True,
        "positions": False,
        "offsets": False,
    }


def statistics(words: list[str]) -> list[dict[str, Any]]:
    """Bodies of a multi-search for servers without term vectors: each word's document frequency
    (the server analyses the word as it analysed the documents), then the number of documents and
    the sum of their lengths."""
    bodies: list[dict[str, Any]] = [
        {"size": 0, "track_total_hits": True, "query": {"match": {"text": w}}} for w in words
    ]
    bodies.append(
        {
            "size": 0,
            "track_total_hits": True,
            "query": {"exists": {"field": "text"}},
            "aggs": {"ntok": {"sum": {"field": "ntok"}}},
        }
    )
    return bodies


def knn(flavour: str, vector: list[float], k: int, clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """Nearest neighbours of ``vector`` on a server with approximate kNN."""
    if flavour == "elasticsearch":
        search_knn: dict[str, Any] = {
            "field": "vector",
            "query_vector": vector,
            "k": k,
            "num_candidates": max(50, 4 * k),
        }
        if clauses:
            search_knn["filter"] = clauses
        return {"size": k, "_source": ["group", "fields"], "knn": search_knn}
    query: dict[str, Any] = {"vector": vector, "k": k}
    if clauses:
        query["filter"] = {"bool": {"filter": clauses}}
    return {"size": k, "_source": ["group", "fields"], "query": {"knn": {"vector": query}}}


def vectors(k: int, clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """Every vector of a collection (within ``clauses``): kNN on the client, for servers without it."""
    return {
        "size": k,
        "_source": ["group", "fields", "vector"],
        "query": {"bool": {"filter": [*clauses, {"exists": {"field": "vector"}}]}},
    }


def swap(alias: str, new: str, old: list[str]) -> dict[str, Any]:
    """Point ``alias`` at ``new`` and away from ``old`` in one atomic step."""
    actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": alias}} for name in old]
    actions.append({"add": {"index": new, "alias": alias}})
    return {"actions": actions}


def stamp_mark(stamp: str | None) -> dict[str, Any]:
    """The mapping ``_meta`` that records what a collection mirrors (Index.stamp)."""
    return {"_meta": {"workbench": {"stamp": stamp}}}


def groups_query(groups: list[str]) -> dict[str, Any]:
    """A delete-by-query body for every document of ``groups``."""
    return {"query": {"terms": {"group": groups}}}
