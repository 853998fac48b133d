"""Failed logins are limited per client address and per account name: after ``attempts``
failures within ``window`` seconds, further tries are refused until the window passes.
The table is bounded, so nobody can grow the server's memory with made-up names."""

from __future__ import annotations

import collections
import time


class LoginLimiter:
    def __init__(self, attempts: int = 5, window: float = 300.0, max_keys: int = 10000) -> None:
        self.attempts, self.window, self.max_keys = attempts, window, max_keys
        self._failures: collections.OrderedDict[str, collections.deque[float]] = collections.OrderedDict()

    def _recent(self, key: str, now: float) -> collections.deque[float]:
        times = self._failures.get(key)
        if times is None:
            return collections.deque()
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        return any(len(self._recent(k, now)) >= self.attempts for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
