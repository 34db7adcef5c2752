"""Per-shop pacing of marketplace calls: a steady request rate plus throttle bans.

One `ShopLimiter` per shop and run. Calls are spaced at ``1 / rate`` seconds (a token
bucket of capacity one, so no burst can exceed the marketplace's window), and after the
marketplace throttles us (`ban`) no call to that shop starts before the back-off has passed,
whichever coroutine makes it. Clock and sleep are injected so tests run on fake time.

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

__all__ = ["WRITE_GATE", "ShopLimiter", "shop_rate"]

Sleep = Callable[[float], Awaitable[None]]

WRITE_GATE: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("ocop_sync_write_gate", default=None)
"""Set around a fenced marketplace write: awaited by the request hook after the token, before sending."""


def shop_rate(published_rps: float, share: float, override_rps: float | None = None) -> float:
    """The rate we allow ourselves: the shop's own setting, else a share of the published limit."""
    return override_rps if override_rps is not None else published_rps * share


class ShopLimiter:
    """Spaces calls to one shop and honours throttle back-offs across every caller."""

    def __init__(
        self,
        rate_per_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self._interval = 1.0 / rate_per_s
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
        """Seconds between two calls at the configured rate."""
        return self._interval

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
            if ready <= now:
                self._next = now + self._interval
                self.taken += 1
                self.waited_s += waited
                return waited
            if self._banned_until > now and not counted_ban:
                counted_ban = True
                self.waits += 1
            delay = ready - now
            await self._sleep(delay)
            waited += delay
