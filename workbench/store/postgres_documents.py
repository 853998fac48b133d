"""Document sets in PostgreSQL: tables ``doc_sets``, ``documents`` and ``doc_deleted``.

A write locks its set's ``doc_sets`` row first (``SELECT ... FOR UPDATE``), so writes to one
set from any number of processes are serialised and every revision is written once; readers
take no lock and see the last committed revision.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from workbench.store.base import Changes, DocumentSet, Source

if TYPE_CHECKING:
    from workbench.store.postgres import PostgresStore

#: documents per query of :meth:`PostgresDocumentSet.read_fields`
READ_BATCH = 4000


def _decode(rows: Iterable[tuple[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    return [(doc_id, json.loads(doc)) for doc_id, doc in rows]


class PostgresDocumentSet(DocumentSet):
    def __init__(self, store: PostgresStore, name: str) -> None:
        self.store = store
        self.name = name
        with store.transaction() as conn:
            conn.execute("INSERT INTO doc_sets (name, rev) VALUES (%s, 0) ON CONFLICT DO NOTHING", (name,))

    def revision(self) -> int:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT rev FROM doc_sets WHERE name = %s", (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def write(
        self, upserts: Iterable[tuple[str, dict[str, Any]]] = (), deletes: Iterable[str] = (), replace: bool = False
    ) -> int:
        now = time.time()
        name = self.name
        with self.store.transaction() as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO doc_sets (name, rev) VALUES (%s, 0) ON CONFLICT DO NOTHING", (name,))
            row = cur.execute("SELECT rev FROM doc_sets WHERE name = %s FOR UPDATE", (name,)).fetchone()
            rev = int(row[0]) + 1
            if replace:
                cur.execute(
                    "INSERT INTO doc_deleted (set_name, id, rev) SELECT set_name, id, %s FROM documents"
                    " WHERE set_name = %s ON CONFLICT (set_name, id) DO UPDATE SET rev = excluded.rev",
                    (rev, name),
                )
                cur.execute("DELETE FROM documents WHERE set_name = %s", (name,))
            pos = int(
                cur.execute("SELECT coalesce(max(position), 0) FROM documents WHERE set_name = %s", (name,)).fetchone()[
                    0
                ]
            )
            rows: dict[str, tuple] = {}
            for doc_id, doc in upserts:
                pos += 1
                # the last of a repeated id wins, in the place of its first (as SQLite's upsert does)
                first = rows.get(doc_id)
                rows[doc_id] = (name, doc_id, json.dumps(doc, ensure_ascii=False), rev, first[4] if first else pos, now)
            if rows:
                cur.executemany(
                    "INSERT INTO documents (set_name, id, doc, rev, position, updated) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (set_name, id) DO UPDATE SET doc = excluded.doc, rev = excluded.rev,"
                    " updated = excluded.updated",
                    list(rows.values()),
                )
                cur.execute("DELETE FROM doc_deleted WHERE set_name = %s AND id = ANY(%s)", (name, list(rows)))
            gone = list(dict.fromkeys(deletes))
            if gone:
                cur.execute("DELETE FROM documents WHERE set_name = %s AND id = ANY(%s)", (name, gone))
                cur.executemany(
                    "INSERT INTO doc_deleted (set_name, id, rev) VALUES (%s, %s, %s)"
                    " ON CONFLICT (set_name, id) DO UPDATE SET rev = excluded.rev",
                    [(name, doc_id, rev) for doc_id in gone],
                )
            cur.execute("UPDATE doc_sets SET rev = %s WHERE name = %s", (rev, name))
        return rev

    def read(self, ids: Iterable[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        with self.store.transaction() as conn:
            if ids is None:
                rows = conn.execute(
                    "SELECT id, doc FROM documents WHERE set_name = %s ORDER BY position", (self.name,)
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT id, doc FROM documents WHERE set_name = %s AND id = ANY(%s) ORDER BY position",
                    (self.name, list(dict.fromkeys(ids))),
                ).fetchall()
        return _decode(rows)

    def read_fields(self, fields: Sequence[str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        fields = self.field_names(fields)
        # a few fields as JSON (the documents stay in the server), a few thousand rows per query
        values = ", ".join(f"(doc::jsonb) -> '{f}'" for f in fields)
        sql = (
            f"SELECT position, id, json_build_array({values})::text FROM documents"
            " WHERE set_name = %s AND position > %s ORDER BY position LIMIT %s"
        )
        after = -1
        while True:
            with self.store.transaction() as conn:
                rows = conn.execute(sql, (self.name, after, READ_BATCH)).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            for _, doc_id, values_json in rows:
                yield doc_id, tuple(json.loads(values_json))

    def derived(self, name: str) -> tuple[int, bytes] | None:
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT rev, blob FROM doc_derived WHERE set_name = %s AND name = %s", (self.name, name)
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def set_derived(self, name: str, revision: int, blob: bytes) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO doc_derived (set_name, name, rev, blob) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (set_name, name) DO UPDATE SET rev = excluded.rev, blob = excluded.blob",
                (self.name, name, revision, blob),
            )

    def changes(self, since: int) -> Changes:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT rev FROM doc_sets WHERE name = %s", (self.name,)).fetchone()
            rev = int(row[0]) if row else 0
            if since < 0:
                rows = conn.execute(
                    "SELECT id, doc FROM documents WHERE set_name = %s ORDER BY position", (self.name,)
                ).fetchall()
                return Changes(rev, _decode(rows), [])
            rows = conn.execute(
                "SELECT id, doc FROM documents WHERE set_name = %s AND rev > %s AND rev <= %s ORDER BY position",
                (self.name, since, rev),
            ).fetchall()
            gone = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM doc_deleted WHERE set_name = %s AND rev > %s AND rev <= %s",
                    (self.name, since, rev),
                ).fetchall()
            ]
        return Changes(rev, _decode(rows), gone)

    def ids(self) -> list[str]:
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT id FROM documents WHERE set_name = %s ORDER BY position", (self.name,)
            ).fetchall()
        return [r[0] for r in rows]

    def count(self) -> int:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT count(*) FROM documents WHERE set_name = %s", (self.name,)).fetchone()
        return int(row[0])

    def source(self) -> Source:
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT source, source_hash, imported FROM doc_sets WHERE name = %s", (self.name,)
            ).fetchone()
        return Source(*row) if row else Source(None, None, None)

    def set_source(self, path: str, digest: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE doc_sets SET source = %s, source_hash = %s, imported = %s WHERE name = %s",
                (path, digest, time.time(), self.name),
            )
