"""Loops that never die silently: transient failures are retried with backoff, anything else stops the daemon.

A daemon loop (leadership, worker) runs `step()` over and over. A database or network failure
(`TRANSIENT`) is logged at most once per interval per loop (`RateLimitedLog`), marks the loop
failing (so `/readyz` answers 503) and is retried with capped exponential backoff; the first
success ends the episode. Any other exception is a bug or a bad setting the loop cannot get past:
it is logged with its traceback and re-raised, the daemon sees the loop end and exits non-zero.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError

from connector.service.ratelog import RateLimitedLog

log = logging.getLogger("ocop_sync.daemon")

TRANSIENT: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, TimeoutError)


def backoff_s(failures: int, *, base_s: float = 0.5, cap_s: float = 30.0) -> float:
    """The pause after `failures` consecutive failures: base·2^(n-1), capped."""
    return float(min(cap_s, base_s * 2 ** max(0, failures - 1)))


async def supervised(
    name: str,
    step: Callable[[], Awaitable[float]],
    *,
    stopping: Callable[[], bool],
    pause: Callable[[float], Awaitable[None]],
    health: RateLimitedLog,
    cap_s: float = 30.0,
) -> None:
    """Run `step()` (which returns the pause before its next pass) until `stopping()`; see the module doc."""
    failures = 0
    while not stopping():
        try:
            wait_s = await step()
        except TRANSIENT as exc:
            failures += 1
            wait_s = backoff_s(failures, cap_s=cap_s)
            health.failure(name, "%s failing (%s: %s); retrying with backoff", name, type(exc).__name__, _short(exc))
        except Exception:  # loop boundary: not transient, so retrying cannot help; the daemon must stop
            log.exception("%s loop failed and stops; the daemon exits / vòng lặp %s dừng do lỗi", name, name)
            raise
        else:
            if failures:
                health.recovered(name, "%s recovered / đã hồi phục", name)
                failures = 0
        await pause(wait_s)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else ""
