"""The SQLite store (the default): conversations, every message, engine state per conversation.

A message is *acknowledged* once :meth:`SqliteStore.commit` has returned: the
messages of a turn and the engine's new state go in one transaction, and the
runtime sends nothing before that. WAL mode keeps committed data through a
killed process. The schema is a list of numbered migrations (sqlite_schema.py);
document sets (decision tables, knowledge bases) are in sqlite_documents.py, sentence
vectors in sqlite_vectors.py.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workbench.store import base
from workbench.store.base import Commit, Store
from workbench.store.private import private_file
from workbench.store.sqlite_documents import SqliteDocumentSet
from workbench.store.sqlite_vectors import SqliteVectorCache

#: conversations whose last message number is kept in memory (the rest are read when needed)
SEQ_CACHE = 50_000


class SqliteStore(Store):
    """The task's SQLite file. Thread-safe: one connection guarded by a lock."""

    def __init__(self, path: str | Path) -> None:
        from workbench.store.sqlite_schema import migrate

        self.path = Path(path)
        memory = str(path) == ":memory:"
        if not memory:
            private_file(self.path)
        # one connection shared by the event loop and world threads, guarded by _lock;
        # transactions are explicit (isolation_level=None: no implicit BEGIN)
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._seq: dict[str, int] = {}
        self._documents: dict[str, SqliteDocumentSet] = {}
        if not memory:
            self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a killed process loses nothing committed
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        with self._lock:
            self.schema_version = migrate(self.conn, str(path))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The lock and one write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error);
        a transaction already open on this thread is joined."""
        with self._lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # -- conversations ----------------------------------------------------
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
        cid = conversation_id or base.new_id()
        now = time.time()
        with self.transaction():
            self.conn.execute(
                "INSERT INTO conversations (id, task, person, channel, created, updated, status, world, data, meta)"
                " VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)",
                (cid, task, person, channel, now, now, world, json.dumps(data or {}), json.dumps(meta or {})),
            )
        self._seq[cid] = 0
        return cid

    def conversation(self, cid: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.conn.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
            if row is None:
                return None
            cols = [d[0] for d in self.conn.execute("SELECT * FROM conversations LIMIT 0").description]
        return self._conv_row(dict(zip(cols, row, strict=False)))

    @staticmethod
    def _conv_row(row: dict[str, Any]) -> dict[str, Any]:
        row["data"] = json.loads(row.get("data") or "{}")
        row["meta"] = json.loads(row.get("meta") or "{}")
        return row

    def conversations(
        self, limit: int = 200, person: str | None = None, task: str | None = None
    ) -> list[dict[str, Any]]:
        sql = "SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS n_messages FROM conversations c"
        where, args = [], []
        if person:
            where.append("c.person = ?")
            args.append(person)
        if task:
            where.append("c.task = ?")
            args.append(task)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.updated DESC, c.rowid DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            cur = self.conn.execute(sql, args)
            cols = [d[0] for d in cur.description]
            return [self._conv_row(dict(zip(cols, r, strict=False))) for r in cur.fetchall()]

    def find_conversation(self, task: str, person: str, channel: str) -> str | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT id FROM conversations WHERE person = ? AND channel = ? AND task = ?"
                " ORDER BY created DESC, rowid DESC LIMIT 1",
                (person, channel, task),
            ).fetchone()
        return row[0] if row else None

    def update_conversation(self, cid: str, **columns: Any) -> None:
        with self.transaction():
            self._update(cid, columns)

    def _update(self, cid: str, columns: dict[str, Any]) -> None:
        cols = dict(columns)
        for key in ("data", "meta"):
            if key in cols and not isinstance(cols[key], str):
                cols[key] = json.dumps(cols[key], default=str)
        cols["updated"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.conn.execute(f"UPDATE conversations SET {sets} WHERE id = ?", [*cols.values(), cid])

    # -- messages and state ---------------------------------------------
    def _last_seq(self, cid: str) -> int:
        known = self._seq.get(cid)
        if known is None:
            row = self.conn.execute("SELECT max(seq) FROM messages WHERE conversation_id = ?", (cid,)).fetchone()
            known = row[0] if row and row[0] is not None else 0
        return known

    def commit_many(self, commits: list[Commit]) -> None:
        """Write several turns in one transaction, all or none (a group commit: see
        workbench/runtime/group_commit.py). When this returns, every one is acknowledged."""
        now = time.time()
        with self._lock:
            seqs: dict[str, int] = {}
            with self.transaction():
                self._write_commits(commits, now, seqs)
            # only a committed transaction moves the counters (a failed one used none)
            self._seq.update(seqs)
            while len(self._seq) > SEQ_CACHE:
                del self._seq[next(iter(self._seq))]  # the oldest; it is read again when needed

    def _write_commits(self, commits: list[Commit], now: float, seqs: dict[str, int]) -> None:
        rows = []
        states = []
        touched: dict[str, dict[str, Any]] = {}
        for commit in commits:
            for cid, records in commit.records.items():
                for rec in records:
                    seqs[cid] = (seqs[cid] if cid in seqs else self._last_seq(cid)) + 1
                    rows.append(
                        (
                            cid,
                            seqs[cid],
                            rec.world,
                            rec.world_instance,
                            rec.agent if rec.agent is not None else rec.message.get("id"),
                            rec.role,
                            now,
                            rec.message.get("text"),
                            rec.message.to_json(),
                            json.dumps(rec.trace, default=str) if rec.trace is not None else None,
                        )
                    )
            for cid, bot, state in commit.states:
                states.append((cid, bot, json.dumps(state, default=str), now))
            for cid in (*commit.records, *(c for c, _, _ in commit.states), *commit.locations):
                touched.setdefault(cid, {}).update(commit.locations.get(cid, {}))
        if rows:
            self.conn.executemany(
                "INSERT INTO messages (conversation_id, seq, world, world_instance, agent, role,"
                " created, text, act, trace) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        if states:
            self.conn.executemany(
                "INSERT OR REPLACE INTO engine_state (conversation_id, bot, state, updated) VALUES (?, ?, ?, ?)",
                states,
            )
        for cid, columns in touched.items():
            self._update(cid, columns)

    def messages(self, cid: str) -> list[dict[str, Any]]:
        with self._lock:
            cur = self.conn.execute("SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq", (cid,))
            cols = [d[0] for d in cur.description]
            out = []
            for r in cur.fetchall():
                row = dict(zip(cols, r, strict=False))
                row["act"] = json.loads(row["act"]) if row["act"] else {}
                row["trace"] = json.loads(row["trace"]) if row["trace"] else None
                out.append(row)
            return out

    def last_trace(self, cid: str, bot: str) -> dict[str, Any] | None:
        """The trace of ``bot``'s latest turn in a conversation (None before its first)."""
        with self._lock:
            row = self.conn.execute(
                "SELECT trace FROM messages WHERE conversation_id = ? AND agent = ? AND trace IS NOT NULL"
                " ORDER BY seq DESC LIMIT 1",
                (cid, bot),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def state(self, cid: str, bot: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT state FROM engine_state WHERE conversation_id = ? AND bot = ?", (cid, bot)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def states(self, cid: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self.conn.execute("SELECT bot, state FROM engine_state WHERE conversation_id = ?", (cid,)).fetchall()
        return {bot: json.loads(state) for bot, state in rows}

    def iter_conversations(self) -> Iterator[dict[str, Any]]:
        """Every conversation with its messages and states, oldest first (for export)."""
        with self._lock:
            ids = [r[0] for r in self.conn.execute("SELECT id FROM conversations ORDER BY created, rowid")]
        for cid in ids:
            conv = self.conversation(cid)
            if conv is None:
                continue
            conv["messages"] = self.messages(cid)
            conv["engine_state"] = self.states(cid)
            yield conv

    # -- what engines keep --------------------------------------------------------------
    def documents(self, name: str) -> SqliteDocumentSet:
        with self._lock:
            found = self._documents.get(name)
            if found is None:
                found = self._documents[name] = SqliteDocumentSet(self, name)
            return found

    def vectors(self, model: str) -> SqliteVectorCache:
        return SqliteVectorCache(self, model)

    # -- channels ----------------------------------------------------------------------
    def claim_event(self, scope: str, key: str, window: float) -> bool:
        now = time.time()
        with self.transaction():
            self.conn.execute("DELETE FROM seen_events WHERE scope = ? AND seen < ?", (scope, now - window))
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO seen_events (scope, key, seen) VALUES (?, ?, ?)", (scope, key, now)
            )
            return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self.conn.close()
