"""ServerLog: what the running server reports (start, stop, errors, warnings), newest last."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import Log


class ServerLog(Log):
    """A bounded log that follows its newest line (unless the reader scrolled up to read); each
    line stamped with the time and its level."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=2000, auto_scroll=False, **kwargs)
        #: the lines written, for tests and copy-paste (the widget keeps its own too)
        self.entries: list[tuple[str, str]] = []
        #: whether the view stays on the newest line (False while the reader scrolled up)
        self.following = True

    def add(self, level: str, text: str) -> None:
        self.entries.append((level, text))
        if len(self.entries) > 2000:
            del self.entries[:-2000]
        first, *rest = str(text).splitlines() or [""]
        stamp = time.strftime("%H:%M:%S")
        self.write_line(f"{stamp} {level.upper():<7} {first}")
        for line in rest:
            self.write_line(f"{'':17}{line}")
        if self.following:
            # after the refresh that lays the new lines out: Log's own auto-scroll measured the
            # end before the size caught up, and stayed on the first screenful
            self.call_after_refresh(self._to_newest)

    def _to_newest(self) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(new_value) < round(old_value):
            self.following = round(new_value) >= self.max_scroll_y  # the reader scrolled up
        elif round(new_value) >= self.max_scroll_y:
            self.following = True  # back at the newest line
