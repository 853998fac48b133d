"""Seed a bot's knowledge base from the file task.yml names, again only when its content changes."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from workbench.engines.knowledge_base import KnowledgeBase
from workbench.io.files import DATA_LIMIT, read_bytes

log = logging.getLogger(__name__)


def seed_kb(kb: KnowledgeBase, path: Path) -> str | None:
    """Import ``path`` (CSV or JSONL) into ``kb`` when its hash differs from the last import.

    The file replaces the knowledge base's content (edits made since the last
    import are dropped, as for decision tables); returns a note when it did.
    """
    digest = hashlib.sha256(read_bytes(path, DATA_LIMIT, "knowledge base")).hexdigest()
    source = kb.docs.source()
    if source.digest == digest:
        return None
    kb.clear()
    if path.suffix.lower() in (".jsonl", ".json"):
        report = kb.import_jsonl(path)
    else:
        report = kb.import_csv(path)
    kb.docs.set_source(str(path), digest)
    verb = "imported" if source.digest is None else "re-imported (its content changed)"
    note = f"knowledge base {path.name} {verb}: {report.added} Q/As"
    log.info(note)
    return note
