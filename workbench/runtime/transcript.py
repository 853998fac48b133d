"""Transcript entries: the one shape the TUI and the live server show a message in."""

from __future__ import annotations

from typing import Any


def entry_from_record(record: Any, stored: bool) -> dict[str, Any]:
    """An entry for a message the runtime just held (``stored=False``) or committed."""
    msg = record.message
    return {
        "uid": msg.uid,
        "act": dict(msg),
        "role": record.role,
        "agent": record.agent,
        "world": record.world,
        "world_instance": record.world_instance,
        "trace": record.trace,
        "stored": stored,
    }


def entry_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """An entry for a message read back from the store."""
    return {
        "uid": f"row-{row['id']}",
        "act": row["act"],
        "role": row["role"],
        "agent": row["agent"],
        "world": row["world"],
        "world_instance": row["world_instance"],
        "trace": row["trace"],
        "stored": True,
    }
