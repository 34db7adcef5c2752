"""Rate-limited logging: one line per failing component per interval, with a count of what was held back.

During an outage every loop fails on every pass; logging each failure buried the one line that
mattered (a 40 s database outage wrote 11,046 lines). `RateLimitedLog` lets the first failure of
a component through, holds back repeats for `interval_s`, then logs one line that says how many
were held back; `recovered()` logs the end of the episode once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Episode:
    last_logged: float
    suppressed: int = 0
    failures: int = 0


class RateLimitedLog:
    """A logger front that writes at most one line per key (component) per `interval_s`."""

    def __init__(
        self, logger: logging.Logger, interval_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self._episodes: dict[str, _Episode] = {}

    def failure(self, key: str, msg: str, *args: object, level: int = logging.WARNING, exc_info: bool = False) -> bool:
        """Log a failure of `key` unless one was logged within the interval; True when this one was logged."""
        now = self.clock()
        episode = self._episodes.get(key)
        if episode is None:
            self._episodes[key] = _Episode(last_logged=now, failures=1)
            self.logger.log(level, msg, *args, exc_info=exc_info)
            return True
        episode.failures += 1
        if now - episode.last_logged < self.interval_s:
            episode.suppressed += 1
            return False
        held_back, episode.suppressed, episode.last_logged = episode.suppressed, 0, now
        self.logger.log(
            level, msg + " (%d similar line(s) held back in the last %.0fs)", *args, held_back, self.interval_s
        )
        return True

    def recovered(self, key: str, msg: str, *args: object) -> None:
        """End `key`'s failure episode: one info line with how many failures it had (nothing if none)."""
        episode = self._episodes.pop(key, None)
        if episode is not None:
            self.logger.info(msg + " (after %d failure(s))", *args, episode.failures)

    def failing(self) -> dict[str, int]:
        """Keys currently in a failure episode, with their failure counts."""
        return {key: e.failures for key, e in self._episodes.items()}
