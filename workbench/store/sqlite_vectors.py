"""Sentence vectors in SQLite: the table ``vectors`` (model, key, vec), one row per encoded text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from workbench.store.base import VectorCache

if TYPE_CHECKING:
    from workbench.store.sqlite import SqliteStore

#: keys per SELECT (SQLite's limit on bound parameters is 999 in older builds)
CHUNK = 500


class SqliteVectorCache(VectorCache):
    def __init__(self, store: SqliteStore, model: str) -> None:
        self.store = store
        self.model = model

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, bytes] = {}
        with self.store._lock:
            conn = self.store.conn
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                rows = conn.execute(
                    f"SELECT key, vec FROM vectors WHERE model = ? AND key IN ({', '.join('?' * len(chunk))})",
                    [self.model, *chunk],
                ).fetchall()
                found.update((key, bytes(vec)) for key, vec in rows)
        return found

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        rows = [(self.model, key, bytes(vec)) for key, vec in items]
        if rows:
            with self.store.transaction() as conn:
                conn.executemany("INSERT OR REPLACE INTO vectors (model, key, vec) VALUES (?, ?, ?)", rows)
        return len(rows)

    def count(self) -> int:
        with self.store._lock:
            row = self.store.conn.execute("SELECT count(*) FROM vectors WHERE model = ?", (self.model,)).fetchone()
        return int(row[0])
