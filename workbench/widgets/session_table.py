"""SessionTable: the live sessions of a running server, one row per conversation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import DataTable

COLUMNS = (
    ("conversation", "Conversation"),
    ("channel", "Channel"),
    ("person", "Person"),
    ("world", "World"),
    ("idle", "Idle"),
    ("bot", "Bot"),
)


def format_idle(seconds: float) -> str:
    """``5s``, ``2m 03s``, ``1h 04m``: short enough for a narrow column."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {(s % 3600) // 60:02d}m"


def _bot_side(row: Any) -> str:
    if not row.taken_over:
        return "bot"
    return "you (waiting)" if row.waiting else "you"


class SessionTable(DataTable):
    """Rows keyed by conversation id, updated in place so the cursor stays on its row."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, rows: Iterable[Any]) -> None:
        """Show exactly ``rows`` (LiveSession-like objects)."""
        wanted = {r.conversation_id: r for r in rows}
        for key in [k.value for k in self.rows if k.value is not None and k.value not in wanted]:
            self.remove_row(key)
        for cid, r in wanted.items():
            cells = {
                "conversation": cid,
                "channel": r.channel,
                "person": r.person,
                "world": r.world or "…",
                "idle": format_idle(r.idle),
                "bot": _bot_side(r),
            }
            if cid in {k.value for k in self.rows}:
                for column, value in cells.items():
                    if self.get_cell(cid, column) != value:
                        self.update_cell(cid, column, value, update_width=True)
            else:
                self.add_row(*(cells[k] for k, _ in COLUMNS), key=cid)

    @property
    def selected(self) -> str | None:
        """The conversation id under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None
