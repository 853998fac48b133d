"""Hybrid retrieval over one collection of examples: the one piece every matcher shares.

A decision table's state queries, an NLU's intent examples and a knowledge base's
questions are each a collection of *examples* (id, text, group). The engine keeps
its BM25 documents in the task's index as before; a :class:`HybridRetriever` adds
what meaning needs:

* a **vector per example text**, from the store's vector cache (keyed by model and
  text hash) or, for texts never seen, encoded in batches in the background with
  progress events and written back, so a restart encodes nothing; texts shared by
  several examples are encoded and held once;
* **ranking** (:meth:`HybridRetriever.rank`): cosine over the matrix of vectors
  (one matrix-vector product), BM25 from the index, fused per group as
  workbench/engines/retrieval/fusion.py says, with both scores and the nearest
  example of each group;
* the **threshold** (:meth:`HybridRetriever.threshold`): a number from task.yml, or
  cross-validated on the examples in the background (calibration.py), per mode.

Until the model is loaded and every example has its vector, :meth:`rank` returns
None and the engine answers with BM25, as it always did; :meth:`status` says why,
for the trace. Out-of-scope examples join the vote as a group of their own that is
never returned: an utterance that resembles them loses its other matches' share.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.engines.retrieval import fusion
from workbench.engines.retrieval.calibration import Calibration, Sample, Threshold, calibrate, samples_of
from workbench.engines.retrieval.config import Retrieval
from workbench.engines.retrieval.embedder import Embeddings, embeddings, text_key
from workbench.engines.retrieval.events import RetrievalEvent, emit
from workbench.engines.retrieval.worker import submit

if TYPE_CHECKING:

    from workbench.index.base import Index
    from workbench.store.base import Store

log = logging.getLogger(__name__)

#: the group out-of-scope examples vote for (never returned)
OUT_OF_SCOPE = "\x00out_of_scope"
#: BM25 hits fused per query
BM25_DEPTH = 100
#: examples taken by cosine besides BM25's hits before the vote picks its neighbours
COSINE_DEPTH = 50
#: new example texts encoded in the caller's thread (an edit); more go to the background
ENCODE_INLINE = 32
#: groups whose nearest example is looked up per query, beyond the ``k`` asked for
EXTRA_GROUPS = 5


@dataclass(slots=True)
class Example:
    """One document matched against: a state's query, an intent's example, a question."""

    id: str
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
    #: the fused score (0..1): what orders the groups and is compared with the threshold
    score: float
    #: the nearest example's similarity (the blend of its cosine and BM25 in hybrid mode)
    similarity: float
    cosine: float
    bm25: float
    #: the group's share of the fused vote
    probability: float
    example_id: str
    example: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "cosine": round(self.cosine, 4),
            "bm25": round(self.bm25, 4),
            "example": self.example,
        }


@dataclass
class _Snapshot:
    """Everything :meth:`HybridRetriever.rank` reads, swapped whole when the examples change."""

    ids: list[str]
    position: dict[str, int]
    texts: list[str]
    matrix: Any  # (rows, dim) float32: one row per distinct text
    doc_row: Any  # (docs,) row of each example's text
    doc_group: Any  # (docs,) group code
    doc_part: Any  # (docs,) partition code (-1: none)
    groups: list[str]
    partitions: dict[str, int]
    fields: list[dict[str, Any] | None]
    group_docs: dict[int, Any] = field(default_factory=dict)
    head: fusion.LinearHead | None = None
    masks: dict[str, Any] = field(default_factory=dict)


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
        """``default_threshold`` stands until (or when) calibration cannot run; ``fixed_threshold``
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
        self._examples: dict[str, Example] = {}
        self._lock = threading.RLock()
        self._snapshot: _Snapshot | None = None
        self._vectors: dict[str, Any] = {}  # text -> vector (float32 row), the texts of the examples
        self._pending = False  # background preparation queued or running
        self._settled = threading.Event()
        self._progress = (0, 0)
        self._calibrations: dict[str, Calibration | None] = {}
        self._bm25_calibrating = False
        self._version = 0

    # -- examples ------------------------------------------------------------------------
    @property
    def wants_vectors(self) -> bool:
        return self.mode in ("hybrid", "embeddings")

    def reset(self, examples: Iterable[Example]) -> None:
        """Replace every example (a full load); preparation starts in the background."""
        with self._lock:
            self._examples = {}
            for e in examples:
                self._examples[e.id] = e
            for i, text in enumerate(self.settings.out_of_scope):
                self._examples[f"{OUT_OF_SCOPE}{i}"] = Example(f"{OUT_OF_SCOPE}{i}", text, OUT_OF_SCOPE)
            self._changed()

    def update(self, upserts: Iterable[Example] = (), deletes: Iterable[str] = ()) -> None:
        """Add or replace some examples and drop others (an edit)."""
        with self._lock:
            changed = False
            for doc_id in deletes:
                changed |= self._examples.pop(doc_id, None) is not None
            for e in upserts:
                self._examples[e.id] = e
                changed = True
            if changed:
                self._changed()

    def _changed(self) -> None:
        # the last calibration stands until the new one is ready: an edit moves it little
        self._version += 1
        self._snapshot = None
        if not self.wants_vectors:
            self._settled.clear()
            if not self._calibrate_bm25_later():
                self._settled.set()
            return
        missing = [e.text for e in self._examples.values() if e.text not in self._vectors]
        if self.model.ready() and len(missing) <= ENCODE_INLINE:
            self._add_vectors(missing)  # an edit: a few texts, encoded now
            self._build()
            self._settled.clear()
            version = self._version

            def finish() -> None:
                try:
                    self._fit_head(version)
                    self._calibrate(version)
                finally:
                    self._settled.set()

            submit(finish)
            return
        self._settled.clear()
        self._calibrate_bm25_later()
        self.model.start()
        self.model.when_loaded(self._prepare_later)

    # -- background preparation ------------------------------------------------------------
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
            if not self._pending:
                self._settled.set()

    def _prepare_now(self) -> None:
        with self._lock:
            self._pending = False
            version = self._version
            texts = list(dict.fromkeys(e.text for e in self._examples.values() if e.text not in self._vectors))
        if not self.model.ready():
            return  # BM25 answers for good: the model is unavailable
        vectors = self._load_vectors(texts)
        with self._lock:
            self._vectors.update(vectors)
            if version != self._version:
                self._prepare_later()  # the examples changed meanwhile: once more
                return
            self._build()
        emit(RetrievalEvent("ready", self.collection, f"{self.mode} matching over {len(self._examples)} examples"))
        self._fit_head(version)
        self._calibrate(version)

    def _load_vectors(self, texts: list[str]) -> dict[str, Any]:
        """Vectors of ``texts``: from the store's cache, the rest encoded (and stored) in batches."""
        import numpy as np

        cache = self.store.vectors(self.model.name)
        keys = {text: text_key(text) for text in texts}
        found = cache.get_many(keys.values())
        out: dict[str, Any] = {}
        todo: list[str] = []
        for text, key in keys.items():
            blob = found.get(key)
            if blob is not None and len(blob) == 4 * self.model.dim:
                out[text] = np.frombuffer(blob, dtype=np.float32)
            else:
                todo.append(text)
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
            cache.put_many((keys[t], v.tobytes()) for t, v in zip(chunk, encoded, strict=True))
            out.update(zip(chunk, encoded, strict=True))
        return out

    def _add_vectors(self, texts: list[str]) -> None:
        if texts:
            self._vectors.update(self._load_vectors(texts))

    def _build(self) -> None:
        """A new snapshot from the examples and their vectors (callers hold the lock)."""
        import numpy as np

        examples = list(self._examples.values())
        live_texts = {e.text for e in examples}
        for text in [t for t in self._vectors if t not in live_texts]:
            del self._vectors[text]  # an edited query's old vector
        row_of: dict[str, int] = {}
        texts: list[str] = []
        group_code: dict[str, int] = {}
        partitions: dict[str, int] = {}
        n = len(examples)
        doc_row = np.empty(n, dtype=np.int32)
        doc_group = np.empty(n, dtype=np.int32)
        doc_part = np.full(n, -1, dtype=np.int32)
        fields: list[dict[str, Any] | None] = []
        any_fields = False
        for i, e in enumerate(examples):
            row = row_of.get(e.text)
            if row is None:
                row = row_of[e.text] = len(texts)
                texts.append(e.text)
            doc_row[i] = row
            doc_group[i] = group_code.setdefault(e.group, len(group_code))
            if e.partition is not None:
                doc_part[i] = partitions.setdefault(e.partition, len(partitions))
            fields.append(e.fields)
            any_fields |= e.fields is not None
        dim = self.model.dim
        matrix = np.zeros((len(texts), dim), dtype=np.float32)
        for row, text in enumerate(texts):
            matrix[row] = self._vectors[text]
        snapshot = _Snapshot(
            ids=[e.id for e in examples],
            position={e.id: i for i, e in enumerate(examples)},
            texts=texts,
            matrix=matrix,
            doc_row=doc_row,
            doc_group=doc_group,
            doc_part=doc_part,
            groups=list(group_code),
            partitions=partitions,
            fields=fields if any_fields else [],
        )
        order = np.argsort(doc_group, kind="stable")
        bounds = np.flatnonzero(np.diff(doc_group[order])) + 1
        for chunk in np.split(order, bounds) if n else []:
            snapshot.group_docs[int(doc_group[chunk[0]])] = chunk
        self._snapshot = snapshot

    def _fit_head(self, version: int) -> None:
        """Fit the linear head on the current snapshot and swap it in (in the retrieval thread):
        a few seconds for ten thousand examples, during which the vote answers alone."""
        import dataclasses

        snapshot = self._snapshot
        if snapshot is None or not self.classes or not fusion.head_fits(len(snapshot.ids), len(snapshot.groups)):
            return
        head = fusion.LinearHead.fit(snapshot.matrix[snapshot.doc_row], snapshot.doc_group, len(snapshot.groups))
        with self._lock:
            if version == self._version and self._snapshot is snapshot:
                self._snapshot = dataclasses.replace(snapshot, head=head, masks={})

    # -- state -----------------------------------------------------------------------------
    def ready(self) -> bool:
        """True when :meth:`rank` answers (the model is loaded and every example has its vector)."""
        return self._snapshot is not None

    def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the background preparation; True when ready."""
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
        if total:
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
        if snapshot is None or not text.strip():
            return None if snapshot is None else []
        vector = self.model.query(text)
        return self._rank(snapshot, vector, text, k, partition, filters, bm25_filters, None, snapshot.head)

    def group_similarity(self, text: str, group: str) -> Match | None:
        """How close ``group``'s nearest example is to ``text`` (a decision table's ``search()``)."""
        snapshot = self._snapshot
        if snapshot is None or not text.strip():
            return None
        import numpy as np

        code = {g: i for i, g in enumerate(snapshot.groups)}.get(group)
        if code is None:
            return None
        docs = snapshot.group_docs.get(code)
        if docs is None or not len(docs):
            return None
        vector = self.model.query(text)
        cosines = snapshot.matrix[snapshot.doc_row[docs]] @ vector
        bm25 = np.zeros(len(docs), dtype=np.float32)
        if self.mode == "hybrid" and self.index is not None:
            for hit in self.index.search(self.collection, text, k=len(docs), groups=[group]):
                where = np.flatnonzero(docs == snapshot.position.get(hit.id, -1))
                if where.size:
                    bm25[where[0]] = hit.score
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
            snapshot.ids[pos],
            snapshot.texts[snapshot.doc_row[pos]],
        )

    def _allowed(self, snapshot: _Snapshot, partition: str | None, filters: dict[str, Any] | None) -> Any:
        import numpy as np

        mask = None
        if partition is not None:
            code = snapshot.partitions.get(partition, -2)
            mask = snapshot.doc_part == code
        if filters:
            key = repr(sorted((k, repr(v)) for k, v in filters.items()))
            fmask = snapshot.masks.get(key)
            if fmask is None:
                fmask = np.fromiter(
                    (_matches(f or {}, filters) for f in snapshot.fields or [None] * len(snapshot.ids)),
                    dtype=bool,
                    count=len(snapshot.ids),
                )
                if len(snapshot.masks) > 64:
                    snapshot.masks.clear()
                snapshot.masks[key] = fmask
            mask = fmask if mask is None else mask & fmask
        return mask

    def _rank(
        self,
        snapshot: _Snapshot,
        vector: Any,
        text: str,
        k: int,
        partition: str | None,
        filters: dict[str, Any] | None,
        bm25_filters: dict[str, Any] | None,
        exclude: int | None,
        head: fusion.LinearHead | None,
    ) -> list[Match]:
        import numpy as np

        n = len(snapshot.ids)
        if n == 0:
            return []
        cosines = (snapshot.matrix @ vector)[snapshot.doc_row]
        allowed = self._allowed(snapshot, partition, filters)
        if allowed is not None or exclude is not None:
            cosines = cosines.copy()
            if allowed is not None:
                cosines[~allowed] = -2.0
            if exclude is not None:
                cosines[exclude] = -2.0
        bm25: dict[int, float] = {}
        if self.mode == "hybrid" and self.index is not None:
            for hit in self.index.search(self.collection, text, k=BM25_DEPTH, filters=bm25_filters):
                pos = snapshot.position.get(hit.id)
                if pos is not None and pos != exclude and cosines[pos] > -2.0:
                    bm25[pos] = float(hit.score)
        depth = min(n, COSINE_DEPTH)
        top = np.argpartition(-cosines, depth - 1)[:depth] if depth < n else np.arange(n)
        candidates = np.unique(np.concatenate([top, np.fromiter(bm25, dtype=np.int64, count=len(bm25))]))
        candidates = candidates[cosines[candidates] > -2.0]
        if candidates.size == 0:
            return []
        cand_bm25 = np.array([bm25.get(int(p), 0.0) for p in candidates], dtype=np.float32)
        sims = fusion.similarity(cosines[candidates], cand_bm25, self.mode)
        voters = np.argsort(-sims)[: fusion.NEIGHBOURS]
        share = fusion.vote(sims[voters], snapshot.doc_group[candidates[voters]])
        head_log = None
        if head is not None:
            logp = head.log_proba(vector)
            present = share.keys() if allowed is not None else range(len(snapshot.groups))
            head_log = {g: float(logp[g]) for g in present}
        fused = fusion.fuse(share, head_log)
        ranked = sorted(fused.items(), key=lambda item: -item[1])[: k + EXTRA_GROUPS]
        out: list[Match] = []
        for code, probability in ranked:
            if snapshot.groups[code] == OUT_OF_SCOPE:
                continue
            docs = snapshot.group_docs[code]
            doc_cos = cosines[docs]
            doc_bm25 = np.array([bm25.get(int(p), 0.0) for p in docs], dtype=np.float32)
            doc_sims = fusion.similarity(doc_cos, doc_bm25, self.mode)
            best = int(np.argmax(doc_sims))
            if doc_cos[best] <= -2.0:
                continue  # none of its examples may be returned here
            pos = int(docs[best])
            near = float(doc_sims[best])
            out.append(
                Match(
                    snapshot.groups[code],
                    fusion.score(near, probability),
                    near,
                    float(doc_cos[best]),
                    float(doc_bm25[best]),
                    probability,
                    snapshot.ids[pos],
                    snapshot.texts[snapshot.doc_row[pos]],
                )
            )
        out.sort(key=lambda m: -m.score)
        return out[:k]

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

    def default_threshold_for(self, mode: str) -> float:
        return self.default_threshold if mode == "bm25" else max(self.default_threshold, HYBRID_DEFAULT)

    def calibration(self, mode: str | None = None) -> Calibration | None:
        return self._calibrations.get(mode or self.answering())

    def _calibrate(self, version: int) -> None:
        """Cross-validate the configured mode's threshold (in the retrieval thread)."""
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or version != self._version or not self._wants_auto():
                return
            examples = [e for e in self._examples.values() if e.group != OUT_OF_SCOPE]
        samples = samples_of([Sample(e.id, e.text, e.group) for e in examples])
        head = snapshot.head
        if head is not None and samples:
            import numpy as np

            # the head must not have seen the held-out examples, or their scores flatter it
            held = np.array([snapshot.position[s.id] for s in samples])
            keep = np.ones(len(snapshot.ids), dtype=bool)
            keep[held] = False
            if fusion.head_fits(int(keep.sum()), len(snapshot.groups)):
                head = fusion.LinearHead.fit(
                    snapshot.matrix[snapshot.doc_row[keep]], snapshot.doc_group[keep], len(snapshot.groups)
                )

        def rank(sample: Sample) -> tuple[str | None, float]:
            pos = snapshot.position[sample.id]
            vector = snapshot.matrix[snapshot.doc_row[pos]]
            doc = self._examples.get(sample.id)
            partition = doc.partition if doc is not None else None
            matches = self._rank(snapshot, vector, sample.text, 1, partition, None, None, pos, head)
            return (matches[0].group, matches[0].score) if matches else (None, 0.0)

        out_of_scope = {
            snapshot.texts[snapshot.doc_row[p]]: p for p, e in enumerate(snapshot.ids) if e.startswith(OUT_OF_SCOPE)
        }

        def rank_text(text: str) -> float:
            import numpy as np

            pos = out_of_scope.get(text)  # held out like the examples: its own vote would flatter it
            vector = snapshot.matrix[snapshot.doc_row[pos]] if pos is not None else self.model.query(text)
            matches = self._rank(snapshot, np.asarray(vector), text, 1, None, None, None, pos, head)
            return matches[0].score if matches else 0.0

        result = calibrate(samples, rank, self.settings.out_of_scope, rank_text)
        with self._lock:
            if version != self._version:
                return
            self._calibrations[self.mode] = result
        if result is not None:
            emit(
                RetrievalEvent(
                    "calibrated", self.collection, f"threshold {result.threshold:.2f}: {result.describe(self.mode)}"
                )
            )

    def _wants_auto(self) -> bool:
        """Whether the threshold is calibrated: ``auto`` asked for, or nothing set anywhere."""
        chosen = self.settings.threshold
        return chosen == "auto" or (chosen is None and self.fixed_threshold is None)

    def _calibrate_bm25_later(self) -> bool:
        """Queue the calibration of the engine's BM25 ranking; False when there is none to do."""
        if self.bm25_rank is None or not self._wants_auto():
            return False
        with self._lock:
            if self._bm25_calibrating:
                return True
            self._bm25_calibrating = True

        def job() -> None:
            try:
                with self._lock:
                    self._bm25_calibrating = False
                    version = self._version
                    examples = [e for e in self._examples.values() if e.group != OUT_OF_SCOPE]
                rank = self.bm25_rank
                assert rank is not None
                samples = samples_of([Sample(e.id, e.text, e.group) for e in examples])
                result = calibrate(
                    samples,
                    lambda s: rank(s.text, s.id),
                    self.settings.out_of_scope,
                    lambda t: rank(t, None)[1],
                )
                with self._lock:
                    if version == self._version:
                        self._calibrations["bm25"] = result
            finally:
                if not self.wants_vectors:
                    self._settled.set()

        submit(job)
        return True


#: the threshold hybrid and embeddings matching start from when nothing was calibrated: a
#: cosine around 0.5 relates two utterances about the same thing, below it they mostly are not
HYBRID_DEFAULT = 0.45


def _matches(fields: dict[str, Any], filters: dict[str, Any]) -> bool:
    """The index's filter rule: each filter's value (or one of its values) equals the field's
    value (or one of its values); a None filter is ignored."""
    for key, wanted in filters.items():
        if wanted is None:
            continue
        accepted = wanted if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
        have = fields.get(key)
        values = have if isinstance(have, (list, tuple, set, frozenset)) else [have]
        if not any(_same(v, a) for v in values for a in accepted):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    # as the index spells filter values in JSON: True and 1 differ, "1" and 1 differ
    return type(a) is type(b) and a == b
