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
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.engines.decision_table.analyzer import (
    Env,
    Node,
    Trigger,
    evaluate,
    parse,
    tokenize,
    triggers,
    word_parts,
)
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
from workbench.index.base import Document
from workbench.io.files import DATA_LIMIT, read_bytes

log = logging.getLogger(__name__)

#: how many retrieval hits a turn looks at (states are the groups of these hits); a
#: search() of a state outside them asks the index about that state alone
SEARCH_DEPTH = 30


def _locked(method: Any) -> Any:
    """Run ``method`` holding the table's lock: a write from another thread (the TUI's
    workers, the REST API) must not change the compiled table while it is read."""

    @functools.wraps(method)
    def locked(self: DecisionTable, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


@dataclass
class Compiled:
    """A state ready to evaluate: its AST and what can make it match."""

    state: State
    ast: Node | None
    #: words one of which must be present (None: always evaluated)
    triggers: frozenset[Trigger] | None
    doc_ids: list[str]

    @property
    def name(self) -> str:
        return self.state.state


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

    def to_dict(self) -> dict[str, Any]:
        out = {"state": self.state, "score": round(self.score, 4), "by": self.by, "why": self.why}
        if self.extracted:
            out["extracted"] = self.extracted
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


class DecisionTable:
    """The states of one bot's table: store-backed, compiled, indexed."""

    def __init__(self, store: Any, index: Any, bot: str) -> None:
        """``index`` may be None for tools that only read and write states (no retrieval)."""
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
        #: the states, in the store (the source of truth)
        self.docs = store.documents(self.collection)

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
            full = self._rev < 0
            changes = self.docs.changes(-1 if full else self._rev)
            if full:
                self._reset()
            states = [State.model_validate(doc) for _, doc in changes.upserted]
            docs = self._apply(states, [g for g in changes.deleted if g in self._compiled], write_index=not full)
            if self.index is not None:
                if full:
                    # a shared index another process has brought to this revision is used as it is
                    if self.index.revision(self.collection) != changes.revision:
                        self.index.rebuild(self.collection, docs, revision=changes.revision)
                elif states or changes.deleted:
                    self.index.set_revision(self.collection, changes.revision)
            if full or changes.deleted:
                self._order = self.docs.ids()
            self._rev = changes.revision
            return True

    def _reset(self) -> None:
        self._compiled.clear()
        self._order = []
        self._exact.clear()
        self._prefix.clear()
        self._always.clear()
        self._with_queries.clear()
        self._class_count.clear()

    def _apply(self, states: list[State], deletes: list[str], write_index: bool = True) -> list[Document]:
        """Recompile ``states`` and drop ``deletes`` in memory and (with ``write_index``) in the
        index; returns the index documents of ``states``."""
        stale: list[str] = []
        docs: list[Document] = []
        for name in deletes:
            old = self._compiled.pop(name, None)
            if old is not None:
                self._unhook(old)
                stale.extend(old.doc_ids)
        for s in states:
            old = self._compiled.get(s.state)
            if old is not None:
                self._unhook(old)
                stale.extend(old.doc_ids)
            else:
                self._order.append(s.state)
            ast = parse(s.analyzer) if s.analyzer else None
            ids = [f"{s.state}\x1f{i}" for i in range(len(s.queries))]
            comp = Compiled(s, ast, triggers(ast) if ast is not None else None, ids)
            self._compiled[s.state] = comp
            self._hook(comp)
            docs.extend(self._documents_of(comp))
        if deletes:
            gone = set(deletes)
            self._order = [n for n in self._order if n not in gone]
        if self.index is None or not write_index:
            return docs
        fresh = {d.id for d in docs}
        stale = [i for i in stale if i not in fresh]
        if stale:
            self.index.delete(self.collection, stale)
        if docs:
            self.index.upsert(self.collection, docs)
        return docs

    @staticmethod
    def _documents_of(c: Compiled) -> list[Document]:
        """The index documents of one state: one per query, grouped by the state."""
        s = c.state
        fields = {"evaluation_class": s.evaluation_class, "state": s.state}
        return [Document(i, q, s.state, fields) for i, q in zip(c.doc_ids, s.queries, strict=False)]

    def documents(self) -> list[Document]:
        """Every index document of the table (what its index collection mirrors)."""
        self.sync()
        with self._lock:
            return [
                d for name in self._order if name in self._compiled for d in self._documents_of(self._compiled[name])
            ]

    def _hook(self, c: Compiled) -> None:
        cls = c.state.evaluation_class
        self._class_count[cls] = self._class_count.get(cls, 0) + 1
        if c.state.queries:
            self._with_queries.add(c.name)
        if c.ast is None:
            return
        if c.triggers is None:
            self._always.add(c.name)
            return
        for kind, word in c.triggers:
            (self._exact if kind == "w" else self._prefix).setdefault(word, set()).add(c.name)

    def _unhook(self, c: Compiled) -> None:
        self._class_count[c.state.evaluation_class] -= 1
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
        out = [self._compiled[n].state for n in self._order]
        if evaluation_class is not None:
            out = [s for s in out if s.evaluation_class == evaluation_class]
        return out

    def get(self, name: str) -> State | None:
        self.sync()
        c = self._compiled.get(name)
        return c.state if c else None

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
        if read.errors and not skip_invalid:
            return read
        self.import_states(read.states, replace=replace)
        return read

    def export(self, fmt: str = "csv", raw: bool = False) -> str:
        """The table as JSON or CSV (formula-like CSV cells neutralised unless ``raw``)."""
        states = self.list()
        return write_json(states) if fmt == "json" else write_csv(states, raw=raw)

    # -- matching ------------------------------------------------------------------
    def search_scores(
        self, text: str, evaluation_class: str = DEFAULT_CLASS, k: int = SEARCH_DEPTH
    ) -> dict[str, tuple[float, str]]:
        """state -> (best retrieval score of its queries, the query that scored it)."""
        if self.index is None or not self._with_queries or not text.strip():
            return {}
        # a filter costs a query clause; it is needed only when the table has several classes
        single = self._class_count.get(evaluation_class, 0) == len(self._compiled)
        filters = None if single else {"evaluation_class": evaluation_class}
        hits = self.index.search(self.collection, text, k=k, filters=filters)
        best: dict[str, tuple[float, str]] = {}
        for h in hits:
            name = h.group or h.id.split("\x1f", 1)[0]
            if name not in best or h.score > best[name][0]:
                best[name] = (float(h.score), h.id)
        return best

    def _query_text(self, doc_id: str) -> str:
        name, _, i = doc_id.partition("\x1f")
        c = self._compiled.get(name)
        try:
            return c.state.queries[int(i)] if c else ""
        except (ValueError, IndexError):
            return ""

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
        self.sync()
        cls = evaluation_class or DEFAULT_CLASS
        data = data or {}
        traversed = traversed or []
        counts = counts or {}
        retrieval = self.search_scores(utterance, cls)
        tokens = tokenize(utterance)

        exact: dict[str, float] = {}

        def search(name: str) -> float:
            got = retrieval.get(name)
            if got is not None:
                return got[0]
            if name not in self._with_queries or self.index is None:
                return 0.0
            if name not in exact:  # beyond the top hits: score this state's queries alone
                hits = self.index.search(self.collection, utterance, k=1, groups=[name])
                exact[name] = float(hits[0].score) if hits else 0.0
            return exact[name]

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
            if c is None or c.state.evaluation_class != cls:
                continue
            limit_n = c.state.max_state_count
            if limit_n and counts.get(name, 0) >= limit_n:
                exhausted.append(name)
                continue
            considered += 1
            if c.ast is None:
                score = search(name)
            else:
                env.state = name
                if env.extracted:
                    env.extracted = {}
                score = evaluate(c.ast, env)
            if score > 0:
                scored.append((score, c.state.execution_order, name))
        scored.sort(key=lambda t: (-t[0], t[1], t[2]))
        top = scored if limit is None else scored[:limit]
        out: list[Candidate] = []
        for score, _, name in top:
            c = self._compiled[name]
            if c.ast is None:
                _, doc = retrieval[name]
                why = (
                    [f"queries: closest is {self._query_text(doc)!r} (retrieval score {score:.2f})"] if explain else []
                )
                out.append(Candidate(name, score, "search", why))
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
        )
