"""Sentence vectors in PostgreSQL: the table ``vectors`` (model, key, vec), one row per encoded text,
shared by every process of a task (a text one process encoded is never encoded by another)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from workbench.store.base import VectorCache

if TYPE_CHECKING:
    from workbench.store.postgres import PostgresStore

#: keys per SELECT or INSERT
CHUNK = 1000


class PostgresVectorCache(VectorCache):
    def __init__(self, store: PostgresStore, model: str) -> None:
        self.store = store
        self.model = model

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), CHUNK):
            with self.store.transaction() as conn:
                rows = conn.execute(
                    "SELECT key, vec FROM vectors WHERE model = %s AND key = ANY(%s)",
                    (self.model, wanted[start : start + CHUNK]),
                ).fetchall()
            found.update((key, bytes(vec)) for key, vec in rows)
        return found

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        rows = list({key: (self.model, key, bytes(vec)) for key, vec in items}.values())
        if rows:
            with self.store.transaction() as conn, conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO vectors (model, key, vec) VALUES (%s, %s, %s)"
                    " ON CONFLICT (model, key) DO UPDATE SET vec = excluded.vec",
                    rows,
                )
        return len(rows)

    def count(self) -> int:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT count(*) FROM vectors WHERE model = %s", (self.model,)).fetchone()
        return int(row[0])
