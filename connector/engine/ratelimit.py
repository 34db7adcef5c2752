"""Per-shop pacing of marketplace calls: an adaptive request rate plus throttle bans.

One `ShopLimiter` per shop and run. Calls are spaced at ``1 / rate`` seconds (a token
bucket of capacity one, so no burst can exceed the marketplace's window), and after the
marketplace throttles us (`ban`) no call to that shop starts before the back-off has passed,
whichever coroutine makes it. Clock and sleep are injected so tests run on fake time.

The rate adapts between a start and a ceiling (`sync.rate_limit_share` and
`sync.rate_limit_max_share` of the published limit): every second's worth of calls without a
throttle raises it by `CREEP` of the ceiling, and a throttle (`throttled`) halves it (never
below `FLOOR_SHARE` of the start). A shop with its own `requests_per_second` keeps that rate.

One request, one token: `install` hooks the limiter into the shop's HTTP client, so every
request an adapter sends (auth, a second request inside one adapter method) takes its own
turn. The engine's per-call pacing (`CallPolicy`) then charges nothing itself.

A write fenced by the shop lease must prove the lease *after* its token wait, right before
the request leaves (a worker frozen in the wait may wake after another took the shop): the
caller sets `WRITE_GATE` around the adapter call and the hook awaits it once the token is taken.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

import httpx

__all__ = ["CREEP", "FLOOR_SHARE", "WRITE_GATE", "ShopLimiter", "shop_limiter", "shop_rate"]

CREEP = 0.05  # share of the ceiling added after each clean second of calls
FLOOR_SHARE = 0.25  # the lowest rate after throttles, as a share of the start rate
CLOCK_RESOLUTION_S = 1e-6  # a wait shorter than this is no wait (a clock in microseconds never gets there)

Sleep = Callable[[float], Awaitable[None]]

WRITE_GATE: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("ocop_sync_write_gate", default=None)
"""Set around a fenced marketplace write: awaited by the request hook after the token, before sending."""


def shop_rate(published_rps: float, share: float, override_rps: float | None = None) -> float:
    """The rate we allow ourselves: the shop's own setting, else a share of the published limit."""
    return override_rps if override_rps is not None else published_rps * share


def shop_limiter(
    published_rps: float, share: float, max_share: float, override_rps: float | None = None
) -> ShopLimiter:
    """A shop's limiter: its own fixed rate, or adaptive from `share` up to `max_share` of the published limit."""
    if override_rps is not None:
        return ShopLimiter(override_rps)
    return ShopLimiter(published_rps * share, ceiling_per_s=published_rps * max(share, max_share))


class ShopLimiter:
    """Spaces calls to one shop and honours throttle back-offs across every caller."""

    def __init__(
        self,
        rate_per_s: float,
        *,
        ceiling_per_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self._rate = rate_per_s
        self._ceiling = max(rate_per_s, ceiling_per_s or rate_per_s)
        self._floor = rate_per_s * FLOOR_SHARE
        self._clean = 0  # tokens handed out since the rate last changed
        self._interval = 1.0 / rate_per_s
        self.throttles = 0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._banned_until = 0.0
        self.waits = 0  # how many times a call waited for a throttle ban
        self.waited_s = 0.0
        self.taken = 0  # tokens handed out (one per request once installed)
        self.per_request = False  # True once `install`ed on the shop's HTTP client

    def install(self, http: httpx.AsyncClient) -> None:
        """Make every request `http` sends wait for its own token (an httpx request hook)."""

        async def take_token(request: httpx.Request) -> None:
            await self.acquire()
            gate = WRITE_GATE.get()
            if gate is not None:
                await gate()  # e.g. prove the shop lease: the token wait may have outlived it

        http.event_hooks["request"].append(take_token)
        self.per_request = True

    @property
    def interval_s(self) -> float:
        """Seconds between two calls at the current rate."""
        return self._interval

    @property
    def rate_per_s(self) -> float:
        """The current rate (between the floor and the ceiling)."""
        return self._rate

    def _set_rate(self, rate: float) -> None:
        self._rate = min(self._ceiling, max(self._floor, rate))
        self._interval = 1.0 / self._rate
        self._clean = 0

    def throttled(self) -> None:
        """The marketplace throttled us: halve the rate (the ban itself is `ban`)."""
        self.throttles += 1
        self._set_rate(self._rate / 2)

    def ban(self, seconds: float) -> None:
        """No call may start during the next `seconds` (the marketplace's Retry-After)."""
        self._banned_until = max(self._banned_until, self._clock() + max(0.0, seconds))

    async def acquire(self) -> float:
        """Wait until this shop may be called again; return the seconds waited."""
        waited = 0.0
        counted_ban = False
        while True:
            now = self._clock()
            ready = max(self._next, self._banned_until)
            if ready <= now + CLOCK_RESOLUTION_S:
                self._next = now + self._interval
                self.taken += 1
                self._clean += 1
                if self._rate < self._ceiling and self._clean >= self._rate:
                    self._set_rate(self._rate + CREEP * self._ceiling)
                self.waited_s += waited
                return waited
            if self._banned_until > now and not counted_ban:
                counted_ban = True
                self.waits += 1
            delay = ready - now
            await self._sleep(delay)
            waited += delay
