"""The PostgreSQL store's schema as numbered migrations, applied in order on open.

The same tables and columns as SQLite's (sqlite_schema.py), so `workbench store copy` moves
rows between them unchanged, plus what PostgreSQL needs instead of SQLite's rowid: an
identity column ``n`` where rows are listed in the order they were written, and
``conversations.last_seq``, the number of a conversation's last message, updated in the
transaction that writes messages (its row lock keeps one conversation's turns in order
across processes). ``workbench_meta.schema_version`` says which migrations have run.

Each migration runs in its own transaction under an advisory lock, so instances starting
together migrate once; a schema written by a newer workbench is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: advisory lock key held while migrating (any constant shared by every workbench)
MIGRATION_LOCK = 0x5742_0001


def _v1(conn: Any) -> None:
    """The tables of SQLite's migrations 1 to 4: conversations (with their epoch), messages,
    engine state, document sets, the channel-event ledger and evaluation studies."""
    conn.execute(
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY, task TEXT, person TEXT, channel TEXT, created DOUBLE PRECISION,
            updated DOUBLE PRECISION, status TEXT, world TEXT, data TEXT, meta TEXT,
            epoch INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0,
            n BIGINT GENERATED ALWAYS AS IDENTITY);
        CREATE INDEX idx_conversations_updated ON conversations (updated DESC, n DESC);
        CREATE INDEX idx_conversations_person ON conversations (person, channel, task, created DESC, n DESC);
        CREATE TABLE messages (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, conversation_id TEXT REFERENCES conversations(id),
            seq INTEGER, world TEXT, world_instance TEXT, agent TEXT, role TEXT, created DOUBLE PRECISION,
            text TEXT, act TEXT, trace TEXT);
        CREATE UNIQUE INDEX idx_messages_conversation_id_seq ON messages (conversation_id, seq);
        CREATE TABLE engine_state (
            conversation_id TEXT, bot TEXT, state TEXT, updated DOUBLE PRECISION, PRIMARY KEY (conversation_id, bot));
        CREATE TABLE seen_events (scope TEXT, key TEXT, seen DOUBLE PRECISION, PRIMARY KEY (scope, key));
        CREATE INDEX idx_seen_events_scope_seen ON seen_events (scope, seen);
        CREATE TABLE doc_sets (
            name TEXT PRIMARY KEY, rev INTEGER NOT NULL DEFAULT 0, source TEXT, source_hash TEXT,
            imported DOUBLE PRECISION);
        CREATE TABLE documents (
            set_name TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, rev INTEGER NOT NULL,
            position INTEGER NOT NULL, updated DOUBLE PRECISION, PRIMARY KEY (set_name, id));
        CREATE INDEX idx_documents_rev ON documents (set_name, rev);
        CREATE INDEX idx_documents_position ON documents (set_name, position);
        CREATE TABLE doc_deleted (
            set_name TEXT NOT NULL, id TEXT NOT NULL, rev INTEGER NOT NULL, PRIMARY KEY (set_name, id));
        CREATE TABLE eval_accounts (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT,
            ext_src TEXT, ext_id TEXT, created DOUBLE PRECISION NOT NULL, consent TEXT,
            data TEXT NOT NULL DEFAULT '{}', n BIGINT GENERATED ALWAYS AS IDENTITY);
        CREATE UNIQUE INDEX idx_eval_accounts_ext ON eval_accounts (ext_src, ext_id) WHERE ext_src IS NOT NULL;
        CREATE TABLE eval_threads (
            id TEXT PRIMARY KEY REFERENCES conversations(id), study TEXT NOT NULL, topic TEXT NOT NULL,
            bot TEXT NOT NULL, person TEXT NOT NULL REFERENCES eval_accounts(id), status TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL,
            data TEXT NOT NULL DEFAULT '{}', n BIGINT GENERATED ALWAYS AS IDENTITY);
        CREATE INDEX idx_eval_threads_topic ON eval_threads (study, topic, bot);
        CREATE INDEX idx_eval_threads_person ON eval_threads (study, person);
        CREATE TABLE eval_ratings (
            thread TEXT NOT NULL REFERENCES eval_threads(id), person TEXT NOT NULL, question TEXT NOT NULL,
            seq INTEGER NOT NULL, value TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,
            n BIGINT GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (thread, person, question, seq));
        """
    )


def _v2(conn: Any) -> None:
    """State history (SQLite's migration 5): every engine state a commit wrote, with the number
    of the conversation's last message at that moment; ``id`` keeps the order written."""
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS state_history (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, conversation_id TEXT NOT NULL,
            bot TEXT NOT NULL, seq INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL,
            source TEXT NOT NULL DEFAULT 'turn', state TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS idx_state_history_conversation ON state_history (conversation_id, bot, seq);
        """
    )


def _v3(conn: Any) -> None:
    """Sentence vectors per (embedding model, text hash) and what readers derive from a document
    set (a compiled decision table, the set's identity), as SQLite's migration 6."""
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS vectors (
            model TEXT NOT NULL, key TEXT NOT NULL, vec BYTEA NOT NULL, PRIMARY KEY (model, key));
        CREATE TABLE IF NOT EXISTS doc_derived (
            set_name TEXT NOT NULL, name TEXT NOT NULL, rev INTEGER NOT NULL, blob BYTEA NOT NULL,
            PRIMARY KEY (set_name, name));
        """
    )


#: (version, migration): version N's migration brings a schema from N-1 to N
MIGRATIONS: list[tuple[int, Callable[[Any], None]]] = [(1, _v1), (2, _v2), (3, _v3)]
LATEST = MIGRATIONS[-1][0]


class SchemaTooNew(RuntimeError):
    """The schema was written by a newer workbench."""


def migrate(conn: Any, where: str) -> int:
    """Apply the migrations the connection's schema has not had; returns its version now.
    ``conn`` is in autocommit mode; each migration is one transaction."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS workbench_meta (key TEXT PRIMARY KEY, value TEXT)")
    current = _version(conn)
    if current > LATEST:
        raise SchemaTooNew(
            f"{where} is at schema version {current}; this workbench knows up to {LATEST}: upgrade workbench to open it"
        )
    for version, step in MIGRATIONS:
        if version <= current:
            continue
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            if _version(conn) >= version:  # another instance ran it while this one waited
                continue
            step(conn)
            conn.execute(
                "INSERT INTO workbench_meta (key, value) VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )
        current = version
    return max(current, _version(conn))


def _version(conn: Any) -> int:
    row = conn.execute("SELECT value FROM workbench_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0
