"""Persistence: conversations, messages, engine state. Every SQL statement lives in this package.

:func:`open_store` opens the backend a task names; :class:`Store` is the interface the rest
of workbench programs against (workbench/store/base.py).
"""

from __future__ import annotations

from pathlib import Path

from workbench.store.base import (
    Account,
    AccountExists,
    Commit,
    ConversationMoved,
    EvalThread,
    LimitReached,
    NewThread,
    Rating,
    Record,
    StateAt,
    Store,
    StudyRepository,
    new_id,
    records,
)

__all__ = [
    "Account",
    "AccountExists",
    "Commit",
    "ConversationMoved",
    "EvalThread",
    "LimitReached",
    "NewThread",
    "Rating",
    "Record",
    "StateAt",
    "Store",
    "StudyRepository",
    "new_id",
    "open_store",
    "records",
]


def open_store(target: str | Path) -> Store:
    """The store at ``target``: a PostgreSQL URL (``postgresql://...``), else a SQLite file
    path (or ``:memory:``). workbench/store/settings.py says which a task opens."""
    from workbench.store.settings import is_postgres

    if is_postgres(target):
        from workbench.store.postgres import PostgresStore

        return PostgresStore(str(target))
    from workbench.store.sqlite import SqliteStore

    return SqliteStore(target)
