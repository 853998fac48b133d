"""The table and knowledge-base edits the REST API makes, one function per operation.

Handlers call only these (in a worker thread: each writes to the store and the index),
so the edits can move behind the one edit service the TUI, the CLI and REST will share
without touching a handler.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.engines.decision_table.engine import DecisionTableEngine
    from workbench.engines.decision_table.model import State
    from workbench.engines.decision_table.table_io import TableRead
    from workbench.engines.knowledge_base.kb import QA, ImportReport, KnowledgeBase
    from workbench.store import Store


# -- decision table -----------------------------------------------------------------------------


def upsert_state(engine: DecisionTableEngine, state: State) -> bool:
    """Insert or replace ``state``; True when it is new."""
    _, created = engine.table.upsert(state)
    return created


def delete_state(engine: DecisionTableEngine, name: str) -> bool:
    """Remove state ``name``; False when there was none."""
    return engine.table.delete(name)


def import_table(engine: DecisionTableEngine, text: str, source: str, skip_invalid: bool, replace: bool) -> TableRead:
    """Load a table (CSV in any starchat layout, or JSON); nothing is loaded when it has
    errors unless ``skip_invalid``."""
    return engine.table.import_text(text, source=source, skip_invalid=skip_invalid, replace=replace)


# -- knowledge base --------------------------------------------------------------------------------


def knowledge_base(engine: DecisionTableEngine, store: Store) -> KnowledgeBase:
    """The bot's knowledge base; one started through the API is consulted by the bot from then on."""
    if engine.kb is None:
        from workbench.engines.knowledge_base import KnowledgeBase

        engine.kb = KnowledgeBase(store, engine.table.index, engine.bot)
    return engine.kb


def add_qa(kb: KnowledgeBase, fields: dict[str, Any]) -> QA:
    """Insert a Q/A or replace the one with its id (KnowledgeBaseError when invalid)."""
    return kb.add(fields)


def update_qa(kb: KnowledgeBase, qa_id: str, fields: dict[str, Any]) -> QA:
    """Change some fields of Q/A ``qa_id`` (KeyError when there is none)."""
    return kb.update(qa_id, fields)


def delete_qa(kb: KnowledgeBase, qa_id: str) -> bool:
    """Remove Q/A ``qa_id``; False when there was none."""
    return kb.delete(qa_id)


def import_qas(kb: KnowledgeBase, text: str, source: str, strict: bool) -> ImportReport:
    """Load Q/As from CSV (a header row of starchat's columns) or JSON Lines."""
    stream = io.StringIO(text, newline="")
    stream.name = source  # type: ignore[misc]
    if text.lstrip().startswith("{"):
        return kb.import_jsonl(stream, strict=strict)
    return kb.import_csv(stream, strict=strict)
