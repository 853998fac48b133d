"""QuickReplies: the replies a bot offers, as buttons that wrap onto as many rows as they need.

A row of buttons would be clipped at its right edge ("None of the above" invisible at
80 columns); here the buttons are laid out in rows that fit the widget's width, and
laid out again when the width changes. A label wider than a row gets a row of its own.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Button

#: a compact button's padding around its label, and the margin between buttons (workbench.tcss)
PADDING = 2
GAP = 1


def rows_for(labels: list[str], width: int) -> list[list[str]]:
    """``labels`` in order, in rows no wider than ``width`` cells (each label on some row)."""
    rows: list[list[str]] = []
    used = 0
    for label in labels:
        need = cell_len(label) + PADDING
        if rows and used + GAP + need <= width:
            rows[-1].append(label)
            used += GAP + need
        else:
            rows.append([label])
            used = need
    return rows


class QuickReplies(Vertical):
    """The offered replies; :meth:`offer` replaces them (an empty list hides the widget)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.labels: list[str] = []
        self._rows: list[list[str]] | None = None

    def offer(self, labels: list[str]) -> None:
        self.labels = list(labels)
        self.display = bool(self.labels)
        self._lay_out(force=True)

    def on_resize(self, event: Resize) -> None:
        self._lay_out()

    def _lay_out(self, force: bool = False) -> None:
        # hidden until now: the parent's width less this widget's padding (workbench.tcss)
        parent = self.parent
        width = self.content_size.width or (parent.content_size.width - 2 if isinstance(parent, Widget) else 0) or 78
        rows = rows_for(self.labels, width)
        if rows == self._rows and not force:
            return  # the same rows: the buttons stay (one may be being clicked)
        self._rows = rows
        self.remove_children()
        # no ids: the old buttons may still be mounted while the new ones mount
        self.mount_all(
            Horizontal(*(Button(label, classes="quick-reply", compact=True) for label in row), classes="qr-row")
            for row in rows
        )
