"""The table and knowledge-base edits the REST API makes, one function per operation, each
through :class:`~workbench.runtime.editing.BotEditor` (the TUI's and the CLI's edit path too),
so a REST edit is validated, stored and announced like any other.

Handlers call these in a worker thread: each writes to the store and the index.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.engines.decision_table.model import State
    from workbench.engines.decision_table.table_io import TableRead
    from workbench.engines.knowledge_base.kb import QA, ImportReport
    from workbench.runtime.editing import BotEditor


# -- decision table -----------------------------------------------------------------------------


def upsert_state(editor: BotEditor, bot: str, state: State) -> bool:
    """Insert or replace ``state``; True when it is new."""
    return editor.save_state(bot, state).created


def delete_state(editor: BotEditor, bot: str, name: str) -> bool:
    """Remove state ``name``; False when there was none."""
    return editor.delete_state(bot, name)


def import_table(editor: BotEditor, bot: str, text: str, source: str, skip_invalid: bool, replace: bool) -> TableRead:
    """Load a table (CSV in any starchat layout, or JSON); nothing is loaded when it has
    errors unless ``skip_invalid``."""
    from workbench.engines.decision_table.table_io import read_text

    read = read_text(text, source)
    if not read.errors or skip_invalid:
        editor.import_states(bot, read.states, replace=replace)
    return read


# -- knowledge base --------------------------------------------------------------------------------


def add_qa(editor: BotEditor, bot: str, fields: dict[str, Any]) -> QA:
    """Insert a Q/A or replace the one with its id (KnowledgeBaseError when invalid)."""
    return editor.add_qa(bot, fields)


def update_qa(editor: BotEditor, bot: str, qa_id: str, fields: dict[str, Any]) -> QA:
    """Change some fields of Q/A ``qa_id`` (KeyError when there is none)."""
    return editor.update_qa(bot, qa_id, fields)


def delete_qa(editor: BotEditor, bot: str, qa_id: str) -> bool:
    """Remove Q/A ``qa_id``; False when there was none."""
    return editor.delete_qa(bot, qa_id)


def import_qas(editor: BotEditor, bot: str, text: str, source: str, strict: bool) -> ImportReport:
    """Load Q/As from CSV (a header row of starchat's columns) or JSON Lines."""
    stream = io.StringIO(text, newline="")
    stream.name = source
    return editor.import_qas(bot, stream, fmt="jsonl" if text.lstrip().startswith("{") else "csv", strict=strict)
