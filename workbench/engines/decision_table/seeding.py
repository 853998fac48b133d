"""Seed a bot's knowledge base from the file task.yml names, again only when its content changes."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

from workbench.io.files import DATA_LIMIT, read_bytes

log = logging.getLogger(__name__)


def seed_kb(store: Any, kb: Any, bot: str, path: Path) -> str | None:
    """Import ``path`` (CSV or JSONL) into ``kb`` when its hash differs from the last import.

    The file replaces the knowledge base's content (edits made since the last
    import are dropped, as for decision tables); returns a note when it did.
    """
    digest = hashlib.sha256(read_bytes(path, DATA_LIMIT, "knowledge base")).hexdigest()
    with store._lock, store.conn:
        store.conn.execute(
            "CREATE TABLE IF NOT EXISTS kb_sources (bot TEXT PRIMARY KEY, source TEXT, source_hash TEXT, imported REAL)"
        )
        row = store.conn.execute("SELECT source_hash FROM kb_sources WHERE bot = ?", (bot,)).fetchone()
    if row and row[0] == digest:
        return None
    kb.clear()
    if path.suffix.lower() in (".jsonl", ".json"):
        report = kb.import_jsonl(path)
    else:
        report = kb.import_csv(path)
    with store._lock, store.conn:
        store.conn.execute(
            "INSERT OR REPLACE INTO kb_sources (bot, source, source_hash, imported) VALUES (?, ?, ?, ?)",
            (bot, str(path), digest, time.time()),
        )
    verb = "imported" if row is None else "re-imported (its content changed)"
    note = f"knowledge base {path.name} {verb}: {report.added} Q/As"
    log.info(note)
    return note
