"""Persistence: conversations, messages, engine state. Every SQL statement lives in this package."""

from workbench.store.sqlite import Commit, Record, Store, new_id, records

__all__ = ["Commit", "Record", "Store", "new_id", "records"]
