"""The SQLite store's schema as numbered migrations, applied in order on open.

``meta.schema_version`` says which have run. Each migration runs in its own
transaction, so a crash leaves the file at the last complete version. A file written
by a newer workbench (a higher version than this code knows) is refused rather than
guessed at.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable


def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``script``'s statements one by one (``executescript`` would commit the migration's
    transaction before it starts)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    """Conversations, their messages, engine state per (conversation, bot)."""
    _script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS conversations (
            id TEXT PRIMARY KEY, task TEXT, person TEXT, channel TEXT, created FLOAT, updated FLOAT,
            status TEXT, world TEXT, data TEXT, meta TEXT);
        CREATE INDEX IF NOT EXISTS idx_conversations_updated ON conversations (updated);
        CREATE TABLE IF NOT EXISTS messages (
            id INTEGER PRIMARY KEY, conversation_id TEXT REFERENCES conversations(id), seq INTEGER,
            world TEXT, world_instance TEXT, agent TEXT, role TEXT, created FLOAT, text TEXT, act TEXT, trace TEXT);
        CREATE UNIQUE INDEX IF NOT EXISTS idx_messages_conversation_id_seq ON messages (conversation_id, seq);
        CREATE TABLE IF NOT EXISTS engine_state (
            conversation_id TEXT, bot TEXT, state TEXT, updated FLOAT, PRIMARY KEY (conversation_id, bot));
        """,
    )


def _v2(conn: sqlite3.Connection) -> None:
    """Versioned document sets (decision-table states, knowledge-base Q/As) owned by the
    store, and the ledger of handled channel events. Earlier files kept tables and
    knowledge bases in engine-specific tables: their rows move here."""
    _script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS seen_events (scope TEXT, key TEXT, seen FLOAT, PRIMARY KEY (scope, key));
        CREATE INDEX IF NOT EXISTS idx_seen_events_scope_seen ON seen_events (scope, seen);
        CREATE TABLE IF NOT EXISTS doc_sets (
            name TEXT PRIMARY KEY, rev INTEGER NOT NULL DEFAULT 0, source TEXT, source_hash TEXT, imported REAL);
        CREATE TABLE IF NOT EXISTS documents (
            set_name TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, rev INTEGER NOT NULL,
            position INTEGER NOT NULL, updated REAL, PRIMARY KEY (set_name, id));
        CREATE INDEX IF NOT EXISTS idx_documents_rev ON documents (set_name, rev);
        CREATE INDEX IF NOT EXISTS idx_documents_position ON documents (set_name, position);
        CREATE TABLE IF NOT EXISTS doc_deleted (
            set_name TEXT NOT NULL, id TEXT NOT NULL, rev INTEGER NOT NULL, PRIMARY KEY (set_name, id));
        """,
    )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "dt_tables" in tables:
        conn.execute(
            "INSERT OR IGNORE INTO doc_sets (name, rev, source, source_hash, imported)"
            " SELECT 'decision_table:' || bot, rev, source, source_hash, imported FROM dt_tables"
        )
    if "dt_states" in tables:
        conn.execute(
            "INSERT OR IGNORE INTO documents (set_name, id, doc, rev, position, updated)"
            " SELECT 'decision_table:' || bot, state, doc, rev, position, updated FROM dt_states"
        )
    if "dt_deleted" in tables:
        conn.execute(
            "INSERT OR IGNORE INTO doc_deleted (set_name, id, rev) SELECT 'decision_table:' || bot, state, rev FROM dt_deleted"
        )
    if "knowledge_base" in tables:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(knowledge_base)")]
        now = time.time()
        for n, row in enumerate(conn.execute("SELECT * FROM knowledge_base ORDER BY rowid"), start=1):
            record = dict(zip(columns, row, strict=True))
            bot = record.pop("bot")
            record["verified"] = bool(record.get("verified"))
            conn.execute("INSERT OR IGNORE INTO doc_sets (name, rev) VALUES (?, 1)", (f"knowledge_base:{bot}",))
            conn.execute(
                "INSERT OR IGNORE INTO documents (set_name, id, doc, rev, position, updated) VALUES (?, ?, ?, 1, ?, ?)",
                (f"knowledge_base:{bot}", record["id"], json.dumps(record, ensure_ascii=False), n, now),
            )
    if "kb_sources" in tables:
        for bot, source, digest, imported in conn.execute("SELECT bot, source, source_hash, imported FROM kb_sources"):
            conn.execute("INSERT OR IGNORE INTO doc_sets (name, rev) VALUES (?, 0)", (f"knowledge_base:{bot}",))
            conn.execute(
                "UPDATE doc_sets SET source = ?, source_hash = ?, imported = ? WHERE name = ?",
                (source, digest, imported, f"knowledge_base:{bot}"),
            )
    for old in ("dt_states", "dt_deleted", "dt_tables", "knowledge_base", "kb_sources"):
        conn.execute(f"DROP TABLE IF EXISTS {old}")


def _v3(conn: sqlite3.Connection) -> None:
    """Evaluation studies: accounts (workers, admins), threads (one conversation each, on a
    topic with a bot) and ratings of whole threads (seq 0) or of one bot message (its seq)."""
    _script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS eval_accounts (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT,
            ext_src TEXT, ext_id TEXT, created REAL NOT NULL, consent TEXT, data TEXT NOT NULL DEFAULT '{}');
        CREATE UNIQUE INDEX IF NOT EXISTS idx_eval_accounts_ext ON eval_accounts (ext_src, ext_id)
            WHERE ext_src IS NOT NULL;
        CREATE TABLE IF NOT EXISTS eval_threads (
            id TEXT PRIMARY KEY REFERENCES conversations(id), study TEXT NOT NULL, topic TEXT NOT NULL,
            bot TEXT NOT NULL, person TEXT NOT NULL REFERENCES eval_accounts(id), status TEXT NOT NULL,
            created REAL NOT NULL, updated REAL NOT NULL, data TEXT NOT NULL DEFAULT '{}');
        CREATE INDEX IF NOT EXISTS idx_eval_threads_topic ON eval_threads (study, topic, bot);
        CREATE INDEX IF NOT EXISTS idx_eval_threads_person ON eval_threads (study, person);
        CREATE TABLE IF NOT EXISTS eval_ratings (
            thread TEXT NOT NULL REFERENCES eval_threads(id), person TEXT NOT NULL, question TEXT NOT NULL,
            seq INTEGER NOT NULL, value TEXT NOT NULL, created REAL NOT NULL,
            PRIMARY KEY (thread, person, question, seq));
        """,
    )


def _v4(conn: sqlite3.Connection) -> None:
    """Conversations get an epoch, bumped by each process that takes one over, so a process
    that lost a conversation cannot write to it any more (workbench/store/base.py)."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(conversations)")}
    if "epoch" not in columns:
        conn.execute("ALTER TABLE conversations ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0")


def _v5(conn: sqlite3.Connection) -> None:
    """State history: every engine state a commit wrote (per conversation and bot), with the
    number of the conversation's last message at that moment, so a debugger can show each
    turn as it was. Files from before start with an empty history. (No index on ``created``:
    pruning by age is rare maintenance, and every turn would pay for the index.)"""
    _script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS state_history (
            id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, bot TEXT NOT NULL, seq INTEGER NOT NULL,
            created REAL NOT NULL, source TEXT NOT NULL DEFAULT 'turn', state TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS idx_state_history_conversation ON state_history (conversation_id, bot, seq);
        """,
    )


def _v6(conn: sqlite3.Connection) -> None:
    """Sentence vectors per (embedding model, text hash), computed once and kept across restarts;
    and what readers derive from a document set (a compiled decision table), so a large table
    starts from it instead of compiling every state again."""
    _script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS vectors (
            model TEXT NOT NULL, key TEXT NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS doc_derived (
            set_name TEXT NOT NULL, name TEXT NOT NULL, rev INTEGER NOT NULL, blob BLOB NOT NULL,
            PRIMARY KEY (set_name, name));
        """,
    )


#: (version, migration): version N's migration brings a file from N-1 to N
MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
    (1, _v1),
    (2, _v2),
    (3, _v3),
    (4, _v4),
    (5, _v5),
    (6, _v6),
]
LATEST = MIGRATIONS[-1][0]


class SchemaTooNew(RuntimeError):
    """The file was written by a newer workbench."""


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Apply the migrations ``conn``'s file has not had; returns the version it is at now."""
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    current = int(row[0]) if row else 0
    if current > LATEST:
        raise SchemaTooNew(
            f"{path} is at schema version {current}; this workbench knows up to {LATEST}: upgrade workbench to open it"
        )
    for version, step in MIGRATIONS:
        if version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(conn)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(version),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        current = version
    return current
