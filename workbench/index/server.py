"""Retrieval on Elasticsearch or OpenSearch: the index every process of a task shares.

One *alias* per collection (``{prefix}-{language}-{collection}-{hash}``) points at one versioned
index; :meth:`ServerIndex.rebuild` loads a new index next to it and swaps the alias in one atomic
step, then drops the old one, so searches never see a half-built collection. Incremental writes
(:meth:`upsert`, :meth:`delete`) go through the alias and are refreshed before they return, as
in the embedded backend. Each index records, in its mapping's ``_meta``, the stamp of what it
mirrors (:meth:`stamp`: which document set, at which store revision), so a process that starts
finds a shared collection up to date, or catches it up, instead of rebuilding it.

Scores are BM25 normalised exactly as the embedded backend's: divided by the score a document
identical to the query would get, computed from the statistics the server used (documents,
average length, each query word's document frequency; read with the query's term vectors on
Elasticsearch, or with one multi-search where term vectors are missing). Lucene's BM25 leaves
out tantivy's constant ``k1 + 1`` factor, which cancels in the ratio. Where rankings can differ
from the embedded backend: the tokenizer and Snowball stemmers are the same algorithms but not
the same code (rare words may split or stem differently); Lucene stores document lengths in one
byte (lengths over about 40 words are rounded); with more than one shard statistics are per shard.

The engines call this synchronously (from worker threads: a task with a remote index runs its
engines off the event loop); the async client runs in a loop thread of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from workbench.index import server_bodies as bodies
from workbench.index.base import Document, Hit, Index
from workbench.index.server_clients import Client, ServerError, make_client
from workbench.index.settings import ServerSpec, parse_spec

log = logging.getLogger(__name__)

# Lucene's BM25 constants (Elasticsearch's and OpenSearch's defaults)
K1 = 1.2
B = 0.75
#: our language names for the short forms engines accept
ALIASES = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian", "pt": "portuguese"}
#: the most vectors a client-side nearest-neighbour search reads (servers without kNN)
CLIENT_KNN_LIMIT = 10_000


class _LoopThread:
    """An event loop in a daemon thread: where the async client lives."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="search-server", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float | None) -> Any:
        if threading.current_thread() is self.thread:  # pragma: no cover - a bug: it would wait for itself
            raise RuntimeError("a search-server call from its own loop thread")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def collection_alias(prefix: str, language: str, collection: str) -> str:
    """A collection's alias: readable, lower case, unique (a hash of the exact name)."""
    slug = re.sub(r"[^a-z0-9_]+", "-", collection.lower()).strip("-")[:60] or "c"
    digest = hashlib.sha1(collection.encode()).hexdigest()[:8]
    return f"{prefix}-{language}-{slug}-{digest}"


class ServerIndex(Index):
    """BM25 (and optional vectors) on a search server shared by every process of a task."""

    name = "server"
    remote = True

    def __init__(self, client: Callable[[], Client], spec: ServerSpec, language: str | None = "english") -> None:
        lang = (language or "none").lower()
        self.language = ALIASES.get(lang, lang)
        if self.language not in bodies.LANGUAGES:
            raise ValueError(
                f"no search-server analyzer for language {language!r}; use one of {', '.join(bodies.LANGUAGES)}"
            )
        self.spec = spec
        self.prefix = spec.index_prefix
        self._loop = _LoopThread()
        self._client: Client = self._loop.run(self._make(client), spec.timeout)
        self.flavour = self._client.flavour
        self._template_ready = False
        #: None until known: whether the server answers term vectors / kNN queries
        self._term_vectors: bool | None = None
        self._knn: bool | None = None
        self._dims: dict[str, int] = {}
        self._counter: Any = None
        self._splitter: Any = None
        #: every request body sent, when a test asks for them (see :meth:`record`)
        self.sent: list[tuple[str, str, Any]] | None = None

    @staticmethod
    async def _make(factory: Callable[[], Client]) -> Client:
        return factory()  # the async client binds to the loop it is made in

    @classmethod
    def from_spec(cls, spec: dict[str, Any], language: str | None = "english") -> ServerIndex:
        flavour, settings = parse_spec(spec)
        return cls(lambda: make_client(flavour, settings), settings, language)

    # -- plumbing ---------------------------------------------------------------------------------
    def _run(self, coro: Any, timeout: float | None = None) -> Any:
        return self._loop.run(coro, timeout if timeout is not None else self.spec.timeout * 3)

    async def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        if self.sent is not None:
            self.sent.append((method, path, body))
        return await self._client.request(method, path, body, params)

    def record(self) -> list[tuple[str, str, Any]]:
        """Start keeping every (method, path, body) sent; the list (tests compare it with expectations)."""
        self.sent = []
        return self.sent

    def alias(self, collection: str) -> str:
        return collection_alias(self.prefix, self.language, collection)

    def _words(self, text: str) -> list[str]:
        """Lower-cased words of ``text`` that are not stop words, unstemmed."""
        from workbench.index.embedded import Analyzer

        if self._splitter is None:
            self._splitter = Analyzer(None)
        self._ntok("")  # the language's analyser, for its stop words
        return [w for w in self._splitter(text) if self._counter(w)]

    def _ntok(self, text: str) -> int:
        """Words of ``text`` as the embedded backend analyses them (the average-length fallback)."""
        if self._counter is None:
            from workbench.index.embedded import Analyzer

            self._counter = Analyzer(None if self.language == "none" else self.language)
        return len(self._counter(text))

    async def _template(self) -> None:
        if self._template_ready:
            return
        name = f"{self.prefix}-{self.language}"
        body = bodies.index_template(self.prefix, self.language, self.spec.shards, self.spec.replicas)
        await self._call("PUT", f"/_index_template/{name}", body)
        self._template_ready = True

    async def _indices(self, alias: str) -> list[str]:
        """The indices ``alias`` points at (none when the collection was never written)."""
        try:
            found = await self._call("GET", f"/_alias/{alias}")
        except ServerError as exc:
            if exc.status == 404:
                return []
            raise
        return sorted(found)

    async def _ensure(self, alias: str) -> None:
        """Make the collection's first index and alias (two processes may race: both succeed)."""
        if await self._indices(alias):
            return
        await self._template()
        first = f"{alias}-v1"
        try:
            await self._call("PUT", f"/{first}", {})
        except ServerError as exc:
            if exc.status != 400 or "exists" not in str(exc):
                raise
        await self._call("POST", "/_aliases", bodies.swap(alias, first, []))

    async def _vector_field(self, target: str, docs: list[Document]) -> None:
        dims = next((len(d.vector) for d in docs if d.vector is not None), None)
        if dims is None or self._dims.get(target) == dims:
            return
        await self._call("PUT", f"/{target}/_mapping", bodies.vector_mapping(self.flavour, dims))
        self._dims[target] = dims

    async def _load(self, target: str, docs: list[Document], progress: Callable[[int], None] | None) -> None:
        async def actions() -> AsyncIterator[dict[str, Any]]:
            for doc in docs:
                yield {"_op_type": "index", "_index": target, "_id": str(doc.id), "_source": self._source(doc)}

        sent = 0

        def done(n: int) -> None:
            nonlocal sent
            sent += n
            if progress is not None:
                progress(sent)

        if self.sent is not None:
            self.sent.append(("POST", "/_bulk", [{"index": {"_index": target, "_id": str(d.id)}} for d in docs]))
        errors = await self._client.bulk(actions(), done)
        if errors:
            raise ServerError(400, f"{len(errors)} document(s) were refused; the first: {errors[0]}")
        await self._call("POST", f"/{target}/_refresh")

    def _source(self, doc: Document) -> dict[str, Any]:
        return bodies.source(doc, self._ntok(doc.text))

    @staticmethod
    def _checked(docs: Iterable[Document]) -> list[Document]:
        """Every document checked before anything is sent, so a bad one fails the whole batch."""
        out: dict[str, Document] = {}
        for doc in docs:
            if not isinstance(doc.text, str):
                raise TypeError(f"document {doc.id!r}: text must be a string, not {type(doc.text).__name__}")
            out.pop(str(doc.id), None)
            out[str(doc.id)] = doc  # the last one of an id wins
        return list(out.values())

    # -- writes -----------------------------------------------------------------------------------
    def upsert(self, collection: str, docs: Iterable[Document]) -> None:
        checked = self._checked(docs)
        if not checked:
            return
        alias = self.alias(collection)

        async def go() -> None:
            await self._ensure(alias)
            await self._vector_field(alias, checked)
            await self._load(alias, checked, None)

        self._run(go(), timeout=None)

    def delete(self, collection: str, ids: Iterable[str]) -> None:
        id_list = list(dict.fromkeys(str(i) for i in ids))
        if not id_list:
            return
        alias = self.alias(collection)

        async def go() -> None:
            if not await self._indices(alias):
                return
            lines = "".join(json.dumps({"delete": {"_index": alias, "_id": i}}) + "\n" for i in id_list)
            await self._call("POST", "/_bulk", lines, params={"refresh": "true"})

        self._run(go())

    def clear(self, collection: str) -> None:
        if self.count(collection):
            self.rebuild(collection, [])

    def rebuild(
        self,
        collection: str,
        docs: Iterable[Document],
        stamp: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Load ``docs`` into a new index, then swap the alias to it in one step (no downtime)."""
        checked = self._checked(docs)
        alias = self.alias(collection)

        async def go() -> None:
            await self._template()
            old = await self._indices(alias)
            new = f"{alias}-{time.time_ns()}"
            await self._call("PUT", f"/{new}", {})
            try:
                await self._vector_field(new, checked)
                await self._load(new, checked, progress)
                if stamp is not None:
                    await self._call("PUT", f"/{new}/_mapping", bodies.stamp_mark(stamp))
                await self._call("POST", "/_aliases", bodies.swap(alias, new, old))
            except BaseException:
                await self._call("DELETE", f"/{new}")
                raise
            for name in old:
                try:
                    await self._call("DELETE", f"/{name}")
                except ServerError as exc:  # another process dropped it first
                    if exc.status != 404:
                        raise

        self._run(go(), timeout=None)

    @property
    def persistent(self) -> bool:
        return True

    def delete_groups(self, collection: str, groups: Iterable[str]) -> None:
        names = list(dict.fromkeys(str(g) for g in groups))
        if not names:
            return
        alias = self.alias(collection)

        async def go() -> None:
            if not await self._indices(alias):
                return
            await self._call(
                "POST", f"/{alias}/_delete_by_query", bodies.groups_query(names), params={"refresh": "true"}
            )

        self._run(go())

    def stamp(self, collection: str) -> str | None:
        alias = self.alias(collection)

        async def go() -> str | None:
            try:
                found = await self._call("GET", f"/{alias}/_mapping")
            except ServerError as exc:
                if exc.status == 404:
                    return None
                raise
            for index in found.values():
                mark = ((index.get("mappings") or {}).get("_meta") or {}).get("workbench") or {}
                if isinstance(mark.get("stamp"), str):
                    return str(mark["stamp"])
            return None

        return self._run(go())

    def set_stamp(self, collection: str, value: str | None) -> None:
        alias = self.alias(collection)

        async def go() -> None:
            if await self._indices(alias):
                await self._call("PUT", f"/{alias}/_mapping", bodies.stamp_mark(value))

        self._run(go())

    # -- reads ------------------------------------------------------------------------------------
    def count(self, collection: str) -> int:
        alias = self.alias(collection)

        async def go() -> int:
            try:
                return int((await self._call("GET", f"/{alias}/_count"))["count"])
            except ServerError as exc:
                if exc.status == 404:
                    return 0
                raise

        return self._run(go())

    def search(
        self,
        collection: str,
        query: str,
        k: int = 10,
        filters: dict[str, Any] | None = None,
        groups: Iterable[str] | None = None,
        with_fields: bool = True,
    ) -> list[Hit]:
        """Top ``k`` hits for ``query`` (any of its words), scores 0..1 as the embedded backend's
        (always with their fields: the server sends them anyway)."""
        if k <= 0 or not query.strip():
            return []
        clauses = bodies.restrictions(filters, None if groups is None else [str(g) for g in groups])
        if clauses is None:
            return []
        return self._run(self._search(self.alias(collection), query, k, clauses))

    async def _search(self, alias: str, query: str, k: int, clauses: list[dict[str, Any]]) -> list[Hit]:
        try:
            stats = await self._statistics(alias, query)
        except ServerError as exc:
            if exc.status == 404:
                return []  # the collection was never written
            raise
        if stats is None:
            return []
        query_tf, doc_freq, n_docs, avgdl = stats
        matchable = [t for t in query_tf if doc_freq.get(t, 0) > 0]
        if not matchable:
            return []
        body = bodies.search(matchable, k, clauses, analysed=bool(self._term_vectors))
        found = await self._call("POST", f"/{alias}/_search", body)
        hits = found["hits"]["hits"]
        if not hits:
            return []
        best = self_score(query_tf, doc_freq, n_docs, avgdl)
        return [
            Hit(
                id=h["_id"],
                # rounded so float noise leaves an exact match at exactly 1.0
                score=min(1.0, round(h["_score"] / best, 6)) if best > 0 else 0.0,
                group=(h.get("_source") or {}).get("group"),
                raw_score=float(h["_score"]),
                fields=(h.get("_source") or {}).get("fields") or {},
            )
            for h in hits
        ]

    async def _statistics(self, alias: str, query: str) -> tuple[Counter, dict[str, int], float, float] | None:
        """(query term counts, document frequencies, N, average length) as the server's BM25 sees them."""
        if self._term_vectors is not False:
            try:
                found = await self._call("POST", f"/{alias}/_termvectors", bodies.term_vectors(query))
            except ServerError as exc:
                if exc.status == 404 and "index" in str(exc).lower() and "handler" not in str(exc).lower():
                    raise
                if exc.status not in (400, 404, 405, 501):
                    raise
                self._term_vectors = False
                log.info("the search server answers no term vectors; statistics come from a multi-search")
            else:
                self._term_vectors = True
                text = (found.get("term_vectors") or {}).get("text")
                if not text:
                    return None  # only stop words or punctuation
                terms = text.get("terms") or {}
                field = text.get("field_statistics") or {}
                n_docs = float(field.get("doc_count") or 0)
                avgdl = float(field.get("sum_ttf") or 0) / n_docs if n_docs else 1.0
                query_tf = Counter({t: int(v.get("term_freq", 1)) for t, v in terms.items()})
                doc_freq = {t: int(v.get("doc_freq") or 0) for t, v in terms.items()}
                return query_tf, doc_freq, max(n_docs, 1.0), max(avgdl, 1e-9)
        # no term vectors: the query's words (split and stop words dropped here, as the embedded
        # backend does) are counted and matched by the server, which analyses each one as it
        # analysed the documents (its _analyze answer is not always what it indexed)
        words = self._words(query)
        if not words:
            return None
        query_tf = Counter(words)
        terms = list(query_tf)
        lines = "".join(
            json.dumps({"index": alias}) + "\n" + json.dumps(body) + "\n" for body in bodies.statistics(terms)
        )
        answers = (await self._call("POST", "/_msearch", lines))["responses"]
        for answer in answers:
            if "error" in answer:
                raise ServerError(int(answer.get("status") or 400), json.dumps(answer["error"])[:1000])
        doc_freq = {t: int(a["hits"]["total"]["value"]) for t, a in zip(terms, answers, strict=False)}
        last = answers[-1]
        n_docs = float(last["hits"]["total"]["value"])
        total = float(((last.get("aggregations") or {}).get("ntok") or {}).get("value") or 0.0)
        avgdl = total / n_docs if n_docs else 1.0
        return query_tf, doc_freq, max(n_docs, 1.0), max(avgdl, 1e-9)

    # -- vectors (optional: documents with ``vector``) ----------------------------------------------
    def knn(
        self,
        collection: str,
        vector: list[float],
        k: int = 10,
        filters: dict[str, Any] | None = None,
        groups: Iterable[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` documents whose vectors are closest to ``vector`` (score: cosine similarity,
        below 0 counted as 0): the server's kNN where it has it, computed here otherwise."""
        clauses = bodies.restrictions(filters, None if groups is None else [str(g) for g in groups])
        if k <= 0 or clauses is None:
            return []
        return self._run(self._knn_search(self.alias(collection), [float(x) for x in vector], k, clauses))

    async def _knn_search(self, alias: str, vector: list[float], k: int, clauses: list[dict[str, Any]]) -> list[Hit]:
        if self._knn is not False:
            try:
                found = await self._call("POST", f"/{alias}/_search", bodies.knn(self.flavour, vector, k, clauses))
            except ServerError as exc:
                if exc.status == 404 and "alias" not in str(exc).lower() and "index" in str(exc).lower():
                    return []
                if exc.status not in (400, 404, 501):
                    raise
                self._knn = False
                log.info("the search server has no kNN search; nearest neighbours are computed here")
            else:
                self._knn = True
                return [self._vector_hit(h, self._server_cosine(float(h["_score"]))) for h in found["hits"]["hits"]]
        try:
            found = await self._call("POST", f"/{alias}/_search", bodies.vectors(CLIENT_KNN_LIMIT, clauses))
        except ServerError as exc:
            if exc.status == 404:
                return []
            raise
        scored = []
        for h in found["hits"]["hits"]:
            stored = (h.get("_source") or {}).get("vector")
            if stored:
                scored.append(self._vector_hit(h, cosine(vector, stored)))
        scored.sort(key=lambda hit: -hit.score)
        return scored[:k]

    def _server_cosine(self, score: float) -> float:
        """The cosine similarity behind a server's kNN score (each flavour scales it its own way)."""
        if self.flavour == "elasticsearch":
            return max(0.0, 2 * score - 1)  # (1 + cos) / 2
        return max(0.0, 2 - 1 / score) if score > 0 else 0.0  # 1 / (2 - cos)

    @staticmethod
    def _vector_hit(h: dict[str, Any], similarity: float) -> Hit:
        source = h.get("_source") or {}
        return Hit(
            id=h["_id"],
            score=round(max(0.0, min(1.0, similarity)), 6),
            group=source.get("group"),
            raw_score=similarity,
            fields=source.get("fields") or {},
        )

    def hybrid(
        self,
        collection: str,
        query: str,
        vector: list[float],
        k: int = 10,
        filters: dict[str, Any] | None = None,
        groups: Iterable[str] | None = None,
        text_weight: float = 0.5,
    ) -> list[Hit]:
        """BM25 and vector similarity fused here: ``text_weight`` x normalised BM25 + the rest x
        cosine, over the union of both candidate lists (a document one side missed scores 0 there)."""
        group_list = None if groups is None else list(groups)
        wide = max(k * 4, 20)
        text = {h.id: h for h in self.search(collection, query, wide, filters, group_list)}
        near = {h.id: h for h in self.knn(collection, vector, wide, filters, group_list)}
        fused = []
        for doc_id in text.keys() | near.keys():
            base = text.get(doc_id) or near[doc_id]
            score = text_weight * (text[doc_id].score if doc_id in text else 0.0) + (1 - text_weight) * (
                near[doc_id].score if doc_id in near else 0.0
            )
            fused.append(Hit(doc_id, round(score, 6), base.group, score, base.fields))
        fused.sort(key=lambda hit: (-hit.score, hit.id))
        return fused[:k]

    # -- operations ---------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The cluster's health (``status``: green, yellow or red)."""
        return self._run(self._call("GET", "/_cluster/health"))

    def close(self) -> None:
        try:
            self._run(self._client.close(), timeout=10)
        finally:
            self._loop.stop()


def self_score(query_tf: Counter, doc_freq: dict[str, int], n_docs: float, avgdl: float) -> float:
    """Lucene's BM25 of a document identical to the query: the normaliser that makes an exact match 1."""
    length = sum(query_tf.values())
    norm = K1 * (1 - B + B * length / avgdl)
    total = 0.0
    for term, tf in query_tf.items():
        n = doc_freq.get(term, 0)  # 0 for a word no document has: the rarest, so the heaviest
        idf = math.log(1 + (n_docs - n + 0.5) / (n + 0.5))
        total += idf * tf / (tf + norm)
    return total


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0
