"""The Store interface: what the runtime, engines and services may ask of persistence.

A backend (SQLite by default, PostgreSQL to scale out) implements every method here;
nothing outside ``workbench/store/`` sees a connection, a cursor or a lock. The
contract that matters most: when :meth:`Store.commit_many` returns, every message,
engine state and conversation change of its commits is durable (*acknowledged means
committed*), and a failed call has written none of them.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.message import Message


def new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Record:
    """One message to store: the act plus where it happened and why (trace)."""

    message: Message
    world: str | None = None
    world_instance: str | None = None
    agent: str | None = None
    role: str = "human"  # human | bot | world | system
    trace: dict[str, Any] | None = None


@dataclass
class Commit:
    """Everything one transaction writes."""

    records: dict[str, list[Record]] = field(default_factory=dict)  # conversation id -> records
    states: list[tuple[str, str, dict]] = field(default_factory=list)  # (conversation, bot, state)
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)  # conversation -> columns


def records(messages: Iterable[Message], **where: Any) -> list[Record]:
    return [Record(m, **where) for m in messages]


@dataclass
class Changes:
    """What changed in a document set after a revision (see :meth:`DocumentSet.changes`)."""

    revision: int
    #: (id, document) written after the revision, in the set's order
    upserted: list[tuple[str, dict[str, Any]]]
    #: ids deleted after the revision
    deleted: list[str]


@dataclass
class Source:
    """The file a document set was last imported from, and the hash of its content."""

    path: str | None
    digest: str | None
    imported: float | None


class DocumentSet(ABC):
    """A named, ordered set of JSON documents with a revision that every write bumps:
    a bot's decision-table states or knowledge-base Q/As. Readers that cache the set
    (a compiled table, an index) catch up with :meth:`changes`, so an edit made by any
    process reaches every conversation at its next turn."""

    name: str

    @abstractmethod
    def revision(self) -> int:
        """The revision of the last write (0 for a set never written)."""

    @abstractmethod
    def write(
        self, upserts: Iterable[tuple[str, dict[str, Any]]] = (), deletes: Iterable[str] = (), replace: bool = False
    ) -> int:
        """Insert or replace documents and delete ids in one transaction (with ``replace``,
        every other document goes); returns the new revision. A replaced document keeps
        its place in the order; a new one goes last."""

    @abstractmethod
    def read(self, ids: Iterable[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(id, document) in the set's order: all of them, or those of ``ids`` that exist."""

    @abstractmethod
    def read_fields(self, fields: Sequence[str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """(id, the values of ``fields``) of every document in the set's order; a field a document
        lacks is None. Reading a few fields of a large set costs a fraction of :meth:`read`, and
        the documents come in batches (a reader never holds them all)."""

    @abstractmethod
    def changes(self, since: int) -> Changes:
        """What was written and deleted after revision ``since`` (everything when ``since`` < 0)."""

    @abstractmethod
    def ids(self) -> list[str]:
        """Every id in the set's order."""

    @abstractmethod
    def count(self) -> int:
        """How many documents the set holds."""

    @abstractmethod
    def source(self) -> Source:
        """Where the set was last imported from."""

    @abstractmethod
    def set_source(self, path: str, digest: str) -> None:
        """Record the file the set was just imported from."""

    @abstractmethod
    def derived(self, name: str) -> tuple[int, bytes] | None:
        """What a reader derived from the set and saved (a compiled table), with the revision it
        was derived at; None when nothing was saved. The reader catches up with
        :meth:`changes` since that revision instead of deriving everything again."""

    @abstractmethod
    def set_derived(self, name: str, revision: int, blob: bytes) -> None:
        """Save (replace) what was derived from the set at ``revision``."""


class VectorCache(ABC):
    """Sentence vectors of one embedding model, keyed by a hash of the text they encode.

    Vectors are ``float32`` bytes (``dim`` of them); the cache never decodes them, so a
    backend stores and returns exactly what it was given. A text is encoded once per
    model for every table, knowledge base and NLU of the store, and again never after
    a restart.
    """

    model: str

    @abstractmethod
    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The stored vectors of ``keys`` (missing keys are left out)."""

    @abstractmethod
    def put_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        """Store (key, vector) pairs in one transaction, replacing equal keys; returns how many."""

    @abstractmethod
    def count(self) -> int:
        """How many vectors the cache holds for this model."""


class Store(ABC):
    """A task's persistence. Implementations are thread-safe: the event loop and world
    threads share one store."""

    #: where the data lives, for people (a file path, or a URL without its password)
    path: Path | str

    # -- conversations ---------------------------------------------------------------
    @abstractmethod
    def new_conversation(
        self,
        task: str,
        person: str,
        channel: str = "local",
        world: str | None = None,
        data: dict | None = None,
        meta: dict | None = None,
        conversation_id: str | None = None,
    ) -> str:
        """Create a conversation and return its id (``conversation_id`` when given)."""

    @abstractmethod
    def conversation(self, cid: str) -> dict[str, Any] | None:
        """One conversation's columns (``data`` and ``meta`` decoded), or None."""

    @abstractmethod
    def conversations(
        self, limit: int = 200, person: str | None = None, task: str | None = None
    ) -> list[dict[str, Any]]:
        """The latest conversations first, each with ``n_messages``."""

    def latest_conversation(self, person: str | None = None) -> dict[str, Any] | None:
        rows = self.conversations(limit=1, person=person)
        return rows[0] if rows else None

    @abstractmethod
    def find_conversation(self, task: str, person: str, channel: str) -> str | None:
        """The id of ``person``'s latest conversation on ``channel`` in ``task``, or None."""

    @abstractmethod
    def update_conversation(self, cid: str, **columns: Any) -> None:
        """Change columns of a conversation (``world``, ``status``, ``data``, ``meta``)."""

    @abstractmethod
    def iter_conversations(self) -> Iterator[dict[str, Any]]:
        """Every conversation with its messages and engine states, oldest first (export)."""

    # -- turns ------------------------------------------------------------------------
    def commit(self, commit: Commit) -> None:
        """Write one turn atomically. When this returns, its messages are acknowledged."""
        self.commit_many([commit])

    @abstractmethod
    def commit_many(self, commits: list[Commit]) -> None:
        """Write several turns in one transaction, all or none (a group commit)."""

    @abstractmethod
    def messages(self, cid: str) -> list[dict[str, Any]]:
        """A conversation's messages in order (``act`` and ``trace`` decoded)."""

    @abstractmethod
    def last_trace(self, cid: str, bot: str) -> dict[str, Any] | None:
        """The trace of ``bot``'s latest turn in a conversation (None before its first)."""

    @abstractmethod
    def state(self, cid: str, bot: str) -> dict[str, Any] | None:
        """``bot``'s engine state in a conversation, or None before its first turn."""

    @abstractmethod
    def states(self, cid: str) -> dict[str, dict[str, Any]]:
        """Every bot's engine state in a conversation."""

    # -- what engines keep -----------------------------------------------------------
    @abstractmethod
    def documents(self, name: str) -> DocumentSet:
        """The document set ``name`` (e.g. ``decision_table:desk``), created empty on first use."""

    @abstractmethod
    def vectors(self, model: str) -> VectorCache:
        """The sentence vectors computed with ``model`` (e.g. ``all-MiniLM-L6-v2``)."""

    # -- channels ---------------------------------------------------------------------
    @abstractmethod
    def claim_event(self, scope: str, key: str, window: float) -> bool:
        """Record that event ``key`` of ``scope`` (a channel) is being handled: True the
        first time within ``window`` seconds, False for a replay. Survives restarts."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
