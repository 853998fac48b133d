"""Hybrid retrieval over one collection of examples: the one piece every matcher shares.

A decision table's state queries, an NLU's intent examples and a knowledge base's
questions are each a collection of *examples* (id, text, group). The engine keeps
its BM25 documents in the task's index as before; a :class:`HybridRetriever` adds
what meaning needs:

* a **vector per example text**, from the store's vector cache (keyed by model and
  text hash) or, for texts never seen, encoded in batches in the background with
  progress events and written back, so a restart encodes nothing; texts shared by
  several examples are encoded and held once (one row of one float32 matrix);
* **ranking** (:meth:`HybridRetriever.rank`): cosine over the matrix (one
  matrix-vector product), BM25 from the index, fused per group as fusion.py says,
  with both scores and the nearest example of each group;
* the **threshold** (:meth:`HybridRetriever.threshold`): a number from task.yml, or
  cross-validated on the examples (calibration.py) for the mode that answers, kept
  in the store so a restart has it at once; for intents and states it is read on the
  confidence of a no-match model fitted by the same cross-validation (rejection.py).

Until the model is loaded and every example has its vector, :meth:`rank` returns
None and the engine answers with BM25, as it always did; :meth:`status` says why,
for the trace. Out-of-scope examples join the vote as a group of their own that is
never returned: an utterance that resembles them loses its other matches' share.

Examples are held in columns (lists, then numpy arrays), not one object each: a
100k-state table has 200k queries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.engines.retrieval import fusion, kept
from workbench.engines.retrieval.calibration import (
    MIN_LIMIT,
    MIN_SAMPLES,
    Calibration,
    Sample,
    Threshold,
    calibrate,
    choose,
    samples_of,
)
from workbench.engines.retrieval.config import Retrieval
from workbench.engines.retrieval.embedder import Embeddings, embeddings, text_key
from workbench.engines.retrieval.events import RetrievalEvent, emit
from workbench.engines.retrieval.rejection import NEAREST, Evidence, Rejection, novelty, words
from workbench.engines.retrieval.snapshot import OUT_OF_SCOPE, Snapshot, all_tightness, matches_filters
from workbench.engines.retrieval.worker import Stopped, stopping, submit

if TYPE_CHECKING:
    from workbench.index.base import Index
    from workbench.store.base import Store

log = logging.getLogger(__name__)

#: BM25 hits fused per query (deeper hits never reach the vote: BANKING77 ranks the same with 100)
BM25_DEPTH = 30
#: examples taken by cosine besides BM25's hits before the vote picks its neighbours
COSINE_DEPTH = 50
#: new example texts encoded in the caller's thread (an edit); more go to the background
ENCODE_INLINE = 32
#: groups whose nearest example is looked up per query, beyond the ``k`` asked for
EXTRA_GROUPS = 5
#: groups with a smaller share of the fused vote are not returned (their score is near 0); a
#: knowledge base's search lists its Q/As however small their share
MIN_PROBABILITY = 1e-3
#: the threshold hybrid and embeddings matching start from when nothing was calibrated: a
#: cosine around 0.5 relates two utterances about the same thing, below it they mostly are not
HYBRID_DEFAULT = 0.45
#: folds of held-out examples, each ranked by a head fitted without it (and of held-out groups)
CALIBRATION_FOLDS = 5
#: groups a collection needs before some can be held out to show the no-match model what belongs
#: to none of them
HELD_OUT_MIN_GROUPS = 3
#: their examples ranked at most (the model has seven numbers to fit)
HELD_OUT_SAMPLES = 2000


@dataclass(slots=True)
class Example:
    """One document matched against: a state's query, an intent's example, a question.

    ``id`` None: the example is the n-th of its group, and its index document's id is
    ``group + "\\x1f" + n`` (a decision table's queries: a 100k-state table then keeps
    no 200k id strings; its edits replace whole groups).
    """

    id: str | None
    text: str
    group: str
    #: one value a search can be restricted to (a decision table's evaluation class)
    partition: str | None = None
    #: values knowledge-base filters look at (as the index's ``fields``)
    fields: dict[str, Any] | None = None


@dataclass
class Match:
    """A group ranked for an utterance, with the reasons: both scores and the nearest example."""

    group: str
    #: what orders the groups and is compared with the threshold (0..1): the fused score, or, once
    #: the threshold is calibrated with a no-match model, the best group's confidence (the others
    #: scaled alike, so the order stays the fused score's)
    score: float
    #: the nearest example's similarity (the blend of its cosine and BM25 in hybrid mode)
    similarity: float
    cosine: float
    bm25: float
    #: the group's share of the fused vote
    probability: float
    example_id: str
    example: str


class HybridRetriever:
    """Vectors, fusion and threshold for one collection (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        index: Index | None,
        collection: str,
        settings: Retrieval,
        *,
        default_threshold: float,
        fixed_threshold: float | None = None,
        classes: bool = True,
        bm25_rank: Callable[[str, str | None], tuple[str | None, float]] | None = None,
        model: Embeddings | None = None,
    ) -> None:
        """``default_threshold`` is BM25's until (or when) calibration cannot run (hybrid and
        embeddings start from :data:`HYBRID_DEFAULT`); ``fixed_threshold``
        (an engine's own explicit threshold key) wins over calibration when task.yml sets no
        retrieval threshold. ``classes``: groups are classes with several examples (intents,
        states), so a linear head may be fitted. ``bm25_rank(text, excluded id)`` is the
        engine's BM25 ranking, calibrated for when BM25 answers."""
        self.store = store
        self.index = index
        self.collection = collection
        self.settings = settings
        self.mode = settings.mode
        self.default_threshold = default_threshold
        self.fixed_threshold = fixed_threshold
        self.classes = classes
        self.bm25_rank = bm25_rank
        self.model = model if model is not None else embeddings()
        self._lock = threading.RLock()
        # the examples, in columns; a deleted one keeps its position (``_live`` 0) until the next compaction
        self._ids: list[str | None] = []
        self._texts: list[str] = []
        self._groups: list[str] = []
        self._parts: list[str | None] = []
        self._fields: list[dict[str, Any] | None] | None = None
        self._live = bytearray()
        self._pos: dict[str, int] = {}
        self._dead = 0
        # the vectors: one row per distinct text
        self._row_of: dict[str, int] = {}
        self._matrix: np.ndarray | None = None
        self._rows = 0
        self._snapshot: Snapshot | None = None
        self._pending = False  # background preparation queued or running
        self._announced = False
        self._settled = threading.Event()
        self._progress = (0, 0)
        self._version = 0
        self._examples_key = ""
        self._calibrations: dict[str, Calibration | None] = {}
        self._model: tuple[Calibration, Rejection | None] | None = None  # the last one read
        self._fresh: set[str] = set()  # modes whose kept calibration is of these very examples

    # -- examples ------------------------------------------------------------------------
    @property
    def wants_vectors(self) -> bool:
        return self.mode in ("hybrid", "embeddings")

    def reset(self, examples: Iterable[Example], version: str | None = None) -> None:
        """Replace every example (a full load). ``version`` names this set of examples (a store
        revision); without one a digest of the examples does. The BM25 threshold is calibrated
        now (or taken from the store); vectors are prepared in the background."""
        with self._lock:
            ids: list[str | None] = []
            texts: list[str] = []
            groups: list[str] = []
            parts: list[str | None] = []
            fields: list[dict[str, Any] | None] = []
            for e in examples:  # columns filled inline: a large table has hundreds of thousands
                ids.append(e.id)
                texts.append(e.text)
                groups.append(e.group)
                parts.append(e.partition)
                fields.append(e.fields)
            self._ids, self._texts, self._groups, self._parts = ids, texts, groups, parts
            self._fields = fields if any(f is not None for f in fields) else None
            self._live = bytearray(b"\x01") * len(ids)
            self._pos = {i: n for n, i in enumerate(ids) if i is not None}
            self._dead = 0
            if len(self._pos) < sum(1 for i in ids if i is not None):  # a repeated id: its first place is dead
                for n, i in enumerate(ids):
                    if i is not None and self._pos[i] != n:
                        self._live[n] = 0
                        self._dead += 1
            for k, text in enumerate(self.settings.out_of_scope):
                self._append(Example(f"{OUT_OF_SCOPE}{k}", text, OUT_OF_SCOPE))
            self._examples_key = version if version is not None else self._digest()
            self._load_calibrations()
            self._version += 1
            self._snapshot = None
            if self._wants_auto() and "bm25" not in self._fresh:
                self._calibrate_bm25(self._version)  # a few hundred BM25 searches: deterministic from the start
            self._schedule()

    def update(
        self,
        upserts: Iterable[Example] = (),
        deletes: Iterable[str] = (),
        version: str | None = None,
        groups: Iterable[str] = (),
    ) -> None:
        """Add or replace some examples and drop others, by id or every example of ``groups``
        (an edit); calibration follows in the background."""
        with self._lock:
            changed = False
            for doc_id in deletes:
                changed |= self._remove(doc_id)
            gone = set(groups)
            if gone:
                for n, group in enumerate(self._groups):
                    if self._live[n] and group in gone:
                        self._kill(n)
                        changed = True
            for e in upserts:
                if e.id is not None:
                    self._remove(e.id)
                self._append(e)
                changed = True
            if not changed:
                return
            self._examples_key = version if version is not None else self._digest()
            self._fresh.clear()  # the kept calibrations stand until new ones are ready: an edit moves them little
            self._version += 1
            self._snapshot = None
            if self._wants_auto():
                version_now = self._version
                submit(lambda: self._calibrate_bm25(version_now))
            self._schedule()

    def _append(self, e: Example) -> None:
        if e.id is not None:
            self._pos[e.id] = len(self._ids)
        self._live.append(1)
        self._ids.append(e.id)
        self._texts.append(e.text)
        self._groups.append(e.group)
        self._parts.append(e.partition)
        if e.fields is not None and self._fields is None:
            self._fields = [None] * (len(self._ids) - 1)
        if self._fields is not None:
            self._fields.append(e.fields)

    def _remove(self, doc_id: str) -> bool:
        pos = self._pos.get(doc_id)
        if pos is None:
            return False
        self._kill(pos)
        return True

    def _kill(self, pos: int) -> None:
        doc_id = self._ids[pos]
        if doc_id is not None and self._pos.get(doc_id) == pos:
            del self._pos[doc_id]
        self._live[pos] = 0
        self._dead += 1

    def _digest(self) -> str:
        h = hashlib.sha1()
        for n, (doc_id, text, group) in enumerate(zip(self._ids, self._texts, self._groups, strict=True)):
            if self._live[n]:
                h.update(f"{doc_id}\x1f{text}\x1f{group}\x1e".encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    # -- vectors ---------------------------------------------------------------------------
    def _schedule(self) -> None:
        """Make vectors ready: at once for an edit's few texts, in the background otherwise."""
        if not self.wants_vectors:
            self._settled.set()
            return
        missing = self._missing_texts() if self.model.ready() else []
        if self.model.ready() and len(missing) <= ENCODE_INLINE:
            self._add_vectors(self._load_vectors(missing))  # an edit: a few texts, encoded now
            self._build()
            self._announce()
            version = self._version
            self._settled.clear()

            def finish() -> None:
                try:
                    self._fit_head(version)
                    self._calibrate(version)
                finally:
                    self._settled.set()

            submit(finish)
            return
        self._settled.clear()
        # what the store already has loads now, while the model loads in its own thread
        self._prepare_later()
        self.model.start()
        self.model.when_loaded(self._prepare_later)

    def _missing_texts(self) -> list[str]:
        return list(dict.fromkeys(t for n, t in enumerate(self._texts) if self._live[n] and t not in self._row_of))

    def _prepare_later(self) -> None:
        with self._lock:
            if self._pending:
                return
            self._pending = True
        submit(self._prepare)

    def _prepare(self) -> None:
        try:
            self._prepare_now()
        finally:
            with self._lock:
                if not self._pending and (self.ready() or self.model.status.state == "unavailable"):
                    self._settled.set()

    def _prepare_now(self) -> None:
        with self._lock:
            self._pending = False
            version = self._version
            missing = self._missing_texts()
        found = self._cached_vectors(missing) if missing else {}
        with self._lock:
            self._add_vectors(found)
        if not self.model.ready():
            return  # BM25 answers until the model is loaded (for good when it is unavailable)
        with self._lock:
            missing = self._missing_texts()
        encoded = self._load_vectors(missing) if missing else {}
        with self._lock:
            self._add_vectors(encoded)
            if version != self._version or self._missing_texts():
                self._prepare_later()  # the examples changed meanwhile: once more
                return
            self._build()
        self._announce()
        self._fit_head(version)
        self._calibrate(version)

    def _announce(self) -> None:
        """Say once that this collection's configured matching answers from now on."""
        if not self._announced:
            self._announced = True
            examples = len(self._ids) - self._dead
            emit(RetrievalEvent("ready", self.collection, f"{self.mode} matching over {examples} examples"))

    def _cached_vectors(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The vectors of ``texts`` the store already has."""
        cache = self.store.vectors(self.model.name)
        keys = {text: text_key(text) for text in texts}
        found = cache.get_many(keys.values())
        dim = self.model.expected_dim
        out = {}
        for text, key in keys.items():
            blob = found.get(key)
            if blob is not None and (dim is None or len(blob) == 4 * dim):
                out[text] = np.frombuffer(blob, dtype=np.float32)
        return out

    def _load_vectors(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Vectors of ``texts``: from the store's cache, the rest encoded (and stored) in batches."""
        cache = self.store.vectors(self.model.name)
        out = self._cached_vectors(texts)
        known = self.model.remembered([t for t in texts if t not in out])
        if known:
            cache.put_many((text_key(t), v.tobytes()) for t, v in known.items())
            out.update(known)
        todo = [t for t in texts if t not in out]
        total = len(todo)
        if total:
            log.info("%s: encoding %d example texts with %s", self.collection, total, self.model.name)
        step = 512  # stored in chunks, so an interrupted encoding keeps what it did
        for start in range(0, total, step):
            chunk = todo[start : start + step]

            def progress(done: int, _: int, start: int = start) -> None:
                self._progress = (start + done, total)
                emit(RetrievalEvent("encoding", self.collection, done=start + done, total=total))

            encoded = self.model.encode(chunk, progress)
            cache.put_many((text_key(t), v.tobytes()) for t, v in zip(chunk, encoded, strict=True))
            fresh = dict(zip(chunk, encoded, strict=True))
            self.model.remember(fresh)
            out.update(fresh)
        return out

    def _add_vectors(self, vectors: dict[str, np.ndarray]) -> None:
        """Append rows for new texts (callers hold the lock); the matrix grows by doubling."""
        new = [(t, v) for t, v in vectors.items() if t not in self._row_of]
        if not new:
            return
        dim = len(new[0][1])
        need = self._rows + len(new)
        if self._matrix is None or self._matrix.shape[1] != dim or need > len(self._matrix):
            grown = np.zeros((max(need, 2 * self._rows, 64), dim), dtype=np.float32)
            if self._matrix is not None and self._matrix.shape[1] == dim:
                grown[: self._rows] = self._matrix[: self._rows]
            self._matrix = grown
        for text, vector in new:
            self._matrix[self._rows] = vector
            self._row_of[text] = self._rows
            self._rows += 1

    def _compact(self) -> None:
        """Drop deleted examples and the rows of texts no example uses any more."""
        keep = [n for n in range(len(self._ids)) if self._live[n]]
        self._ids = [self._ids[n] for n in keep]
        self._texts = [self._texts[n] for n in keep]
        self._groups = [self._groups[n] for n in keep]
        self._parts = [self._parts[n] for n in keep]
        if self._fields is not None:
            self._fields = [self._fields[n] for n in keep]
        self._pos = {i: n for n, i in enumerate(self._ids) if i is not None}
        self._live = bytearray(b"\x01") * len(self._ids)
        self._dead = 0
        if self._matrix is not None:
            used = list(dict.fromkeys(t for t in self._texts if t in self._row_of))
            rows = np.array([self._row_of[t] for t in used], dtype=np.int64)
            self._matrix = self._matrix[rows] if len(rows) else None
            self._row_of = {t: n for n, t in enumerate(used)}
            self._rows = len(used)

    def _build(self) -> None:
        """A new snapshot from the examples and their vectors (callers hold the lock)."""
        if self._dead > max(1000, len(self._ids) // 4) or (
            self._matrix is not None and self._rows > 2 * (len(self._ids) - self._dead) + 1000
        ):
            self._compact()
        n = len(self._ids)
        group_code: dict[str, int] = {}
        partitions: dict[str, int] = {}
        doc_row = np.zeros(n, dtype=np.int32)
        doc_group = np.full(n, -1, dtype=np.int32)
        doc_part = np.full(n, -1, dtype=np.int32)
        alive = np.zeros(n, dtype=bool)
        row_of = self._row_of
        live_flags = self._live
        for pos, (text, group, part) in enumerate(zip(self._texts, self._groups, self._parts, strict=True)):
            if not live_flags[pos]:
                continue
            alive[pos] = True
            doc_row[pos] = row_of[text]
            code = group_code.get(group)
            if code is None:
                code = group_code[group] = len(group_code)
            doc_group[pos] = code
            if part is not None:
                pcode = partitions.get(part)
                if pcode is None:
                    pcode = partitions[part] = len(partitions)
                doc_part[pos] = pcode
        live = np.flatnonzero(alive)
        order = live[np.argsort(doc_group[live], kind="stable")]
        starts = np.searchsorted(doc_group[order], np.arange(len(group_code) + 1)).astype(np.int64)
        assert self._matrix is not None or not len(live)
        matrix = self._matrix[: self._rows] if self._matrix is not None else np.zeros((0, 1), dtype=np.float32)
        self._snapshot = Snapshot(
            size=n,
            ids=self._ids,
            texts=self._texts,
            position=self._pos,
            matrix=matrix,
            doc_row=doc_row,
            doc_group=doc_group,
            doc_part=doc_part,
            alive=alive,
            groups=list(group_code),
            group_code=group_code,
            partitions=partitions,
            fields=self._fields,
            order=order,
            starts=starts,
            tightness=np.full(len(group_code), np.nan, dtype=np.float32),
        )

    def _fit_head(self, version: int) -> None:
        """Fit the linear head and measure the groups' tightness, and swap them in (in the retrieval
        thread): a few seconds for ten thousand examples, during which the vote answers alone."""
        snapshot = self._snapshot
        if snapshot is None or not self.classes:
            return
        live = snapshot.alive
        head = None
        if fusion.head_fits(int(live.sum()), len(snapshot.groups)):
            head = fusion.LinearHead.fit(
                snapshot.matrix[snapshot.doc_row[live]], snapshot.doc_group[live], len(snapshot.groups)
            )
        tightness, usual = all_tightness(snapshot)
        with self._lock:
            if version == self._version and self._snapshot is snapshot:
                self._snapshot = dataclasses.replace(
                    snapshot, head=head, tightness=tightness, usual_tightness=usual, masks={}, words={}
                )

    # -- state -----------------------------------------------------------------------------
    def ready(self) -> bool:
        """True when :meth:`rank` answers (the model is loaded and every example has its vector)."""
        return self._snapshot is not None

    def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the background work (vectors, head, calibration);
        True when hybrid (or embeddings) matching answers."""
        self._settled.wait(timeout)
        return self.ready()

    def answering(self) -> str:
        """The mode that answers now: the configured one, or bm25 until it can."""
        return self.mode if self.ready() else "bm25"

    def status(self) -> dict[str, Any]:
        """For the trace: which mode answered and, when it is not the one configured, why."""
        out: dict[str, Any] = {"mode": self.answering()}
        if self.mode != out["mode"]:
            out["wanted"] = self.mode
            out["why"] = self.waiting_for()
        return out

    def waiting_for(self) -> str:
        state = self.model.status
        if state.state == "unavailable":
            return f"the embedding model is unavailable ({state.detail})"
        if state.state in ("idle", "loading"):
            return f"the embedding model {self.model.name} is loading"
        done, total = self._progress
        if total and done < total:
            return f"encoding the examples ({done} of {total})"
        return "preparing the example vectors"

    # -- ranking ---------------------------------------------------------------------------
    def rank(
        self,
        text: str,
        k: int = 10,
        *,
        partition: str | None = None,
        filters: dict[str, Any] | None = None,
        bm25_filters: dict[str, Any] | None = None,
    ) -> list[Match] | None:
        """Groups for ``text``, best first (at most ``k``); None while BM25 must answer instead.

        ``partition`` restricts to examples of that partition; ``filters`` to examples whose
        ``fields`` match (the index's filter rules); ``bm25_filters`` is what the index is asked.
        """
        snapshot = self._snapshot
        if snapshot is None:
            return None
        if not text.strip():
            return []
        # the model's process encodes the utterance while this one searches BM25 (a long
        # utterance costs both the most: overlapped, the slow turns are shorter)
        self.model.prefetch(text)
        hits = self._bm25_hits(text, BM25_DEPTH, bm25_filters) if self.mode == "hybrid" else None
        vector = self.model.query(text)
        model = self._rejection()
        matches, found = self._rank(
            snapshot,
            vector,
            text,
            k,
            partition,
            filters,
            bm25_filters,
            None,
            snapshot.head,
            evidence=model is not None,
            hits=hits,
        )
        return self._confident(matches, found, model)

    def prefetch(self, text: str) -> None:
        """Start encoding ``text`` now, for a :meth:`rank` that follows other work."""
        if self._snapshot is not None and text.strip():
            self.model.prefetch(text)

    def _bm25_hits(self, text: str, depth: int, bm25_filters: dict[str, Any] | None) -> list[Any]:
        if self.index is None:
            return []
        return self.index.search(self.collection, text, k=depth, filters=bm25_filters, with_fields=False)

    def group_similarity(self, text: str, group: str) -> Match | None:
        """How close ``group``'s nearest example is to ``text`` (a decision table's ``search()``)."""
        snapshot = self._snapshot
        if snapshot is None or not text.strip():
            return None
        code = snapshot.group_code.get(group)
        if code is None:
            return None
        docs = snapshot.group_docs(code)
        if not len(docs):
            return None
        vector = self.model.query(text)
        cosines = snapshot.matrix[snapshot.doc_row[docs]] @ vector
        bm25 = np.zeros(len(docs), dtype=np.float32)
        if self.mode == "hybrid" and self.index is not None:
            where = {int(p): n for n, p in enumerate(docs)}
            for hit in self.index.search(self.collection, text, k=len(docs), groups=[group], with_fields=False):
                pos = snapshot.locate(hit.id, hit.group)
                n = where.get(pos) if pos is not None else None
                if n is not None:
                    bm25[n] = hit.score
        sims = fusion.similarity(cosines, bm25, self.mode)
        best = int(np.argmax(sims))
        pos = int(docs[best])
        return Match(
            group,
            float(sims[best]),
            float(sims[best]),
            float(cosines[best]),
            float(bm25[best]),
            1.0,
            snapshot.name_of(pos),
            snapshot.texts[pos],
        )

    def _allowed(self, snapshot: Snapshot, partition: str | None, filters: dict[str, Any] | None) -> np.ndarray:
        mask = snapshot.alive
        if partition is not None:
            mask = mask & (snapshot.doc_part == snapshot.partitions.get(partition, -2))
        if filters:
            key = repr(sorted((k, repr(v)) for k, v in filters.items()))
            found = snapshot.masks.get(key)
            if found is None:
                fields = snapshot.fields
                found = np.fromiter(
                    (
                        matches_filters((fields[p] if fields is not None else None) or {}, filters)
                        for p in range(snapshot.size)
                    ),
                    dtype=bool,
                    count=snapshot.size,
                )
                if len(snapshot.masks) > 64:
                    snapshot.masks.clear()
                snapshot.masks[key] = found
            mask = mask & found
        return mask

    def _rank(
        self,
        snapshot: Snapshot,
        vector: np.ndarray,
        text: str,
        k: int,
        partition: str | None,
        filters: dict[str, Any] | None,
        bm25_filters: dict[str, Any] | None,
        exclude: np.ndarray | list[int] | None,
        head: fusion.LinearHead | None,
        *,
        hidden: np.ndarray | None = None,
        evidence: bool = False,
        hits: list[Any] | None = None,
    ) -> tuple[list[Match], Evidence | None]:
        """The groups for one utterance, with plain fused scores, and (``evidence``) what the
        ranking says about the best one. ``exclude``: example positions left out (held out while
        calibrating); ``hidden``: per group code, groups left out altogether (their examples are
        in ``exclude``, and the head's probability is spread over the others)."""
        n = snapshot.size
        if n == 0:
            return [], None
        cosines = (snapshot.matrix @ vector)[snapshot.doc_row]
        allowed = self._allowed(snapshot, partition, filters)
        if exclude is not None and len(exclude):
            allowed = allowed.copy()
            allowed[exclude] = False
        cosines[~allowed] = -2.0
        bm25: dict[int, float] = {}
        if self.mode == "hybrid" and self.index is not None:
            # with whole groups left out, search deeper so that BM25_DEPTH of the others remain
            depth = BM25_DEPTH if hidden is None else 4 * BM25_DEPTH
            if hits is None:  # else searched already, while the utterance was encoded
                hits = self._bm25_hits(text, depth, bm25_filters)
            for hit in hits:
                pos = snapshot.locate(hit.id, hit.group)
                if pos is not None and pos < n and allowed[pos]:
                    bm25[pos] = float(hit.score)
                    if len(bm25) >= BM25_DEPTH:
                        break
        depth = min(n, COSINE_DEPTH)
        top = np.argpartition(-cosines, depth - 1)[:depth] if depth < n else np.arange(n)
        candidates = np.unique(np.concatenate([top, np.fromiter(bm25, dtype=np.int64, count=len(bm25))]))
        candidates = candidates[allowed[candidates]]
        if candidates.size == 0:
            return [], None
        cand_bm25 = np.array([bm25.get(int(p), 0.0) for p in candidates], dtype=np.float32)
        sims = fusion.similarity(cosines[candidates], cand_bm25, self.mode)
        voters = np.argsort(-sims)[: fusion.NEIGHBOURS]
        share = fusion.vote(sims[voters], snapshot.doc_group[candidates[voters]])
        head_log = None
        if head is not None:
            logp = head.log_proba(vector)
            present: Iterable[int] = share.keys() if partition is not None or filters else range(len(snapshot.groups))
            if hidden is not None:  # the head's probability spread over the groups left in
                shown = [g for g in present if not hidden[g]] or [0]
                kept = logp[shown]
                logp = logp - (kept.max() + np.log(np.exp(kept - kept.max()).sum()))
                present = shown
            head_log = {g: float(logp[g]) for g in present}
        fused = fusion.fuse(share, head_log)
        ranked = sorted(fused.items(), key=lambda item: -item[1])[: k + EXTRA_GROUPS]
        out: list[Match] = []
        nearest: dict[str, np.ndarray] = {}
        for code, probability in ranked:
            if snapshot.groups[code] == OUT_OF_SCOPE or (self.classes and probability < MIN_PROBABILITY and out):
                continue
            docs = snapshot.group_docs(code)
            docs = docs[allowed[docs]]
            if not len(docs):
                continue  # none of its examples may be returned here
            doc_cos = cosines[docs]
            doc_bm25 = np.array([bm25.get(int(p), 0.0) for p in docs], dtype=np.float32)
            doc_sims = fusion.similarity(doc_cos, doc_bm25, self.mode)
            best = int(np.argmax(doc_sims))
            pos = int(docs[best])
            near = float(doc_sims[best])
            nearest[snapshot.groups[code]] = doc_cos
            out.append(
                Match(
                    snapshot.groups[code],
                    fusion.score(near, probability),
                    near,
                    float(doc_cos[best]),
                    float(doc_bm25[best]),
                    probability,
                    snapshot.name_of(pos),
                    snapshot.texts[pos],
                )
            )
        out.sort(key=lambda m: -m.score)
        found = None
        if evidence and out:
            found = self._evidence(snapshot, out[0], fused, nearest[out[0].group], text, exclude)
        return out[:k], found

    def _evidence(
        self,
        snapshot: Snapshot,
        best: Match,
        fused: dict[int, float],
        group_cosines: np.ndarray,
        text: str,
        exclude: np.ndarray | list[int] | None,
    ) -> Evidence:
        """What the ranking says about its best group (rejection.py); ``group_cosines``: the
        cosines of that group's examples that could be matched."""
        code = snapshot.group_code[best.group]
        runner_up = max((p for g, p in fused.items() if g != code), default=0.0)
        near = min(NEAREST, len(group_cosines))
        closest = -np.partition(-group_cosines, near - 1)[:near]
        held: list[frozenset[str]] = []
        if exclude is not None and len(exclude):
            ex = np.asarray(exclude, dtype=np.int64)
            held = [words(snapshot.texts[int(p)]) for p in ex[snapshot.doc_group[ex] == code].tolist()]
        return Evidence(
            cosine=best.cosine,
            bm25=best.bm25,
            probability=best.probability,
            runner_up=runner_up,
            closeness=float(closest.mean()) - snapshot.tight(code),
            novelty=novelty(words(text), snapshot.group_words(code), held),
        )

    def _confident(self, matches: list[Match], found: Evidence | None, model: Rejection | None) -> list[Match]:
        """The matches with the best one's confidence as its score, the others scaled alike."""
        if model is None or found is None or not matches:
            return matches
        confidence = max(1e-6, model.confidence(found))
        factor = confidence / max(matches[0].score, 1e-9)
        return [dataclasses.replace(m, score=min(confidence, m.score * factor)) for m in matches]

    # -- the threshold -----------------------------------------------------------------------
    def threshold(self) -> Threshold:
        """The score a match needs now, for the mode that answers, and where it came from."""
        mode = self.answering()
        chosen = self.settings.threshold
        if isinstance(chosen, (int, float)):
            return Threshold(float(chosen), "task", "set in task.yml (retrieval.threshold)")
        if self.fixed_threshold is not None and chosen is None:
            return Threshold(self.fixed_threshold, "task", "the bot's own threshold in task.yml")
        calibration = self._calibrations.get(mode)
        if calibration is not None:
            return Threshold(calibration.threshold, "auto", calibration.describe(mode))
        why = "too few examples to cross-validate" if mode in self._calibrations else "not calibrated yet"
        return Threshold(self.default_threshold_for(mode), "default", f"the {mode} default ({why})")

    def _rejection(self) -> Rejection | None:
        """The no-match model the calibrated threshold is read on (None: it is read on the score)."""
        if not self._wants_auto():
            return None
        calibration = self._calibrations.get(self.mode)
        if calibration is None or calibration.model is None:
            return None
        last = self._model
        if last is None or last[0] is not calibration:
            last = self._model = (calibration, Rejection.from_list(calibration.model))
        return last[1]

    def default_threshold_for(self, mode: str) -> float:
        return self.default_threshold if mode == "bm25" else HYBRID_DEFAULT

    def _wants_auto(self) -> bool:
        """Whether the threshold is calibrated: ``auto`` asked for, or nothing set anywhere."""
        chosen = self.settings.threshold
        return chosen == "auto" or (chosen is None and self.fixed_threshold is None)

    def _live_samples(self, limit: int | None = None) -> list[Sample]:
        """The examples calibration may hold out (callers hold the lock), at most ``limit`` (or as
        many as calibration.sample_limit allows); an example without an id is named as its index
        document is (its group and number)."""
        seen: dict[str, int] = {}
        out = []
        for n, (doc_id, text, group) in enumerate(zip(self._ids, self._texts, self._groups, strict=True)):
            if not self._live[n]:
                continue
            k = seen.get(group, 0)
            seen[group] = k + 1
            if group != OUT_OF_SCOPE:
                out.append(Sample(doc_id if doc_id is not None else f"{group}\x1f{k}", text, group, n))
        return samples_of(out, limit)

    def _calibrate_bm25(self, version: int) -> None:
        """Cross-validate the engine's BM25 ranking (held-out queries ranked with BM25 alone)."""
        rank = self.bm25_rank
        if rank is None:
            return
        with self._lock:
            if version != self._version:
                return
            samples = self._live_samples(MIN_LIMIT)  # runs as the examples load: the fewest that are steady
        result = calibrate(
            samples, lambda s: rank(s.text, s.id), self.settings.out_of_scope, lambda t: rank(t, None)[1]
        )
        self._store_calibration("bm25", result, version)

    def _calibrate(self, version: int) -> None:
        """Cross-validate the configured mode's threshold and, for intents and states, fit the
        no-match model it is read on (in the retrieval thread)."""
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or version != self._version or not self._wants_auto() or self.mode in self._fresh:
                return
            samples = self._live_samples()
        if len(samples) < MIN_SAMPLES:
            self._store_calibration(self.mode, None, version)
            return
        with_model = self.classes
        # held-out examples: the head must not have seen them, or their scores flatter it; one head
        # per fold, each missing a fifth of them (a head missing them all would be weaker than the
        # one that answers, and the threshold too lenient)
        right: list[float] = []
        right_evidence: list[Evidence] = []
        for fold in range(CALIBRATION_FOLDS):
            held = samples[fold::CALIBRATION_FOLDS]
            head = self._head_without(snapshot, [s.position for s in held])
            for sample in held:
                pos = sample.position
                matches, found = self._rank(
                    snapshot,
                    snapshot.matrix[snapshot.doc_row[pos]],
                    sample.text,
                    1,
                    self._partition_of(snapshot, pos),
                    None,
                    None,
                    [pos],
                    head,
                    evidence=with_model,
                )
                if matches and matches[0].group == sample.group:
                    right.append(matches[0].score)
                    if found is not None:
                        right_evidence.append(found)
            if self._abandoned(version):
                return
        if len(right) < MIN_SAMPLES // 2:  # groups too alike to rank their own examples first
            self._store_calibration(self.mode, None, version)
            return
        wrong = self._held_out_groups(snapshot, version) if with_model else []
        oos_scores, oos_evidence = self._out_of_scope_scores(snapshot, with_model)
        # a task's out-of-scope examples choose the threshold, so the model is not fitted on them:
        # their confidences must be those of utterances it never saw (fitted on them too, it learnt
        # their few intents and rejected fewer of the others)
        model = Rejection.fit(right_evidence, wrong) if with_model else None
        if model is not None:
            right = [model.confidence(e) for e in right_evidence]
            oos_scores = [model.confidence(e) for e in oos_evidence]
        result = choose(right, len(samples), oos_scores)
        if result is not None and model is not None:
            below = sum(model.confidence(e) < result.threshold for e in wrong)
            result = dataclasses.replace(
                result, model=model.to_list(), held_out_groups=len(wrong), held_out_rejected=below / len(wrong)
            )
        self._store_calibration(self.mode, result, version)

    def _abandoned(self, version: int) -> bool:
        """Whether a calibration in progress should stop: the examples changed (a newer one
        follows) or the process is exiting."""
        if stopping():
            raise Stopped
        return version != self._version

    @staticmethod
    def _partition_of(snapshot: Snapshot, pos: int) -> str | None:
        code = int(snapshot.doc_part[pos])
        return next((p for p, c in snapshot.partitions.items() if c == code), None) if code >= 0 else None

    @staticmethod
    def _head_without(snapshot: Snapshot, held: np.ndarray | list[int]) -> fusion.LinearHead | None:
        """A head like the snapshot's, fitted without the examples at ``held`` (None when the
        snapshot has no head)."""
        if snapshot.head is None or not len(held):
            return snapshot.head
        keep = snapshot.alive.copy()
        keep[held] = False
        if not fusion.head_fits(int(keep.sum()), len(snapshot.groups)):
            return None
        return fusion.LinearHead.fit(
            snapshot.matrix[snapshot.doc_row[keep]], snapshot.doc_group[keep], len(snapshot.groups)
        )

    def _held_out_groups(self, snapshot: Snapshot, version: int) -> list[Evidence]:
        """Utterances of no group, as the task's own examples can show them: a fifth of the groups
        at a time is left out (their examples, and the head's knowledge of them), and examples of
        theirs are ranked against the rest."""
        codes = [c for c, g in enumerate(snapshot.groups) if g != OUT_OF_SCOPE and len(snapshot.group_docs(c))]
        if len(codes) < HELD_OUT_MIN_GROUPS:
            return []
        codes.sort(key=lambda c: hashlib.sha1(snapshot.groups[c].encode("utf-8", "surrogatepass")).digest())
        folds = min(CALIBRATION_FOLDS, len(codes))
        out: list[Evidence] = []
        for fold in range(folds):
            held_codes = codes[fold::folds]
            held = np.concatenate([snapshot.group_docs(c) for c in held_codes])
            hidden = np.zeros(len(snapshot.groups), dtype=bool)
            hidden[held_codes] = True
            head = self._head_without(snapshot, held)
            picks = np.random.default_rng(fold).permutation(held)[: HELD_OUT_SAMPLES // folds]
            for pos in picks.tolist():
                _, found = self._rank(
                    snapshot,
                    snapshot.matrix[snapshot.doc_row[pos]],
                    snapshot.texts[pos],
                    1,
                    self._partition_of(snapshot, pos),
                    None,
                    None,
                    held,
                    head,
                    hidden=hidden,
                    evidence=True,
                )
                if found is not None:
                    out.append(found)
            if self._abandoned(version):
                return []
        return out

    def _out_of_scope_scores(self, snapshot: Snapshot, with_model: bool) -> tuple[list[float], list[Evidence]]:
        """The task's out-of-scope examples ranked as utterances it never saw: without any of them
        (the others, often from the same conversations, would flatter the rejection), by a head
        that never saw them."""
        code = snapshot.group_code.get(OUT_OF_SCOPE)
        if code is None:
            return [], []
        every = snapshot.group_docs(code)
        hidden = np.zeros(len(snapshot.groups), dtype=bool)
        hidden[code] = True
        head = self._head_without(snapshot, every)
        scores: list[float] = []
        evidence: list[Evidence] = []
        for pos in every.tolist():
            matches, found = self._rank(
                snapshot,
                snapshot.matrix[snapshot.doc_row[pos]],
                snapshot.texts[pos],
                1,
                None,
                None,
                None,
                every,
                head,
                hidden=hidden,
                evidence=with_model,
            )
            scores.append(matches[0].score if matches else 0.0)
            if found is not None:
                evidence.append(found)
            elif with_model:
                evidence.append(Evidence(0.0, 0.0, 0.0, 1.0, -1.0, 1.0))  # nothing matched at all
        return scores, evidence

    # -- calibrations kept in the store --------------------------------------------------------
    def _load_calibrations(self) -> None:
        """The calibrations the store kept for these settings: used at once (fresh when they are
        of these very examples; otherwise until new ones are ready)."""
        found, self._fresh = kept.load(
            self.store, self.collection, kept.settings_key(self.settings.out_of_scope), self._examples_key
        )
        self._calibrations.update(found)

    def _store_calibration(self, mode: str, result: Calibration | None, version: int) -> None:
        with self._lock:
            if version != self._version:
                return
            self._calibrations[mode] = result
            self._fresh.add(mode)
            key = kept.settings_key(self.settings.out_of_scope)
            kept.keep(self.store, self.collection, key, mode, self._examples_key, result)
        if result is not None:
            emit(
                RetrievalEvent(
                    "calibrated", self.collection, f"{mode} threshold {result.threshold:.2f}: {result.describe(mode)}"
                )
            )
