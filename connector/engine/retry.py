"""The single retry layer: every adapter call of a run goes through `CallPolicy.call`.

tenacity `AsyncRetrying` with full-jitter exponential backoff, bounded by attempts and by
total delay; only `adapters.errors` whose `retryable` is True are retried, and never for
less than the marketplace's `retry_after`. A throttle also bans the whole shop for that long
(`ShopLimiter.ban`), so no other call slips in early. `AuthExpired` gets one `refresh_auth()`
and one more try. `asyncio.CancelledError` is a BaseException and is never retried.
Sleep, clock and randomness are injected so tests run on fake time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from adapters.errors import AdapterError, AuthExpired, RateLimited, TransientError
from connector.engine.ratelimit import ShopLimiter
from connector.settings import RetrySettings

__all__ = ["CallCounts", "CallPolicy", "full_jitter", "is_retryable", "retry_after_of"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class CallCounts:
    """What the calls of one run cost: attempts by kind, retries, throttles and auth refreshes."""

    reads: int = 0
    writes: int = 0
    retries: int = 0
    throttle_waits: int = 0
    refreshes: int = 0


def is_retryable(exc: BaseException) -> bool:
    """True for adapter errors the marketplace may answer differently next time."""
    return isinstance(exc, AdapterError) and exc.retryable


def retry_after_of(exc: BaseException | None) -> float:
    """The back-off the marketplace asked for (0 when it said nothing)."""
    if isinstance(exc, TransientError) and exc.retry_after:
        return max(0.0, float(exc.retry_after))
    return 0.0


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """AWS "full jitter": uniform(0, min(cap, base * 2^(attempt-1)))."""
    return rng.uniform(0.0, min(cap, base * 2 ** max(0, attempt - 1)))


class _wait_jitter_or_retry_after(wait_base):
    """Full-jitter backoff, never shorter than the marketplace's Retry-After."""

    def __init__(self, base: float, cap: float, rng: random.Random) -> None:
        self.base, self.cap, self.rng = base, cap, rng

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        jitter = full_jitter(retry_state.attempt_number, self.base, self.cap, self.rng)
        return max(jitter, retry_after_of(exc))


class _stop_when_retry_after_exceeds_budget(stop_base):
    """Give up (requeue for a later run) when the marketplace asks for a longer wait than we have left."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        elapsed = retry_state.seconds_since_start or 0.0
        return retry_after_of(exc) > self.budget_s - elapsed


class CallPolicy:
    """Runs adapter calls for one shop: paced by its limiter, retried by one tenacity policy."""

    def __init__(
        self,
        settings: RetrySettings,
        limiter: ShopLimiter,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        refresh: Callable[[], Awaitable[object]] | None = None,
        concurrency: int = 1,
    ) -> None:
        self.settings = settings
        self.concurrency = concurrency  # listing pages a read may have in flight at once
        self.limiter = limiter
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.refresh = refresh
        self.counts = CallCounts()
        self._auth_lock = asyncio.Lock()
        self._auth_generation = 0

    def _retrying(self) -> AsyncRetrying:
        s = self.settings
        return AsyncRetrying(
            sleep=self.sleep,
            stop=stop_after_attempt(s.max_attempts)
            | stop_after_delay(s.max_delay_s)
            | _stop_when_retry_after_exceeds_budget(s.max_delay_s),
            wait=_wait_jitter_or_retry_after(s.backoff_base_s, s.backoff_cap_s, self.rng),
            retry=retry_if_exception(is_retryable),
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        self.counts.retries += 1

    async def paced(self, fn: Callable[[], Awaitable[T]], write: bool = False) -> T:
        """Run `fn` once, paced by the shop's limiter and counted; a throttle (or a Retry-After) bans the shop."""
        return await self._once(fn, write)

    async def take_turn(self, write: bool = False) -> None:
        """Count one adapter call and, unless the limiter paces each HTTP request itself, wait for its turn."""
        if not self.limiter.per_request:
            await self.limiter.acquire()
        if write:
            self.counts.writes += 1
        else:
            self.counts.reads += 1

    async def _once(self, fn: Callable[[], Awaitable[T]], write: bool) -> T:
        await self.take_turn(write)
        try:
            return await fn()
        except RateLimited as exc:
            self.limiter.ban(retry_after_of(exc) or self.limiter.interval_s)
            self.limiter.throttled()
            self.counts.throttle_waits += 1
            raise
        except TransientError as exc:
            self.honour_retry_after(exc)
            raise

    async def _unpaced(self, fn: Callable[[], Awaitable[T]], write: bool) -> T:
        try:
            return await fn()
        except TransientError as exc:
            self.honour_retry_after(exc)
            raise

    def honour_retry_after(self, exc: TransientError) -> None:
        """A 5xx with Retry-After asks the whole shop to wait, not only this call's retry."""
        if (wait := retry_after_of(exc)) > 0:
            self.limiter.ban(wait)

    async def _attempt(self, fn: Callable[[], Awaitable[T]], write: bool, refreshed: list[bool], paced: bool) -> T:
        once = self._once if paced else self._unpaced
        generation = self._auth_generation
        try:
            return await once(fn, write)
        except AuthExpired:
            if refreshed[0] or self.refresh is None:
                raise
            refreshed[0] = True
            async with self._auth_lock:  # pages read side by side refresh once, not once each
                if generation == self._auth_generation:
                    self.counts.refreshes += 1
                    await self.refresh()
                    self._auth_generation += 1
            return await once(fn, write)

    async def call(self, fn: Callable[[], Awaitable[T]], *, write: bool = False, paced: bool = True) -> T:
        """Run `fn` (one adapter call) with pacing and retries; re-raise the last error when giving up.

        `paced=False` is for functions that pace their own calls (`paced`), e.g. a page loop.
        """
        refreshed = [False]
        async for attempt in self._retrying():
            with attempt:
                return await self._attempt(fn, write, refreshed, paced)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover
