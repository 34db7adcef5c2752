"""The adaptive limiter against a sandbox: it may reach above the marketplace's limit, is throttled,
backs off and honours every ban (zero throttle violations), on one fake clock for both sides."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from contract_kit import MakeHarness

from adapters.sandbox import SandboxClock
from connector.engine.observe import read_listings
from connector.engine.ratelimit import ShopLimiter
from connector.engine.retry import CallPolicy
from connector.settings import RetrySettings


class FakeClock(SandboxClock):
    """Sandbox time that stands still until `advance`."""

    def __init__(self) -> None:
        super().__init__()
        self._start = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        """The start plus every advance so far."""
        return self._start + self._offset


async def test_a_ceiling_above_the_limit_is_throttled_backs_off_and_never_violates_a_ban(
    make_harness: MakeHarness,
) -> None:
    """Sandbox limit 4/s, limiter from 3/s up to 6/s: throttles happen, bans are honoured, the read completes."""
    h = await make_harness(rate_limit_per_s=4)
    h.sandbox.clock = clock = FakeClock()
    page = type(h.adapter).capabilities.page_size
    skus = h.seed(page * 12)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    limiter = ShopLimiter(3, ceiling_per_s=6, clock=lambda: clock.now().timestamp(), sleep=sleep)
    limiter.install(h.http)
    calls = CallPolicy(RetrySettings(max_attempts=8), limiter, sleep=sleep, refresh=h.adapter.refresh_auth)
    for _ in range(3):
        found = await read_listings(calls, h.adapter)
        assert set(skus) <= set(found)

    throttled = [e for e in h.sandbox.log if e.outcome == "throttled"]
    assert throttled, "the ceiling is above the sandbox's limit: it must have been reached"
    assert limiter.throttles == len(throttled) and limiter.rate_per_s < 6
    assert h.sandbox.throttle_violations() == []
