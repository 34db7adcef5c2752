"""Per-seller sliding-window rate limiting, as the marketplaces apply it."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime


class SlidingWindowLimiter:
    """Allows `limit` calls per `window_s` seconds per key; tells how long to wait when over."""

    def __init__(self, limit: int, window_s: float = 1.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._calls: defaultdict[str, deque[float]] = defaultdict(deque)

    def check(self, key: str, now: datetime) -> float | None:
        """Record a call for `key` at `now`; None if allowed, else seconds until a slot frees."""
        if self.limit <= 0:
            return None
        t = now.timestamp()
        calls = self._calls[key]
        while calls and calls[0] <= t - self.window_s:
            calls.popleft()
        if len(calls) >= self.limit:
            return max(0.001, calls[0] + self.window_s - t)
        calls.append(t)
        return None
