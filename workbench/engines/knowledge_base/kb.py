"""The knowledge base: past question/answer pairs a bot falls back on when no state matches.

Documents carry starchat's fields (``id``, ``conversation``,
``index_in_conversation``, ``question``, ``answer``, ``verified``, ``topics``,
``doctype``, ``state``, ``status``). They live in the task's store (the document
set ``knowledge_base:<bot>``: a knowledge base belongs to a bot) and are mirrored into the retrieval index (collection ``knowledge_base:<bot>``),
one index document per Q/A whose text is the question. Every write goes to the
store first, then to the index, so the index can always be rebuilt from the store.

Doctypes follow starchat: ``normal`` Q/As can be returned to the user; ``hidden``
ones are indexed (they sharpen the term statistics) but never returned unless a
search asks for them by ``doctype``; ``decisiontable`` ones carry no answer of
their own and point the conversation at their ``state``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import BaseModel, Field, ValidationError

from workbench.engines.mirror import identity, stamp, stamped_revision
from workbench.index.base import Document, Index
from workbench.io import spreadsheet
from workbench.io.files import DATA_LIMIT, read_text
from workbench.io.numbers import whole_number
from workbench.io.untrusted import JsonLimits, UntrustedInput, clean_text, parse_json
from workbench.problems import Problem, TaskError
from workbench.store.private import open_private

if TYPE_CHECKING:
    from workbench.engines.retrieval.calibration import Threshold
    from workbench.engines.retrieval.config import Retrieval
    from workbench.engines.retrieval.retriever import Example, HybridRetriever

DOCTYPES = ("normal", "hidden", "decisiontable")
# starchat's field order, used for CSV headers and exports
COLUMNS = (
    "id",
    "conversation",
    "index_in_conversation",
    "question",
    "answer",
    "verified",
    "topics",
    "doctype",
    "state",
    "status",
)
FILTERS = ("verified", "doctype", "topics", "state", "status", "conversation")
# what a search returns when it does not ask for doctypes: everything but hidden
RETRIEVABLE = ("normal", "decisiontable")
DEFAULT_THRESHOLD = 0.5

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}
_TOPIC_SPLIT = re.compile(r"[\s,;]+")
#: starchat's integers are 32-bit; a bigger one would not fit the store either
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
NUMBER_RANGE = (INT32_MIN, INT32_MAX)
#: one line of a JSON Lines file
LINE_JSON = JsonLimits(max_bytes=1 << 20, max_depth=32)


class QA(BaseModel):
    """One knowledge-base document."""

    question: str
    answer: str = ""
    id: str = ""
    conversation: str = ""
    index_in_conversation: int | None = Field(None, ge=INT32_MIN, le=INT32_MAX)
    verified: bool = False
    topics: str = ""  # starchat keeps topics as one string: words separated by spaces or commas
    doctype: str = "normal"
    state: str = ""
    status: int = Field(0, ge=INT32_MIN, le=INT32_MAX)

    def to_dict(self) -> dict[str, Any]:
        """starchat's JSON shape of a document."""
        data = self.model_dump()
        return {key: data[key] for key in COLUMNS}

    @property
    def topic_list(self) -> list[str]:
        return [t for t in _TOPIC_SPLIT.split(self.topics.lower()) if t]


@dataclass
class KBHit:
    """A Q/A and how well it matched a question (0..1, see :mod:`workbench.index.embedded`)."""

    qa: QA
    score: float
    #: the question's cosine and BM25 scores, when hybrid retrieval ranked it
    cosine: float | None = None
    bm25: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.qa.to_dict(), "score": self.score}


@dataclass
class Exchange:
    """A question and its answer from a conversation, and the stored messages they came from."""

    qa: QA
    messages: list[dict[str, Any]]


class KnowledgeBaseError(TaskError):
    """Invalid Q/A data; ``problems`` names every row/line and column at fault."""


@dataclass
class ImportReport:
    """What an import wrote, and what it skipped (only when not strict)."""

    added: int
    problems: list[Problem] = field(default_factory=list)


# -- field parsing ---------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError(f"expected text, got {json.dumps(value)}")
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__}")


def _integer(value: Any, default: int | None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {json.dumps(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return whole_number(value)
    raise ValueError(f"expected a whole number, got {value!r}")


def _boolean(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError(f"expected true or false, got {value!r}")


def _doctype(value: Any) -> str:
    word = _text(value).strip().lower() or "normal"
    if word not in DOCTYPES:
        raise ValueError(f"expected one of {', '.join(DOCTYPES)}, got {value!r}")
    return word


def _topics(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v) for v in value)
    return _text(value)


def _derived_id(question: str, answer: str) -> str:
    """An id from the content, so importing the same file twice adds nothing new."""
    return hashlib.sha1(f"{question}\x1f{answer}".encode()).hexdigest()[:16]


#: field -> how its loosely typed value (a CSV string, a JSON value) becomes the QA's
_PARSERS: dict[str, Callable[[Any], Any]] = {
    "id": lambda v: _text(v).strip(),
    "conversation": _text,
    "question": _text,
    "answer": _text,
    "state": lambda v: _text(v).strip(),
    "topics": _topics,
    "doctype": _doctype,
    "verified": _boolean,
    "index_in_conversation": lambda v: _integer(v, None),
    "status": lambda v: _integer(v, 0),
}


def _fault(key: str | None, message: str) -> Problem:
    """A problem with one field of a Q/A; the reader adds the file and the row or line."""
    return Problem("", key=key, message=message)


def parse_qa(raw: Mapping[str, Any]) -> tuple[QA | None, list[Problem]]:
    """A QA from loosely typed data (CSV strings, JSON values), or its problems (the field in ``key``)."""
    faults: list[Problem] = []
    values: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        if key in raw:
            try:
                values[key] = parse(raw[key])
            except ValueError as exc:
                faults.append(_fault(key, str(exc)))
    faults += [_fault(str(key), f"unknown field (known: {', '.join(COLUMNS)})") for key in raw if key not in _PARSERS]
    if faults:
        return None, faults
    try:
        qa = QA(**{"question": "", **values})
    except ValidationError as exc:
        return None, [_fault(str(err["loc"][0]), _bound_message(err)) for err in exc.errors()]
    if not qa.question.strip():
        faults.append(_fault("question", "is empty: every Q/A needs a question"))
    if qa.doctype == "decisiontable":
        if not qa.state:
            faults.append(_fault("state", "is empty: a decisiontable Q/A must name the state it leads to"))
    elif not qa.answer.strip():
        faults.append(_fault("answer", "is empty: only decisiontable Q/As may go without an answer"))
    if faults:
        return None, faults
    if not qa.id:
        qa.id = _derived_id(qa.question, qa.answer)
    return qa, []


def _bound_message(err: Any) -> str:
    msg = str(err["msg"])
    return f"{msg[0].lower()}{msg[1:]} (got {err['input']!r})" if msg else "invalid"


def _column_name(header: str) -> str:
    """Header spellings tolerated: any case, spaces, camelCase (``indexInConversation``)."""
    squashed = re.sub(r"[\s_\-]+", "", header.strip().lower())
    for column in COLUMNS:
        if column.replace("_", "") == squashed:
            return column
    return header.strip()


@contextmanager
def _opened(source: str | Path | TextIO, mode: str) -> Iterator[tuple[TextIO, str]]:
    """A text stream and a name for messages; a str is a path, a stream is used as is.

    A path is read whole through :func:`~workbench.io.files.read_text` (a regular file
    within the data limit, UTF-8 without control characters; a spreadsheet's BOM is
    dropped), so reading a FIFO or /dev/zero is a problem, not a hang. A path written
    (an export: it holds the Q/As) is created 0600."""
    if isinstance(source, (str, Path)):
        if mode == "r":
            yield io.StringIO(read_text(source, DATA_LIMIT, "knowledge base"), newline=""), str(source)
            return
        with open_private(Path(source), newline="") as stream:
            yield stream, str(source)
    else:
        yield source, str(getattr(source, "name", None) or "knowledge base data")


def _csv_records(stream: TextIO, name: str, problems: list[Problem]) -> list[tuple[int, dict[str, str]]]:
    """The records of a Q/A CSV: (row, {column: cell}); the header's and rows' faults go to ``problems``.

    Raises KnowledgeBaseError when the file has no header or no question column, or is unreadable."""
    reader = csv.reader(stream)

    def fault(row: int, column: str | None, message: str) -> None:
        problems.append(Problem(name, key=column, message=message, row=row))

    try:
        header = next(reader, None)
        if header is None:
            raise KnowledgeBaseError([Problem(name, message="is empty: expected a header row", row=1)])
        columns = [_column_name(clean_text(h)) for h in header]
        for position, column in enumerate(columns):
            if column not in COLUMNS:
                fault(1, column, f"unknown column (known: {', '.join(COLUMNS)}); its cells are ignored")
            elif column in columns[:position]:
                fault(1, column, "appears twice in the header")
        if "question" not in columns:
            fault(1, "question", "missing: the header must have a question column")
            raise KnowledgeBaseError(problems)
        records = []
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank rows are spacing, not data
            if len(cells) > len(columns):
                fault(row_number, None, f"has {len(cells)} cells but the header has {len(columns)} columns")
                continue
            raw = {c: clean_text(v) for c, v in zip(columns, cells, strict=False) if c in COLUMNS}
            records.append((row_number, raw))
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, None, f"unreadable CSV: {exc}"))
        raise KnowledgeBaseError(problems) from None
    return records


def _jsonl_records(stream: TextIO, name: str, problems: list[Problem]) -> list[tuple[int, dict[str, Any]]]:
    """The records of a Q/A JSON Lines file: (line, object); each line's fault goes to ``problems``."""
    records = []
    for line_number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = parse_json(line.rstrip("\r\n"), LINE_JSON, what="line")
        except UntrustedInput as exc:
            problems.append(Problem(name, line_number, None, exc.reason, column=exc.column))
            continue
        if not isinstance(value, dict):
            problems.append(Problem(name, line_number, None, f"expected a JSON object, got {type(value).__name__}"))
            continue
        records.append((line_number, value))
    return records


class KnowledgeBase:
    """One bot's knowledge base: Q/As in the store, mirrored into the index."""

    def __init__(
        self, store: Any, index: Index, name: str, *, sync: bool = True, retrieval: Retrieval | None = None
    ) -> None:
        """``sync`` rebuilds the index collection when it disagrees with the store
        (a fresh in-memory index, or an index built before a crash). ``retrieval``
        (docs/retrieval.md) adds sentence embeddings to BM25 unless its mode is ``bm25``."""
        self.store = store
        self.index = index
        self.name = name
        self.collection = f"knowledge_base:{name}"
        #: the Q/As, in the store (the source of truth)
        self.docs = store.documents(self.collection)
        self.retriever: HybridRetriever | None = None
        if retrieval is not None and retrieval.mode != "bm25":
            from workbench.engines.retrieval.retriever import HybridRetriever

            # every Q/A is its own group: no head, and nothing to cross-validate but out-of-scope examples
            self.retriever = HybridRetriever(
                store, index, self.collection, retrieval, default_threshold=DEFAULT_THRESHOLD, classes=False
            )
        #: the store's revision the index and the retriever have caught up with (:meth:`catch_up`)
        self._rev = self.docs.revision()
        if sync:
            # an index that outlives the process (on disk, a server every process shares) says what it mirrors
            owner = identity(self.docs) if index.persistent else ""
            mark = stamped_revision(index.stamp(self.collection), owner) if owner else None
            # no stamp of ours, or one from ahead of the store (an older copy of it): rebuild
            if mark is None or mark > self._rev:
                if index.persistent or index.count(self.collection) != len(self):
                    self.reindex()
                    return
            elif mark < self._rev:
                self._rev = mark
                self.catch_up()
        if self.retriever is not None:
            self.retriever.reset((self._example(qa) for qa in self._rows()), version=f"rev:{self._rev}")

    # -- storage ------------------------------------------------------------------
    @staticmethod
    def _qa(doc: Mapping[str, Any]) -> QA:
        data = {key: doc.get(key) for key in COLUMNS}
        data["verified"] = bool(data["verified"])
        for key in ("conversation", "topics", "state", "answer"):
            data[key] = data[key] or ""
        data["status"] = data["status"] or 0
        data["doctype"] = data["doctype"] or "normal"
        return QA(**data)

    def _rows(self, ids: Iterable[str] | None = None) -> list[QA]:
        return [self._qa(doc) for _, doc in self.docs.read(ids)]

    def _write(self, qas: list[QA]) -> None:
        """Store, then index: the store stays the source of truth if indexing fails.
        An edited Q/A keeps its place in the order (and in exports)."""
        if not qas:
            return
        revision = self.docs.write((qa.id, qa.to_dict()) for qa in qas)
        self._mirror_own(revision, qas, [])

    def _stamp(self) -> None:
        if self.index.persistent:
            self.index.set_stamp(self.collection, stamp(identity(self.docs), self._rev))

    def _example(self, qa: QA) -> Example:
        from workbench.engines.retrieval.retriever import Example

        return Example(qa.id, qa.question, qa.id, fields=self._document(qa).fields)

    @staticmethod
    def _document(qa: QA) -> Document:
        return Document(
            id=qa.id,
            text=qa.question,
            group=qa.state or None,
            fields={
                "verified": qa.verified,
                "doctype": qa.doctype,
                "topics": qa.topic_list,
                "state": qa.state,
                "status": qa.status,
                "conversation": qa.conversation,
            },
        )

    def documents(self) -> list[Document]:
        """Every index document of the knowledge base (what its index collection mirrors)."""
        return [self._document(qa) for qa in self._rows()]

    def reindex(self) -> int:
        """Rebuild the index collection from the store; returns the number of Q/As."""
        rev = self.docs.revision()
        qas = self._rows()
        owner = identity(self.docs) if self.index.persistent else ""
        documents = (self._document(qa) for qa in qas)
        self.index.rebuild(self.collection, documents, stamp=stamp(owner, rev) if owner else None)
        self._rev = rev
        if self.retriever is not None:
            self.retriever.reset((self._example(qa) for qa in qas), version=f"rev:{rev}")
        return len(qas)

    def catch_up(self) -> bool:
        """Apply to the index what was written to the store since it last caught up, by this
        process or another one (another `serve` worker or instance, `workbench` on the command
        line): an edit anywhere reaches every conversation at its next search. True if anything changed."""
        rev = self.docs.revision()
        if rev == self._rev:
            return False
        changes = self.docs.changes(self._rev)
        self._mirror([self._qa(doc) for _, doc in changes.upserted], changes.deleted, changes.revision)
        return True

    def _mirror_own(self, revision: int, upserted: list[QA], deleted: list[str]) -> None:
        """Mirror this process's own write at ``revision``: from what it wrote when nothing else
        was written since the last catch-up (no second read of the rows), else by catching up."""
        if revision == self._rev + 1:
            self._mirror(upserted, deleted, revision)
        else:
            self.catch_up()

    def _mirror(self, upserted: list[QA], deleted: list[str], revision: int) -> None:
        """Apply upserted and deleted Q/As to the index and the retriever, now at ``revision``."""
        if deleted:
            self.index.delete(self.collection, deleted)
        if upserted:
            self.index.upsert(self.collection, (self._document(qa) for qa in upserted))
        if self.retriever is not None:
            self.retriever.update((self._example(qa) for qa in upserted), deletes=deleted, version=f"rev:{revision}")
        self._rev = revision
        self._stamp()

    # -- reading ------------------------------------------------------------------
    def __len__(self) -> int:
        return self.docs.count()

    def get(self, qa_id: str) -> QA | None:
        rows = self._rows([qa_id])
        return rows[0] if rows else None

    def get_many(self, ids: Iterable[str]) -> list[QA]:
        """The Q/As with these ids, in the order asked; unknown ids are left out."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if not wanted:
            return []
        found = {qa.id: qa for qa in self._rows(wanted)}
        return [found[i] for i in wanted if i in found]

    def all(self) -> list[QA]:
        """Every Q/A, in the order they were first added."""
        return self._rows()

    # -- writing ------------------------------------------------------------------
    def _validated(self, data: QA | Mapping[str, Any]) -> QA:
        raw = data.to_dict() if isinstance(data, QA) else data
        qa, faults = parse_qa(raw)
        if qa is None:
            raise KnowledgeBaseError([replace(f, file=f"knowledge base {self.name!r}") for f in faults])
        return qa

    def add(self, data: QA | Mapping[str, Any]) -> QA:
        """Insert a Q/A, or replace the one with the same id; without an id one is
        derived from the question and answer. Raises KnowledgeBaseError on bad fields."""
        qa = self._validated(data)
        self._write([qa])
        return qa

    def add_many(self, items: Iterable[QA | Mapping[str, Any]]) -> list[QA]:
        """Insert or replace many Q/As in one transaction and one index update."""
        qas = [self._validated(item) for item in items]
        self._write(qas)
        return qas

    def update(self, qa_id: str, changes: Mapping[str, Any]) -> QA:
        """Change some fields of an existing Q/A (KeyError when there is none)."""
        current = self.get(qa_id)
        if current is None:
            raise KeyError(f"no Q/A with id {qa_id!r} in knowledge base {self.name!r}")
        if "id" in changes and str(changes["id"]) != qa_id:
            raise KnowledgeBaseError(
                [Problem(f"knowledge base {self.name!r}", None, "id", "cannot be changed by an update")]
            )
        qa = self._validated({**current.to_dict(), **changes})
        self._write([qa])
        return qa

    def delete(self, qa_id: str) -> bool:
        """Remove a Q/A; False when there was none."""
        if not self.docs.read([qa_id]):
            return False
        revision = self.docs.write(deletes=[qa_id])
        self._mirror_own(revision, [], [qa_id])
        return True

    def clear(self) -> int:
        """Remove every Q/A of this knowledge base; returns how many there were."""
        removed = self.docs.count()
        self.docs.write(replace=True)
        self.catch_up()
        return removed

    # -- retrieval ----------------------------------------------------------------
    def search(self, question: str, k: int = 10, filters: Mapping[str, Any] | None = None) -> list[KBHit]:
        """Q/As ranked by how well their question matches, scores 0..1.

        ``filters``: ``verified`` (bool), ``doctype`` (one or a list; hidden Q/As
        are left out unless asked for), ``topics`` (one or more, any matches),
        ``state``, ``status``, ``conversation``. A ``None`` value is ignored.
        """
        index_filters: dict[str, Any] = {}
        for key, value in (filters or {}).items():
            if key not in FILTERS:
                raise ValueError(f"unknown knowledge-base filter {key!r} (known: {', '.join(FILTERS)})")
            if value is None:
                continue
            if key == "verified":
                value = _boolean(value)
            elif key == "doctype":
                value = [_doctype(v) for v in (value if isinstance(value, (list, tuple, set)) else [value])]
            elif key == "topics":
                value = QA(question="", topics=_topics(value)).topic_list
            elif key == "status":
                value = _integer(value, 0)
            index_filters[key] = value
        index_filters.setdefault("doctype", list(RETRIEVABLE))
        self.catch_up()
        matches = (
            self.retriever.rank(question, k, filters=index_filters, bm25_filters=index_filters)
            if self.retriever is not None
            else None
        )
        if matches is not None:
            found = {qa.id: qa for qa in self.get_many(m.group for m in matches)}
            return [KBHit(found[m.group], m.score, m.cosine, m.bm25) for m in matches if m.group in found]
        hits = self.index.search(self.collection, question, k=k, filters=index_filters)
        by_id = {qa.id: qa for qa in self.get_many(h.id for h in hits)}
        # a hit the store no longer has (an index out of step) is dropped, not invented
        return [KBHit(by_id[h.id], h.score) for h in hits if h.id in by_id]

    def threshold(self) -> Threshold:
        """The score an answer needs when the caller does not give one, and where it came from."""
        if self.retriever is not None:
            return self.retriever.threshold()
        from workbench.engines.retrieval.calibration import Threshold

        return Threshold(DEFAULT_THRESHOLD, "default", "the bm25 default")

    def status(self) -> dict[str, Any]:
        """For the trace: which mode answered, and why when it is not the one configured."""
        return self.retriever.status() if self.retriever is not None else {"mode": "bm25"}

    def browse(
        self, text: str = "", *, verified: bool | None = None, doctype: str | None = None, limit: int = 200
    ) -> list[KBHit]:
        """Q/As as a browser lists them; ``verified`` and ``doctype`` filter (None: any, hidden too).

        With ``text``: the best ``limit`` by search, scores 0..1. Without: every Q/A
        in the order they were added, score 0.
        """
        if text.strip():
            filters = {"verified": verified, "doctype": doctype if doctype else list(DOCTYPES)}
            return self.search(text, k=limit, filters=filters)
        wanted = _doctype(doctype) if doctype else None
        keep = _boolean(verified) if verified is not None else None
        return [
            KBHit(qa, 0.0)
            for qa in self._rows()
            if (keep is None or qa.verified == keep) and (wanted is None or qa.doctype == wanted)
        ]

    def answer(self, question: str, threshold: float | None = None) -> KBHit | None:
        """The best *verified* Q/A whose score reaches ``threshold`` (and is above 0), else None.

        ``threshold`` None: :meth:`threshold`. A ``decisiontable`` hit carries no answer: the
        caller moves to ``hit.qa.state``.
        """
        if threshold is None:
            threshold = self.threshold().value
        hits = self.search(question, k=1, filters={"verified": True})
        if hits and hits[0].score > 0 and hits[0].score >= threshold:
            return hits[0]
        return None

    # -- import / export ------------------------------------------------------------
    def import_csv(self, source: str | Path | TextIO, *, strict: bool = True) -> ImportReport:
        """Load Q/As from a CSV file with a header row (starchat's column names).

        Every defect is reported with its row (the header is row 1, as in a
        spreadsheet) and column. ``strict``: any defect aborts the import and
        nothing is written; otherwise the valid rows are written and the defects
        returned in the report. A missing ``question`` column always aborts.
        """
        with _opened(source, "r") as (stream, name):
            problems: list[Problem] = []
            records = _csv_records(stream, name, problems)
            return self._import(records, problems, name, strict, by_row=True)

    def import_jsonl(self, source: str | Path | TextIO, *, strict: bool = True) -> ImportReport:
        """Load Q/As from JSON Lines (one object per line, starchat's field names).

        Defects name their line and field; ``strict`` as for :meth:`import_csv`.
        """
        with _opened(source, "r") as (stream, name):
            problems: list[Problem] = []
            records = _jsonl_records(stream, name, problems)
            return self._import(records, problems, name, strict, by_row=False)

    def _import(
        self,
        records: Sequence[tuple[int, Mapping[str, Any]]],
        problems: list[Problem],
        name: str,
        strict: bool,
        by_row: bool,
    ) -> ImportReport:
        """Check every record (at its CSV ``row``, or its line); write the valid ones unless ``strict``
        and something is wrong."""

        def at(number: int, fault: Problem) -> Problem:
            return replace(fault, file=name, row=number) if by_row else replace(fault, file=name, line=number)

        unit = "row" if by_row else "line"
        qas: list[QA] = []
        first_seen: dict[str, int] = {}
        for number, raw in records:
            qa, faults = parse_qa(raw)
            problems.extend(at(number, f) for f in faults)
            if qa is None:
                continue
            if qa.id in first_seen:
                if str(raw.get("id") or "").strip():
                    problems.append(
                        at(number, _fault("id", f"{qa.id!r} is already used at {unit} {first_seen[qa.id]}"))
                    )
                continue  # without an id, a repeated question and answer is the same Q/A
            first_seen[qa.id] = number
            qas.append(qa)
        problems.sort(key=lambda p: p.row or p.line or 0)  # file order, whichever check found them
        if problems and strict:
            raise KnowledgeBaseError(problems)
        self._write(qas)
        return ImportReport(added=len(qas), problems=problems)

    def export_csv(self, dest: str | Path | TextIO, raw: bool = False) -> int:
        """Write every Q/A as CSV with starchat's columns; returns how many. Cells a
        spreadsheet would run as formulas get a leading ``'`` unless ``raw``."""
        qas = self.all()
        with _opened(dest, "w") as (stream, _):
            writer = csv.writer(stream)
            writer.writerow(COLUMNS)
            for qa in qas:
                row = qa.to_dict()
                row["verified"] = "true" if qa.verified else "false"
                if row["index_in_conversation"] is None:
                    row["index_in_conversation"] = ""
                writer.writerow(spreadsheet.row(row.values(), raw=raw))
        return len(qas)

    def export_jsonl(self, dest: str | Path | TextIO) -> int:
        """Write every Q/A as one JSON object per line; returns how many."""
        qas = self.all()
        with _opened(dest, "w") as (stream, _):
            for qa in qas:
                stream.write(json.dumps(qa.to_dict(), ensure_ascii=False) + "\n")
        return len(qas)

    # -- from live conversations ------------------------------------------------------
    def add_exchanges(self, conversation_id: str, store: Any = None, *, verified: bool = False) -> list[QA]:
        """Add a conversation's human -> bot exchanges as Q/As (unverified by default); see
        :meth:`exchanges` for how they are made."""
        qas = [e.qa for e in self.exchanges(conversation_id, store, verified=verified)]
        self._write(qas)
        return qas

    def exchanges(self, conversation_id: str, store: Any = None, *, verified: bool = False) -> list[Exchange]:
        """A conversation's human -> bot exchanges as Q/As not yet added, each with the stored
        messages it was made from (so a caller can leave some out before :meth:`add_many`).

        Consecutive human messages form one question (people split a question
        over several messages); the bot messages that follow, up to the next
        human one, form its answer. World and system messages are skipped. Each
        Q/A's id is ``<conversation>-<seq>`` of its first human message, so adding
        the same conversation again updates rather than duplicates. The bot's
        state, when its trace names one, becomes the Q/A's ``state``.
        ``store`` defaults to this knowledge base's store.
        """
        source = store if store is not None else self.store
        if source.conversation(conversation_id) is None:
            raise KeyError(f"no conversation {conversation_id!r} in the store")
        out: list[Exchange] = []
        question: list[str] = []
        answer: list[str] = []
        messages: list[dict[str, Any]] = []
        first_seq: int | None = None
        state = ""

        def flush() -> None:
            if question and answer and first_seq is not None:
                qa = QA(
                    id=f"{conversation_id}-{first_seq}",
                    conversation=conversation_id,
                    index_in_conversation=first_seq,
                    question=" ".join(question),
                    answer="\n".join(answer),
                    verified=verified,
                    state=state,
                )
                out.append(Exchange(qa, list(messages)))

        for message in source.messages(conversation_id):
            text = (message.get("text") or "").strip()
            role = message.get("role")
            if role == "human":
                if answer:  # a new question starts: the previous exchange is complete
                    flush()
                    question, answer, messages, first_seq, state = [], [], [], None, ""
                if text:
                    question.append(text)
                    messages.append(message)
                    first_seq = message["seq"] if first_seq is None else first_seq
            elif role == "bot" and question:
                if text:
                    answer.append(text)
                    messages.append(message)
                trace = message.get("trace")
                if isinstance(trace, dict) and isinstance(trace.get("state"), str):
                    state = trace["state"]
        flush()
        return out
