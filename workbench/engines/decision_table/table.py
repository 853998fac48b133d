"""A decision table kept in the task's SQLite store, compiled in memory, mirrored in the index.

The store is the source of truth. :class:`DecisionTable` is the headless API the
engine, the REST service, the CLI and the TUI share: list/get/upsert/delete
states, import/export, and :meth:`DecisionTable.rank` (the candidates for an
utterance with scores and why each rule matched).

Every write bumps a revision number in the store; :meth:`DecisionTable.sync`
(called at the start of every turn and read) picks up the rows written since the
last revision, by this process or another, recompiles only those states and
updates the index incrementally. So an edit takes effect in the next turn of
every conversation.

Starting a large table costs little: only what matching needs is kept in memory
(names, classes, queries, parsed analyzers: :class:`Compiled`), read from the
store as a few fields per state; the rest of a state is read when a turn enters
it (:meth:`DecisionTable.get`, a small LRU). Parsed analyzers come from the
store's cache (compiled.py); an on-disk index is stamped with the revision it
mirrors and catches up from there. With ``retrieval`` settings, a
:class:`~workbench.engines.retrieval.retriever.HybridRetriever` adds sentence
embeddings to the states' queries (docs/retrieval.md).
"""

from __future__ import annotations

import builtins
import functools
import gc
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.engines.decision_table.analyzer import (
    Env,
    Node,
    Trigger,
    evaluate,
    parse,
    tokenize,
    word_parts,
)
from workbench.engines.decision_table.compiled import AnalyzerCache
from workbench.engines.decision_table.model import DEFAULT_CLASS, State
from workbench.engines.decision_table.table_io import (
    UNREADABLE,
    TableFileError,
    TableRead,
    read_file,
    read_text,
    write_csv,
    write_json,
)
from workbench.engines.mirror import identity, stamp, stamped_revision
from workbench.index.base import Document
from workbench.io.files import DATA_LIMIT, read_bytes

if TYPE_CHECKING:
    from workbench.engines.retrieval.calibration import Threshold
    from workbench.engines.retrieval.config import Retrieval
    from workbench.engines.retrieval.retriever import Example, HybridRetriever, Match

log = logging.getLogger(__name__)

#: how many retrieval hits a turn looks at (states are the groups of these hits); a
#: search() of a state outside them asks the index about that state alone
SEARCH_DEPTH = 30
#: the fields of a state matching needs (the rest is read when a turn enters the state)
MATCH_FIELDS = ("evaluation_class", "execution_order", "max_state_count", "analyzer", "queries")
#: whole states kept in memory for :meth:`DecisionTable.get`
STATE_CACHE = 2048


def _locked(method: Any) -> Any:
    """Run ``method`` holding the table's lock: a write from another thread (the TUI's
    workers, the REST API) must not change the compiled table while it is read."""

    @functools.wraps(method)
    def locked(self: DecisionTable, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


@dataclass(slots=True)
class Compiled:
    """What matching needs of a state: its AST, what can make it match, its queries."""

    name: str
    evaluation_class: str
    execution_order: int
    max_state_count: int
    queries: tuple[str, ...]
    _ast: Node | None
    #: words one of which must be present (None: always evaluated)
    triggers: frozenset[Trigger] | None
    #: a cached AST not built yet (most states of a large table are never evaluated)
    _pending: Callable[[], Node] | None = None

    @property
    def ast(self) -> Node | None:
        if self._pending is not None:
            self._ast, self._pending = self._pending(), None
        return self._ast

    @property
    def doc_ids(self) -> list[str]:
        return [f"{self.name}\x1f{i}" for i in range(len(self.queries))]


@dataclass
class Candidate:
    """A state ranked for an utterance."""

    state: str
    score: float
    #: "analyzer" or "search" (retrieval over the state's queries)
    by: str
    why: list[str] = field(default_factory=list)
    #: variables matchPatternRegex extracted
    extracted: dict[str, str] = field(default_factory=dict)
    #: for retrieval: the nearest query, and its cosine and BM25 scores (None when not computed)
    example: str | None = None
    cosine: float | None = None
    bm25: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "score": round(self.score, 4), "by": self.by, "why": self.why}
        if self.extracted:
            out["extracted"] = self.extracted
        if self.example is not None:
            out["example"] = self.example
        if self.cosine is not None:
            out["cosine"] = round(self.cosine, 4)
        if self.bm25 is not None:
            out["bm25"] = round(self.bm25, 4)
        return out


@dataclass
class Ranking:
    """Everything :meth:`DecisionTable.rank` found for one utterance."""

    candidates: list[Candidate]
    #: states evaluated (after the keyword pre-filter) and states in the class
    evaluated: int = 0
    considered: int = 0
    #: states left out because they reached their max_state_count
    exhausted: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0
    #: how the queries were matched: mode, and (when it is not the one configured) why
    retrieval: dict[str, Any] = field(default_factory=lambda: {"mode": "bm25"})


class DecisionTable:
    """The states of one bot's table: store-backed, compiled, indexed."""

    def __init__(
        self,
        store: Any,
        index: Any,
        bot: str,
        *,
        retrieval: Retrieval | None = None,
        threshold: float = 0.3,
        fixed_threshold: float | None = None,
    ) -> None:
        """``index`` may be None for tools that only read and write states (no retrieval).
        ``retrieval`` (docs/retrieval.md) adds sentence embeddings unless its mode is ``bm25``;
        ``threshold`` is the default a retrieval match needs until one is calibrated, and
        ``fixed_threshold`` the bot's own number when task.yml sets one."""
        self.store = store
        self.index = index
        self.bot = bot
        self.collection = f"decision_table:{bot}"
        self._lock = threading.RLock()
        self._rev = -1
        self._compiled: dict[str, Compiled] = {}
        self._order: list[str] = []
        self._exact: dict[str, set[str]] = {}
        self._prefix: dict[str, set[str]] = {}
        self._always: set[str] = set()
        self._with_queries: set[str] = set()
        self._class_count: dict[str, int] = {}
        self._states: OrderedDict[str, State] = OrderedDict()
        #: the states, in the store (the source of truth)
        self.docs = store.documents(self.collection)
        self.retriever: HybridRetriever | None = None
        if retrieval is not None and index is not None:
            from workbench.engines.retrieval.retriever import HybridRetriever

            self.retriever = HybridRetriever(
                store,
                index,
                self.collection,
                retrieval,
                default_threshold=threshold,
                fixed_threshold=fixed_threshold,
                bm25_rank=self._bm25_top,
            )

    # -- storage -----------------------------------------------------------------
    def _write(self, upserts: Iterable[State], deletes: Iterable[str] = (), replace: bool = False) -> int:
        """Write in one transaction; returns the new revision."""
        return self.docs.write(((s.state, s.document()) for s in upserts), deletes, replace=replace)

    # -- loading -----------------------------------------------------------------
    def seed(self, path: Path, skip_invalid: bool = False) -> str | None:
        """Import ``path`` when its content changed since the last seeding; returns a note if it did."""
        raw = read_bytes(path, DATA_LIMIT, "decision table")  # a regular file within the limit
        digest = hashlib.sha256(raw).hexdigest()
        source = self.docs.source()
        if source.digest == digest:
            return None
        read = read_file(path)
        if read.errors and (not skip_invalid or read.layout == UNREADABLE):
            raise TableFileError(read.errors)
        first = source.digest is None
        self._write(read.states, replace=True)
        self.docs.set_source(str(path), digest)
        verb = (
            "imported" if first else "re-imported (its content changed; edits made since the last import were replaced)"
        )
        note = f"decision table {path.name} {verb}: {len(read.states)} states"
        if read.errors:
            note += f", {len(read.errors)} row(s) skipped"
        log.info(note)
        return note

    def sync(self) -> bool:
        """Bring the compiled table and the index up to the store's revision; True if anything changed."""
        with self._lock:
            if self.docs.revision() == self._rev:
                return False
            if self._rev < 0:
                self._load()
                return True
            changes = self.docs.changes(self._rev)
            states = [State.model_validate(doc) for _, doc in changes.upserted]
            deleted = [g for g in changes.deleted if g in self._compiled]
            self._apply(states, deleted, changes.revision)
            if deleted:
                self._order = self.docs.ids()
            self._rev = changes.revision
            self._stamp()
            return True

    def _load(self) -> None:
        """Compile every state from a few fields each, and bring the index up to date."""
        # a load allocates hundreds of thousands of long-lived, acyclic objects: the cyclic
        # collector would walk the growing heap again and again (half the time of a 100k load)
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._load_all()
        finally:
            if collecting:
                gc.enable()

    def _load_all(self) -> None:
        self._reset()
        revision = self.docs.revision()  # read first: rows newer than it are applied again, harmlessly
        cache = AnalyzerCache.load(self.docs)
        # one string per distinct text: tables repeat classes on every state and often queries
        texts: dict[str, str] = {}
        for name, (cls, order, max_count, analyzer, queries) in self.docs.read_fields(MATCH_FIELDS):
            pending, trig = cache.lazy(analyzer) if analyzer else (None, None)
            cls = cls or DEFAULT_CLASS
            comp = Compiled(
                name,
                texts.setdefault(cls, cls),
                1 if order is None else int(order),
                int(max_count or 0),
                tuple(texts.setdefault(q, q) for q in queries or ()),
                None,
                trig,
                pending,
            )
            self._compiled[name] = comp
            self._order.append(name)
            self._hook(comp)
        cache.save(self.docs, revision)
        self._rev = revision
        if self.index is not None:
            self._load_index(revision)
        if self.retriever is not None:
            self.retriever.reset(self._examples(self._compiled.values()), version=f"rev:{revision}")

    def _load_index(self, revision: int) -> None:
        """Catch an index that outlives the process (on disk, shared by every process on a server)
        up from the revision it is stamped with, or rebuild it (workbench/engines/mirror.py)."""
        owner = identity(self.docs) if self.index.persistent else ""
        since = stamped_revision(self.index.stamp(self.collection), owner) if owner else None
        if since == revision:
            return  # another process (or the last run) brought it here
        if since is not None and since < revision:
            changed = self.docs.changes(since)
            names = [n for n, _ in changed.upserted] + list(changed.deleted)
            if names:
                self.index.delete_groups(self.collection, names)
                fresh = [self._compiled[n] for n, _ in changed.upserted if n in self._compiled]
                self.index.upsert(self.collection, self._documents(fresh))
        else:
            # searches see the old documents until the new ones are all in (a shared index swaps them)
            docs = self._documents(self._compiled.values())
            self.index.rebuild(self.collection, docs, stamp=stamp(owner, revision) if owner else None)
            return
        self._stamp(owner)

    def _stamp(self, owner: str | None = None) -> None:
        if self.index is not None and self.index.persistent:
            self.index.set_stamp(self.collection, stamp(owner or identity(self.docs), self._rev))

    def documents(self) -> list[Document]:
        """Every index document of the table (what its index collection mirrors)."""
        self.sync()
        with self._lock:
            return list(self._documents(self._compiled[n] for n in self._order if n in self._compiled))

    @staticmethod
    def _documents(states: Iterable[Compiled]) -> Iterator[Document]:
        for c in states:
            fields = {"evaluation_class": c.evaluation_class, "state": c.name}
            for i, q in enumerate(c.queries):
                yield Document(f"{c.name}\x1f{i}", q, c.name, fields)

    @staticmethod
    def _examples(states: Iterable[Compiled]) -> Iterator[Example]:
        from workbench.engines.retrieval.retriever import Example

        for c in states:
            for q in c.queries:  # the n-th query of a state is its index document "state\x1fn"
                yield Example(None, q, c.name, c.evaluation_class)

    def _reset(self) -> None:
        self._compiled.clear()
        self._order = []
        self._exact.clear()
        self._prefix.clear()
        self._always.clear()
        self._with_queries.clear()
        self._class_count.clear()
        self._states.clear()

    @staticmethod
    def _compile(s: State) -> Compiled:
        ast = parse(s.analyzer) if s.analyzer else None
        from workbench.engines.decision_table.analyzer import triggers

        return Compiled(
            s.state,
            s.evaluation_class,
            s.execution_order,
            s.max_state_count,
            tuple(s.queries),
            ast,
            triggers(ast) if ast is not None else None,
        )

    def _apply(self, states: list[State], deletes: list[str], revision: int) -> None:
        """Recompile ``states`` and drop ``deletes`` in memory, in the index and in the retriever."""
        stale: list[str] = []
        fresh: list[Compiled] = []
        for name in deletes:
            self._states.pop(name, None)
            old = self._compiled.pop(name, None)
            if old is not None:
                self._unhook(old)
                stale.extend(old.doc_ids)
        for s in states:
            self._states.pop(s.state, None)
            old = self._compiled.get(s.state)
            if old is not None:
                self._unhook(old)
                stale.extend(old.doc_ids)
            else:
                self._order.append(s.state)
            comp = self._compile(s)
            self._compiled[s.state] = comp
            self._hook(comp)
            fresh.append(comp)
        if deletes:
            gone = set(deletes)
            self._order = [n for n in self._order if n not in gone]
        docs = list(self._documents(fresh))
        if self.retriever is not None:
            self.retriever.update(
                self._examples(fresh), version=f"rev:{revision}", groups=[*deletes, *(c.name for c in fresh)]
            )
        if self.index is None:
            return
        ids = {d.id for d in docs}
        stale = [i for i in stale if i not in ids]
        if stale:
            self.index.delete(self.collection, stale)
        if docs:
            self.index.upsert(self.collection, docs)

    def _hook(self, c: Compiled) -> None:
        cls = c.evaluation_class
        self._class_count[cls] = self._class_count.get(cls, 0) + 1
        if c.queries:
            self._with_queries.add(c.name)
        if c._ast is None and c._pending is None:
            return
        if c.triggers is None:
            self._always.add(c.name)
            return
        for kind, word in c.triggers:
            (self._exact if kind == "w" else self._prefix).setdefault(word, set()).add(c.name)

    def _unhook(self, c: Compiled) -> None:
        self._class_count[c.evaluation_class] -= 1
        self._with_queries.discard(c.name)
        self._always.discard(c.name)
        for kind, word in c.triggers or ():
            bucket = (self._exact if kind == "w" else self._prefix).get(word)
            if bucket is not None:
                bucket.discard(c.name)
                if not bucket:
                    del (self._exact if kind == "w" else self._prefix)[word]

    # -- reading -------------------------------------------------------------------
    @property
    def revision(self) -> int:
        return self._rev

    def __len__(self) -> int:
        self.sync()
        return len(self._compiled)

    def __contains__(self, name: str) -> bool:
        self.sync()
        return name in self._compiled

    @_locked
    def names(self) -> list[str]:
        self.sync()
        return list(self._order)

    @_locked
    def list(self, evaluation_class: str | None = None) -> list[State]:
        """Every state in table order (optionally only one evaluation class)."""
        self.sync()
        out = [State.model_validate(doc) for _, doc in self.docs.read()]
        if evaluation_class is not None:
            out = [s for s in out if s.evaluation_class == evaluation_class]
        return out

    @_locked
    def get(self, name: str) -> State | None:
        """One whole state, read from the store (the states a turn enters stay cached)."""
        self.sync()
        if name not in self._compiled:
            return None
        found = self._states.get(name)
        if found is not None:
            self._states.move_to_end(name)
            return found
        rows = self.docs.read([name])
        if not rows:
            return None
        state = State.model_validate(rows[0][1])
        self._states[name] = state
        while len(self._states) > STATE_CACHE:
            self._states.popitem(last=False)
        return state

    def compiled(self, name: str) -> Compiled | None:
        self.sync()
        return self._compiled.get(name)

    # -- writing -------------------------------------------------------------------
    def upsert(self, state: State | dict[str, Any]) -> tuple[State, bool]:
        """Insert or replace one state; returns (state, created). Raises ValueError when invalid."""
        s = state if isinstance(state, State) else State.model_validate(state)
        if s.analyzer:
            parse(s.analyzer)  # AnalyzerError (a ValueError) before anything is written
        with self._lock:
            created = s.state not in self
            self._write([s])
            self.sync()
        return s, created

    def update(self, name: str, changes: dict[str, Any]) -> State:
        """Change some fields of state ``name`` (a partial update). KeyError if there is none."""
        current = self.get(name)
        if current is None:
            raise KeyError(name)
        merged = current.document()
        merged.update(changes)
        merged["state"] = name
        s, _ = self.upsert(merged)
        return s

    def delete(self, name: str) -> bool:
        with self._lock:
            if name not in self:
                return False
            self._write([], [name])
            self.sync()
            return True

    def import_states(self, states: builtins.list[State], replace: bool = False) -> int:
        """Add (or with ``replace``, substitute the whole table with) ``states``."""
        with self._lock:
            self._write(states, replace=replace)
            self.sync()
        return len(states)

    def import_text(
        self,
        text: str,
        source: str = "<upload>",
        kind: str | None = None,
        skip_invalid: bool = False,
        replace: bool = False,
    ) -> TableRead:
        """Read CSV/JSON text and load it; nothing is loaded when it has errors unless ``skip_invalid``."""
        read = read_text(text, source, kind)
        if read.errors and (not skip_invalid or read.layout == UNREADABLE):
            return read
        self.import_states(read.states, replace=replace)
        return read

    def export(self, fmt: str = "csv", raw: bool = False) -> str:
        """The table as JSON or CSV (formula-like CSV cells neutralised unless ``raw``)."""
        states = self.list()
        return write_json(states) if fmt == "json" else write_csv(states, raw=raw)

    # -- matching ------------------------------------------------------------------
    def search_scores(
        self, text: str, evaluation_class: str = DEFAULT_CLASS, k: int = SEARCH_DEPTH, exclude: str | None = None
    ) -> dict[str, tuple[float, str]]:
        """state -> (best BM25 score of its queries, the query that scored it). ``exclude``: a
        query's document id left out (held out while calibrating)."""
        if self.index is None or not self._with_queries or not text.strip():
            return {}
        filters = self._filters(evaluation_class)
        hits = self.index.search(self.collection, text, k=k + (exclude is not None), filters=filters, with_fields=False)
        best: dict[str, tuple[float, str]] = {}
        for h in hits:
            if h.id == exclude:
                continue
            name = h.group or h.id.split("\x1f", 1)[0]
            if name not in best or h.score > best[name][0]:
                best[name] = (float(h.score), h.id)
        return best

    def _filters(self, evaluation_class: str) -> dict[str, str] | None:
        # a filter costs a query clause; it is needed only when the table has several classes
        single = self._class_count.get(evaluation_class, 0) == len(self._compiled)
        return None if single else {"evaluation_class": evaluation_class}

    def _bm25_top(self, text: str, exclude: str | None) -> tuple[str | None, float]:
        """The best state by BM25 alone for a query held out (what calibrating BM25 asks)."""
        name, _, _ = (exclude or "").partition("\x1f")
        c = self._compiled.get(name)
        best = self.search_scores(text, c.evaluation_class if c else DEFAULT_CLASS, k=5, exclude=exclude)
        if not best:
            return None, 0.0
        top = max(best, key=lambda n: best[n][0])
        return top, best[top][0]

    def _query_text(self, doc_id: str) -> str:
        name, _, i = doc_id.partition("\x1f")
        c = self._compiled.get(name)
        try:
            return c.queries[int(i)] if c else ""
        except (ValueError, IndexError):
            return ""

    def threshold(self) -> Threshold | None:
        """The score a retrieval match needs now and where it came from (None without retrieval settings)."""
        return self.retriever.threshold() if self.retriever is not None else None

    def _hybrid(self, text: str, cls: str) -> dict[str, Match] | None:
        """state -> its match by hybrid retrieval, or None while BM25 answers."""
        if self.retriever is None or not self._with_queries:
            return None
        single = self._class_count.get(cls, 0) == len(self._compiled)
        matches = self.retriever.rank(
            text, SEARCH_DEPTH, partition=None if single else cls, bm25_filters=self._filters(cls)
        )
        if matches is None:
            return None
        return {m.group: m for m in matches}

    def prefiltered(self, text: str) -> set[str]:
        """Analyzer states that may score above 0 for ``text`` (the rest certainly score 0)."""
        names = set(self._always)
        for part in word_parts(text):
            hit = self._exact.get(part)
            if hit:
                names |= hit
            if self._prefix:
                for n in range(1, len(part) + 1):
                    hit = self._prefix.get(part[:n])
                    if hit:
                        names |= hit
        return names

    @_locked
    def rank(
        self,
        utterance: str,
        data: dict[str, Any] | None = None,
        *,
        evaluation_class: str | None = None,
        traversed: builtins.list[str] | None = None,
        visited: Iterable[str] = (),
        counts: dict[str, int] | None = None,
        limit: int | None = 10,
        explain: bool = True,
        prefilter: bool = True,
    ) -> Ranking:
        """Score every state of the class for ``utterance``; best first, scores above 0 only.

        ``counts`` (visits per state) leaves out states that reached their
        ``max_state_count``. ``prefilter=False`` evaluates every analyzer (the
        results are the same; it exists to prove that).
        """
        started = time.perf_counter()
        if self.retriever is not None and self._with_queries:
            self.retriever.prefetch(utterance)  # encoded while the table catches up
        self.sync()
        cls = evaluation_class or DEFAULT_CLASS
        data = data or {}
        traversed = traversed or []
        counts = counts or {}
        hybrid = self._hybrid(utterance, cls)
        retrieval = (
            {n: (m.score, m.example_id) for n, m in hybrid.items()}
            if hybrid is not None
            else self.search_scores(utterance, cls)
        )
        tokens = tokenize(utterance)

        exact: dict[str, float] = {}

        def search(name: str) -> float:
            """An analyzer's search(): how close the state's nearest query is."""
            if hybrid is not None:
                if name in hybrid:
                    return hybrid[name].similarity
                if name not in exact:
                    match = self.retriever.group_similarity(utterance, name) if self.retriever else None
                    exact[name] = match.similarity if match is not None else 0.0
                return exact[name]
            got = retrieval.get(name)
            if got is not None:
                return got[0]
            if name not in self._with_queries or self.index is None:
                return 0.0
            if name not in exact:  # beyond the top hits: score this state's queries alone
                hits = self.index.search(self.collection, utterance, k=1, groups=[name])
                exact[name] = float(hits[0].score) if hits else 0.0
            return exact[name]

        def retrieved(name: str) -> float:
            got = retrieval.get(name)
            return got[0] if got is not None else search(name)

        names = (
            self.prefiltered(utterance) if prefilter else {n for n, c in self._compiled.items() if c.ast is not None}
        )
        names |= {n for n in retrieval if n in self._compiled and self._compiled[n].ast is None}
        exhausted: list[str] = []
        scored: list[tuple[float, int, str]] = []
        considered = 0
        # one Env for the turn, so text-only atoms are evaluated once however many rules share them
        env = Env(utterance, tokens, search=search, data=data, traversed=traversed, visited=visited)
        for name in names:
            c = self._compiled.get(name)
            if c is None or c.evaluation_class != cls:
                continue
            limit_n = c.max_state_count
            if limit_n and counts.get(name, 0) >= limit_n:
                exhausted.append(name)
                continue
            considered += 1
            if c.ast is None:
                score = retrieved(name)
            else:
                env.state = name
                if env.extracted:
                    env.extracted = {}
                score = evaluate(c.ast, env)
            if score > 0:
                scored.append((score, c.execution_order, name))
        scored.sort(key=lambda t: (-t[0], t[1], t[2]))
        top = scored if limit is None else scored[:limit]
        out: list[Candidate] = []
        for score, _, name in top:
            c = self._compiled[name]
            if c.ast is None:
                match = hybrid.get(name) if hybrid is not None else None
                if match is not None:
                    why = [
                        f"queries: closest is {match.example!r} (cosine {match.cosine:.2f}, BM25 {match.bm25:.2f}; "
                        f"score {score:.2f})"
                    ]
                    out.append(
                        Candidate(
                            name, score, "search", why if explain else [], {}, match.example, match.cosine, match.bm25
                        )
                    )
                    continue
                _, doc = retrieval[name]
                example = self._query_text(doc)
                why = [f"queries: closest is {example!r} (retrieval score {score:.2f})"] if explain else []
                out.append(Candidate(name, score, "search", why, {}, example, None, score))
                continue
            env.state, env.extracted, env.why = name, {}, ([] if explain else None)
            evaluate(c.ast, env)  # again, to collect reasons and extracted variables
            out.append(Candidate(name, score, "analyzer", env.why or [], dict(env.extracted)))
        return Ranking(
            out,
            evaluated=considered,
            considered=self._class_count.get(cls, 0),
            exhausted=sorted(exhausted),
            elapsed_ms=(time.perf_counter() - started) * 1000,
            retrieval=self.retriever.status() if self.retriever is not None else {"mode": "bm25"},
        )
