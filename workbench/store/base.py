"""The Store interface: what the runtime, engines and services may ask of persistence.

A backend (SQLite by default, PostgreSQL to scale out) implements every method here;
nothing outside ``workbench/store/`` sees a connection, a cursor or a lock. The
contract that matters most: when :meth:`Store.commit_many` returns, every message,
engine state and conversation change of its commits is durable (*acknowledged means
committed*), and a failed call has written none of them.

Several processes may serve one store (``workbench serve --workers N``, or instances on
several machines sharing PostgreSQL). A process that takes a conversation over
(:meth:`Store.claim_conversation`) gets a new *epoch* for it; writes fenced with an older
epoch are refused with :class:`ConversationMoved`, so a process that lost a conversation
can never write a turn after the one that took it over.

Adding a method: declare it here, implement it in both backends (sqlite*.py and
postgres*.py, with a numbered migration in each schema module when it needs a table),
add a test to tests/unit/store/test_store_contract*.py (it runs on both), and name any
new table in :data:`workbench.store.copy.TABLES` so `workbench store copy` moves it.
"""

from __future__ import annotations

import json
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

    def row(self, conversation_id: str, seq: int, created: float) -> tuple[Any, ...]:
        """The message table's columns for this record, in both stores' order: conversation,
        seq, world, world instance, agent, role, created, text, the act as JSON, the trace as JSON."""
        return (
            conversation_id,
            seq,
            self.world,
            self.world_instance,
            self.agent if self.agent is not None else self.message.get("id"),
            self.role,
            created,
            self.message.get("text"),
            self.message.to_json(),
            json.dumps(self.trace, default=str) if self.trace is not None else None,
        )


@dataclass
class Commit:
    """Everything one transaction writes."""

    records: dict[str, list[Record]] = field(default_factory=dict)  # conversation id -> records
    states: list[tuple[str, str, dict]] = field(default_factory=list)  # (conversation, bot, state)
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)  # conversation -> columns
    #: conversation -> the epoch the writer holds it at: the commit is refused
    #: (:class:`ConversationMoved`) when another process has claimed it since
    fences: dict[str, int] = field(default_factory=dict)
    #: where the states come from, kept in their history: ``turn`` (a bot's step), ``hand`` (a
    #: developer set it), ``fork`` (restored from another conversation)
    state_source: str = "turn"


class ConversationMoved(Exception):
    """A write fenced with an epoch the conversation no longer has: another process took it
    over (:meth:`Store.claim_conversation`). Nothing of the write was stored."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} was taken over by another process")
        self.conversation_id = conversation_id


@dataclass
class StateAt:
    """One entry of a bot's state history: the engine state a turn (or a hand edit) produced.

    ``seq`` is the number of the conversation's last message when it was written: the
    turn's own messages are those up to it, so the transcript "as it was then" is every
    message with ``seq`` at most this one."""

    conversation_id: str
    bot: str
    seq: int
    created: float
    state: dict[str, Any]
    #: ``turn``, ``hand`` or ``fork`` (see :attr:`Commit.state_source`)
    source: str = "turn"


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

    @staticmethod
    def field_names(fields: Sequence[str]) -> Sequence[str]:
        """``fields``, checked to be plain names (they are spelt into the stores' SQL)."""
        for name in fields:
            if not name.replace("_", "").isalnum():
                raise ValueError(f"not a field name: {name!r}")
        return fields

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


class AccountExists(ValueError):
    """An account with this id (or this platform id) exists already."""


class LimitReached(Exception):
    """A study's limit stops a new thread; ``reason`` is ``person`` (the person has done
    their threads) or ``topics`` (no topic has room left for this person)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Account:
    """A person of an evaluation: a worker or an admin."""

    id: str
    name: str
    role: str  # worker | admin
    #: an argon2 hash; None for a crowd worker who arrives by a link only
    password_hash: str | None = None
    #: where a crowd worker came from (``prolific``, ``mturk``) and their id there
    ext_src: str | None = None
    ext_id: str | None = None
    created: float = 0.0
    #: the consent given: ``{"version": ..., "checkboxes": {...}, "time": ...}``
    consent: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalThread:
    """One person's conversation with a bot on a topic; its id is the conversation's."""

    id: str
    study: str
    topic: str
    bot: str
    person: str
    #: ``chatting`` -> ``rating`` (the chat reached its end) -> ``done`` (rated)
    status: str
    created: float
    updated: float
    #: crowd assignment ids, the completion code
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rating:
    """One answer: about a whole thread (``seq`` 0) or about the bot message numbered ``seq``."""

    thread: str
    person: str
    question: str
    seq: int
    value: Any
    created: float = 0.0


@dataclass
class NewThread:
    """What :meth:`StudyRepository.start_thread` needs besides the limits."""

    study: str
    person: str
    #: topic ids the thread may be on, in the study's order
    topics: list[str]
    #: bots the thread may be with; the one with the fewest threads on the chosen topic wins
    bots: list[str]
    max_threads_per_topic: int
    max_threads_per_person: int
    #: the conversation row: task name, channel, world and its data
    task: str
    channel: str
    world: str
    data: dict[str, Any] = field(default_factory=dict)


class StudyRepository(ABC):
    """Accounts, threads and ratings of evaluation studies (docs/evaluation.md).

    Limits that must hold when many people arrive at once (threads per topic and per
    person) are checked and written in one transaction by :meth:`start_thread`."""

    # -- accounts --------------------------------------------------------------------
    @abstractmethod
    def create_account(self, account: Account) -> Account:
        """Store a new account; :class:`AccountExists` if its id, or its (ext_src, ext_id), is taken."""

    @abstractmethod
    def account(self, account_id: str) -> Account | None:
        """The account, or None."""

    @abstractmethod
    def account_by_external(self, ext_src: str, ext_id: str) -> Account | None:
        """The crowd worker known on platform ``ext_src`` as ``ext_id``, or None."""

    @abstractmethod
    def accounts(self, role: str | None = None) -> list[Account]:
        """Every account (of ``role``), oldest first."""

    @abstractmethod
    def set_password(self, account_id: str, password_hash: str) -> None:
        """Replace an account's password hash."""

    @abstractmethod
    def set_consent(self, account_id: str, consent: dict[str, Any]) -> None:
        """Record the consent an account gave (with its version and time)."""

    @abstractmethod
    def update_account_data(self, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Merge ``data`` into the account's data; returns the result."""

    # -- threads ---------------------------------------------------------------------
    @abstractmethod
    def start_thread(self, new: NewThread) -> EvalThread:
        """Create a thread and its conversation in one transaction, within the limits: the
        person has fewer than ``max_threads_per_person`` threads in the study, and the topic
        chosen (the first of ``topics``, fewest threads first, that the person has not done)
        has fewer than ``max_threads_per_topic``. Raises :class:`LimitReached` otherwise."""

    @abstractmethod
    def thread(self, thread_id: str) -> EvalThread | None:
        """The thread, or None."""

    @abstractmethod
    def threads(self, study: str, person: str | None = None) -> list[EvalThread]:
        """The study's threads (of ``person``), oldest first."""

    @abstractmethod
    def set_thread_status(self, thread_id: str, status: str, expect: str | None = None) -> bool:
        """Move a thread to ``status``; with ``expect``, only from that status (False when
        it was not)."""

    @abstractmethod
    def update_thread_data(self, thread_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Merge ``data`` into the thread's data; returns the result."""

    # -- ratings ---------------------------------------------------------------------
    @abstractmethod
    def rate_turn(self, rating: Rating) -> None:
        """Store (or replace) a rating of one bot message of a thread in ``chatting`` or ``rating``."""

    @abstractmethod
    def submit_ratings(self, thread_id: str, person: str, answers: dict[str, Any], data: dict[str, Any]) -> bool:
        """Store the ratings of a whole thread, merge ``data`` into the thread's and mark it
        ``done``, in one transaction; False (nothing written) unless the thread is the
        person's and in ``rating``."""

    @abstractmethod
    def ratings(self, study: str, thread_id: str | None = None) -> list[Rating]:
        """The study's ratings (of one thread), by thread then message then question."""


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
    def update_conversation(self, cid: str, fence: int | None = None, **columns: Any) -> bool:
        """Change columns of a conversation (``world``, ``status``, ``data``, ``meta``); with
        ``fence``, only while the conversation is at that epoch. False when nothing changed."""

    @abstractmethod
    def claim_conversation(self, cid: str) -> int | None:
        """Take a conversation over: mark it active and give it a new epoch, returned (None
        when there is no such conversation). Writes fenced with an older epoch fail from now on."""

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

    # -- state history (the debugger's timeline, forks, what-if replay) -------------------
    @abstractmethod
    def state_history(self, cid: str, bot: str | None = None) -> list[StateAt]:
        """Every state written for a conversation (of one ``bot``), oldest first: one entry
        per commit that carried it, written in the same transaction as the turn."""

    @abstractmethod
    def states_at(self, cid: str, seq: int) -> dict[str, dict[str, Any]]:
        """Every bot's engine state as it was when message ``seq`` was the last one: the
        latest history entry of each bot with ``seq`` at most that (bots without one left out)."""

    @abstractmethod
    def prune_state_history(self, before: float | None = None, keep: int | None = None) -> int:
        """Forget history entries written before the time ``before`` (seconds since the epoch)
        and, with ``keep``, all but the latest ``keep`` of each (conversation, bot); the
        current state (:meth:`state`) is never touched. Returns how many entries went."""

    # -- what engines keep -----------------------------------------------------------
    @abstractmethod
    def documents(self, name: str) -> DocumentSet:
        """The document set ``name`` (e.g. ``decision_table:desk``), created empty on first use."""

    @abstractmethod
    def document_sets(self) -> list[str]:
        """The names of every document set that was written, sorted (what-if replay copies them)."""

    @abstractmethod
    def vectors(self, model: str) -> VectorCache:
        """The sentence vectors computed with ``model`` (e.g. ``all-MiniLM-L6-v2``)."""

    # -- evaluation ------------------------------------------------------------------
    @property
    @abstractmethod
    def study(self) -> StudyRepository:
        """Accounts, threads and ratings of evaluation studies."""

    # -- channels ---------------------------------------------------------------------
    @abstractmethod
    def claim_event(self, scope: str, key: str, window: float) -> bool:
        """Record that event ``key`` of ``scope`` (a channel) is being handled: True the
        first time within ``window`` seconds, False for a replay. Survives restarts."""

    # -- moving data between backends (workbench store copy) ------------------------------
    @abstractmethod
    def export_rows(self, table: str, columns: list[str], batch: int = 1000) -> Iterator[list[tuple]]:
        """Every row of one of :data:`workbench.store.copy.TABLES` as stored (JSON as text),
        ``columns`` of it, in batches, in the order the rows were written."""

    @abstractmethod
    def import_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        """Insert rows exported from another store (one transaction per call)."""

    @abstractmethod
    def count_rows(self, table: str) -> int:
        """How many rows ``table`` holds."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
