"""ServerLog: what the running server reports (start, stop, errors, warnings), newest last."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import Log


class ServerLog(Log):
    """A bounded, auto-scrolling log; each line stamped with the time and its level."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=2000, auto_scroll=True, **kwargs)
        #: the lines written, for tests and copy-paste (the widget keeps its own too)
        self.entries: list[tuple[str, str]] = []

    def add(self, level: str, text: str) -> None:
        self.entries.append((level, text))
        if len(self.entries) > 2000:
            del self.entries[:-2000]
        first, *rest = str(text).splitlines() or [""]
        stamp = time.strftime("%H:%M:%S")
        self.write_line(f"{stamp} {level.upper():<7} {first}")
        for line in rest:
            self.write_line(f"{'':17}{line}")
