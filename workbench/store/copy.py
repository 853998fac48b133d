"""`workbench store copy`: a task's data from one store to another (SQLite <-> PostgreSQL).

Rows move table by table, in batches, as the source stored them (ids, sequence numbers,
timestamps, revisions and JSON text unchanged), so the copy is the same task at the same
point: conversations resume, document sets keep their revisions, replays stay recognised.
The destination must be empty; each batch is one transaction there.
"""

from __future__ import annotations

from collections.abc import Callable

from workbench.store.base import Store

#: every table a store holds, parents before children, with the columns both backends share
TABLES: dict[str, list[str]] = {
    "conversations": [
        "id",
        "task",
        "person",
        "channel",
        "created",
        "updated",
        "status",
        "world",
        "data",
        "meta",
        "epoch",
    ],
    "messages": [
        "conversation_id",
        "seq",
        "world",
        "world_instance",
        "agent",
        "role",
        "created",
        "text",
        "act",
        "trace",
    ],
    "engine_state": ["conversation_id", "bot", "state", "updated"],
    "state_history": ["conversation_id", "bot", "seq", "created", "source", "state"],
    "doc_sets": ["name", "rev", "source", "source_hash", "imported"],
    "documents": ["set_name", "id", "doc", "rev", "position", "updated"],
    "doc_deleted": ["set_name", "id", "rev"],
    "seen_events": ["scope", "key", "seen"],
    "eval_accounts": ["id", "name", "role", "password_hash", "ext_src", "ext_id", "created", "consent", "data"],
    "eval_threads": ["id", "study", "topic", "bot", "person", "status", "created", "updated", "data"],
    "eval_ratings": ["thread", "person", "question", "seq", "value", "created"],
    # sentence vectors are costly to compute again; what readers derived from document sets
    # (doc_derived: compiled tables, calibrations) is rebuilt by the first process that starts
    "vectors": ["model", "key", "vec"],
}

#: (table, rows copied so far, rows in the table)
Progress = Callable[[str, int, int], None]


class NotEmpty(ValueError):
    """The destination already holds data (a copy never merges two tasks' data)."""


def totals(store: Store) -> dict[str, int]:
    """How many rows each table of ``store`` holds."""
    return {table: store.count_rows(table) for table in TABLES}


def copy_store(source: Store, target: Store, progress: Progress | None = None, batch: int = 1000) -> dict[str, int]:
    """Copy every row of ``source`` into the empty ``target``; returns rows per table."""
    busy = {table: n for table, n in totals(target).items() if n}
    if busy:
        held = ", ".join(f"{n} {table}" for table, n in busy.items())
        raise NotEmpty(f"{target.path} is not empty ({held}); copy into an empty store")
    counts = totals(source)
    done: dict[str, int] = {}
    for table, columns in TABLES.items():
        moved = 0
        if progress is not None:
            progress(table, 0, counts[table])
        for rows in source.export_rows(table, columns, batch):
            target.import_rows(table, columns, rows)
            moved += len(rows)
            if progress is not None:
                progress(table, moved, counts[table])
        done[table] = moved
    return done
