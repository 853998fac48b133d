"""Document sets in SQLite: tables ``doc_sets``, ``documents``, ``doc_deleted`` and ``doc_derived``.

Every write takes the store's lock and one transaction, so a set never interleaves
with a turn's commit on the shared connection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from workbench.store.base import Changes, DocumentSet, Source

if TYPE_CHECKING:
    from workbench.store.sqlite import SqliteStore

#: documents per query of :meth:`SqliteDocumentSet.read_fields`
READ_BATCH = 5000


def _decode(rows: Iterable[tuple[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    return [(doc_id, json.loads(doc)) for doc_id, doc in rows]


class SqliteDocumentSet(DocumentSet):
    def __init__(self, store: SqliteStore, name: str) -> None:
        self.store = store
        self.name = name
        with store.transaction():
            store.conn.execute("INSERT OR IGNORE INTO doc_sets (name, rev) VALUES (?, 0)", (name,))

    def revision(self) -> int:
        with self.store._lock:
            row = self.store.conn.execute("SELECT rev FROM doc_sets WHERE name = ?", (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def write(
        self, upserts: Iterable[tuple[str, dict[str, Any]]] = (), deletes: Iterable[str] = (), replace: bool = False
    ) -> int:
        now = time.time()
        name = self.name
        with self.store.transaction():
            conn = self.store.conn
            row = conn.execute("SELECT rev FROM doc_sets WHERE name = ?", (name,)).fetchone()
            rev = (int(row[0]) if row else 0) + 1
            if replace:
                conn.execute(
                    "INSERT OR REPLACE INTO doc_deleted (set_name, id, rev) SELECT set_name, id, ? FROM documents"
                    " WHERE set_name = ?",
                    (rev, name),
                )
                conn.execute("DELETE FROM documents WHERE set_name = ?", (name,))
            pos = int(
                conn.execute("SELECT coalesce(max(position), 0) FROM documents WHERE set_name = ?", (name,)).fetchone()[
                    0
                ]
            )
            rows = []
            for doc_id, doc in upserts:
                pos += 1
                rows.append((name, doc_id, json.dumps(doc, ensure_ascii=False), rev, pos, now))
            conn.executemany(
                "INSERT INTO documents (set_name, id, doc, rev, position, updated) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (set_name, id) DO UPDATE SET doc = excluded.doc, rev = excluded.rev,"
                " updated = excluded.updated",
                rows,
            )
            if rows:
                conn.executemany("DELETE FROM doc_deleted WHERE set_name = ? AND id = ?", [(name, r[1]) for r in rows])
            for doc_id in deletes:
                conn.execute("DELETE FROM documents WHERE set_name = ? AND id = ?", (name, doc_id))
                conn.execute(
                    "INSERT OR REPLACE INTO doc_deleted (set_name, id, rev) VALUES (?, ?, ?)", (name, doc_id, rev)
                )
            conn.execute("INSERT OR IGNORE INTO doc_sets (name, rev) VALUES (?, 0)", (name,))
            conn.execute("UPDATE doc_sets SET rev = ? WHERE name = ?", (rev, name))
        return rev

    def read(self, ids: Iterable[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        with self.store._lock:
            conn = self.store.conn
            if ids is None:
                rows = conn.execute(
                    "SELECT id, doc FROM documents WHERE set_name = ? ORDER BY position", (self.name,)
                ).fetchall()
                return _decode(rows)
            wanted = list(dict.fromkeys(ids))
            found: list[tuple[str, str]] = []
            for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
                chunk = wanted[start : start + 500]
                found += conn.execute(
                    f"SELECT id, doc FROM documents WHERE set_name = ? AND id IN ({', '.join('?' * len(chunk))})"
                    " ORDER BY position",
                    [self.name, *chunk],
                ).fetchall()
        if len(wanted) > 500:
            order = {doc_id: n for n, doc_id in enumerate(self.ids())}
            found.sort(key=lambda r: order.get(r[0], 0))
        return _decode(found)

    def read_fields(self, fields: Sequence[str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        fields = self.field_names(fields)
        # one JSON array per row ([position, id, field...]), a few thousand rows per query and one
        # json.loads per batch: a 100k-document read stays fast, and never holds every row at once
        values = ", ".join(f"json(doc -> '$.{f}')" for f in fields)
        sql = (
            f"SELECT json_array(position, id, {values}) FROM documents WHERE set_name = ? AND position > ?"
            " ORDER BY position LIMIT ?"
        )
        after = -1
        while True:
            with self.store._lock:
                rows = self.store.conn.execute(sql, (self.name, after, READ_BATCH)).fetchall()
            if not rows:
                return
            batch = json.loads("[" + ",".join(r[0] for r in rows) + "]")
            after = batch[-1][0]
            for row in batch:
                yield row[1], tuple(row[2:])

    def changes(self, since: int) -> Changes:
        with self.store._lock:
            conn = self.store.conn
            row = conn.execute("SELECT rev FROM doc_sets WHERE name = ?", (self.name,)).fetchone()
            rev = int(row[0]) if row else 0
            if since < 0:
                rows = conn.execute(
                    "SELECT id, doc FROM documents WHERE set_name = ? ORDER BY position", (self.name,)
                ).fetchall()
                return Changes(rev, _decode(rows), [])
            rows = conn.execute(
                "SELECT id, doc FROM documents WHERE set_name = ? AND rev > ? ORDER BY position", (self.name, since)
            ).fetchall()
            gone = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM doc_deleted WHERE set_name = ? AND rev > ?", (self.name, since)
                ).fetchall()
            ]
        return Changes(rev, _decode(rows), gone)

    def ids(self) -> list[str]:
        with self.store._lock:
            rows = self.store.conn.execute(
                "SELECT id FROM documents WHERE set_name = ? ORDER BY position", (self.name,)
            ).fetchall()
        return [r[0] for r in rows]

    def count(self) -> int:
        with self.store._lock:
            row = self.store.conn.execute("SELECT count(*) FROM documents WHERE set_name = ?", (self.name,)).fetchone()
        return int(row[0])

    def source(self) -> Source:
        with self.store._lock:
            row = self.store.conn.execute(
                "SELECT source, source_hash, imported FROM doc_sets WHERE name = ?", (self.name,)
            ).fetchone()
        return Source(*row) if row else Source(None, None, None)

    def set_source(self, path: str, digest: str) -> None:
        with self.store.transaction():
            self.store.conn.execute(
                "UPDATE doc_sets SET source = ?, source_hash = ?, imported = ? WHERE name = ?",
                (path, digest, time.time(), self.name),
            )

    def derived(self, name: str) -> tuple[int, bytes] | None:
        with self.store._lock:
            row = self.store.conn.execute(
                "SELECT rev, blob FROM doc_derived WHERE set_name = ? AND name = ?", (self.name, name)
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def set_derived(self, name: str, revision: int, blob: bytes) -> None:
        with self.store.transaction():
            self.store.conn.execute(
                "INSERT OR REPLACE INTO doc_derived (set_name, name, rev, blob) VALUES (?, ?, ?, ?)",
                (self.name, name, revision, blob),
            )
