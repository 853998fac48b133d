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
from workbench.store.base import Commit, ConversationMoved, StateAt, Store
from workbench.store.private import private_file
from workbench.store.sqlite_documents import SqliteDocumentSet
from workbench.store.sqlite_study import SqliteStudy
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
        #: SQLite's count of commits by other connections when ``_seq`` was last known good
        self._data_version: int | None = None
        self._documents: dict[str, SqliteDocumentSet] = {}
        self._study = SqliteStudy(self)
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
        where: list[str] = []
        args: list[str | int] = []
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

    def update_conversation(self, cid: str, fence: int | None = None, **columns: Any) -> bool:
        with self.transaction():
            return self._update(cid, columns, fence)

    def _update(self, cid: str, columns: dict[str, Any], fence: int | None = None) -> bool:
        cols = dict(columns)
        for key in ("data", "meta"):
            if key in cols and not isinstance(cols[key], str):
                cols[key] = json.dumps(cols[key], default=str)
        cols["updated"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in cols)
        sql, args = f"UPDATE conversations SET {sets} WHERE id = ?", [*cols.values(), cid]
        if fence is not None:
            sql += " AND epoch = ?"
            args.append(fence)
        return self.conn.execute(sql, args).rowcount == 1

    def claim_conversation(self, cid: str) -> int | None:
        with self.transaction():
            row = self.conn.execute(
                "UPDATE conversations SET epoch = epoch + 1, status = 'active', updated = ? WHERE id = ? RETURNING epoch",
                (time.time(), cid),
            ).fetchone()
            # another process may have written since this one cached the conversation's last number
            self._seq.pop(cid, None)
        return int(row[0]) if row else None

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
                # another process (a `serve` worker) committed since this one last looked: the
                # message numbers it remembers may be behind, so they are read again
                version = self.conn.execute("PRAGMA data_version").fetchone()[0]
                if version != self._data_version:
                    self._seq.clear()
                    self._data_version = version
                self._write_commits(commits, now, seqs)
            # only a committed transaction moves the counters (a failed one used none)
            self._seq.update(seqs)
            while len(self._seq) > SEQ_CACHE:
                del self._seq[next(iter(self._seq))]  # the oldest; it is read again when needed

    def _write_commits(self, commits: list[Commit], now: float, seqs: dict[str, int]) -> None:
        rows = []
        states = []
        history = []
        touched: dict[str, dict[str, Any]] = {}
        for commit in commits:
            for cid, epoch in commit.fences.items():
                row = self.conn.execute("SELECT epoch FROM conversations WHERE id = ?", (cid,)).fetchone()
                if row is None or row[0] != epoch:
                    raise ConversationMoved(cid)
            for cid, records in commit.records.items():
                for rec in records:
                    seqs[cid] = (seqs[cid] if cid in seqs else self._last_seq(cid)) + 1
                    rows.append(rec.row(cid, seqs[cid], now))
            for cid, bot, state in commit.states:
                encoded = json.dumps(state, default=str)
                states.append((cid, bot, encoded, now))
                # the turn's messages are written above: the state belongs after its last one
                seq = seqs[cid] if cid in seqs else self._last_seq(cid)
                history.append((cid, bot, seq, now, commit.state_source, encoded))
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
            self.conn.executemany(
                "INSERT INTO state_history (conversation_id, bot, seq, created, source, state)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                history,
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

    # -- state history ------------------------------------------------------------------
    def state_history(self, cid: str, bot: str | None = None) -> list[StateAt]:
        sql = "SELECT conversation_id, bot, seq, created, source, state FROM state_history WHERE conversation_id = ?"
        args: list[str] = [cid]
        if bot is not None:
            sql += " AND bot = ?"
            args.append(bot)
        with self._lock:
            rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [StateAt(c, b, seq, created, json.loads(state), source) for c, b, seq, created, source, state in rows]

    def states_at(self, cid: str, seq: int) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT h.bot, h.state FROM state_history h WHERE h.id = (SELECT max(i.id) FROM state_history i"
                " WHERE i.conversation_id = h.conversation_id AND i.bot = h.bot AND i.seq <= ?)"
                " AND h.conversation_id = ? ORDER BY h.bot",
                (seq, cid),
            ).fetchall()
        return {bot: json.loads(state) for bot, state in rows}

    def prune_state_history(self, before: float | None = None, keep: int | None = None) -> int:
        gone = 0
        with self.transaction():
            if before is not None:
                gone += self.conn.execute("DELETE FROM state_history WHERE created < ?", (before,)).rowcount
            if keep is not None:
                gone += self.conn.execute(
                    "DELETE FROM state_history WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER"
                    " (PARTITION BY conversation_id, bot ORDER BY id DESC) AS n FROM state_history) WHERE n > ?)",
                    (max(0, keep),),
                ).rowcount
        return gone

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

    def document_sets(self) -> list[str]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT name FROM doc_sets WHERE rev > 0 OR source IS NOT NULL ORDER BY name"
            ).fetchall()
        return [r[0] for r in rows]

    def vectors(self, model: str) -> SqliteVectorCache:
        return SqliteVectorCache(self, model)

    # -- evaluation ----------------------------------------------------------------------
    @property
    def study(self) -> SqliteStudy:
        return self._study

    # -- channels ----------------------------------------------------------------------
    def claim_event(self, scope: str, key: str, window: float) -> bool:
        now = time.time()
        with self.transaction():
            self.conn.execute("DELETE FROM seen_events WHERE scope = ? AND seen < ?", (scope, now - window))
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO seen_events (scope, key, seen) VALUES (?, ?, ?)", (scope, key, now)
            )
            return cur.rowcount == 1

    # -- moving data between backends -----------------------------------------------------
    def export_rows(self, table: str, columns: list[str], batch: int = 1000) -> Iterator[list[tuple]]:
        _known(table)
        if table == "vectors":  # WITHOUT ROWID: pages by its key
            yield from self._export_by_key(table, ("model", "key"), columns, batch)
            return
        last = 0
        while True:
            with self._lock:
                rows = self.conn.execute(
                    f"SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [tuple(r[1:]) for r in rows]

    def _export_by_key(self, table: str, key: tuple[str, ...], columns: list[str], batch: int) -> Iterator[list[tuple]]:
        wanted = ", ".join((*key, *columns))
        order = ", ".join(key)
        after: tuple | None = None
        while True:
            where = f"WHERE ({order}) > ({', '.join('?' * len(key))})" if after is not None else ""
            with self._lock:
                rows = self.conn.execute(
                    f"SELECT {wanted} FROM {table} {where} ORDER BY {order} LIMIT ?", (*(after or ()), batch)
                ).fetchall()
            if not rows:
                return
            after = tuple(rows[-1][: len(key)])
            yield [tuple(r[len(key) :]) for r in rows]

    def import_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        _known(table)
        marks = ", ".join("?" * len(columns))
        with self.transaction():
            self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        if table == "messages":
            self._seq.clear()

    def count_rows(self, table: str) -> int:
        _known(table)
        with self._lock:
            return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def _known(table: str) -> None:
    """Table names are spliced into SQL: only the store's own are accepted."""
    from workbench.store.copy import TABLES

    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
