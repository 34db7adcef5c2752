"""The single retry layer and the per-shop limiter, on fake time."""

from __future__ import annotations

import asyncio
import random

import pytest

from adapters.errors import AuthExpired, RateLimited, Rejected, TransientError
from connector.engine.ratelimit import ShopLimiter
from connector.engine.retry import CallPolicy, full_jitter
from connector.settings import RetrySettings


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def policy(t: FakeTime, *, attempts: int = 5, budget: float = 60.0, refresh: object = None) -> CallPolicy:
    limiter = ShopLimiter(1000, clock=t.clock, sleep=t.sleep)
    settings = RetrySettings(max_attempts=attempts, max_delay_s=budget, backoff_base_s=0.5, backoff_cap_s=4)
    return CallPolicy(settings, limiter, sleep=t.sleep, rng=random.Random(1), refresh=refresh)  # type: ignore[arg-type]


def failing(errors: list[BaseException], result: str = "ok") -> tuple[list[int], object]:
    calls = [0]

    async def fn() -> str:
        calls[0] += 1
        if errors:
            raise errors.pop(0)
        return result

    return calls, fn


async def test_waits_at_least_the_marketplace_retry_after_and_bans_the_shop() -> None:
    t = FakeTime()
    p = policy(t)
    calls, fn = failing([RateLimited("slow down", retry_after=3.0)])
    assert await p.call(fn) == "ok"  # type: ignore[arg-type]
    assert calls[0] == 2 and max(t.sleeps) >= 3.0
    assert (p.counts.retries, p.counts.throttle_waits, p.counts.reads) == (1, 1, 2)


async def test_a_retry_after_beyond_the_budget_gives_up_instead_of_sleeping() -> None:
    t = FakeTime()
    calls, fn = failing([RateLimited("quota", retry_after=3600.0)])
    with pytest.raises(RateLimited):
        await policy(t, budget=60).call(fn)  # type: ignore[arg-type]
    assert calls[0] == 1 and all(s < 3600 for s in t.sleeps)


async def test_permanent_errors_are_not_retried() -> None:
    t = FakeTime()
    calls, fn = failing([Rejected("bad price")])
    with pytest.raises(Rejected):
        await policy(t).call(fn, write=True)  # type: ignore[arg-type]
    assert calls[0] == 1 and t.sleeps == []


async def test_attempts_are_bounded() -> None:
    t = FakeTime()
    calls, fn = failing([TransientError("503")] * 10)
    with pytest.raises(TransientError):
        await policy(t, attempts=4).call(fn)  # type: ignore[arg-type]
    assert calls[0] == 4


async def test_expired_auth_refreshes_once_then_retries_once() -> None:
    t = FakeTime()
    refreshed: list[int] = []

    async def refresh() -> None:
        refreshed.append(1)

    calls, fn = failing([AuthExpired("token expired")])
    assert await policy(t, refresh=refresh).call(fn) == "ok"  # type: ignore[arg-type]
    assert (calls[0], len(refreshed)) == (2, 1)
    calls, fn = failing([AuthExpired("a"), AuthExpired("b"), AuthExpired("c")])
    with pytest.raises(AuthExpired):
        await policy(t, refresh=refresh).call(fn)  # type: ignore[arg-type]
    assert calls[0] == 2


async def test_cancellation_is_never_retried() -> None:
    calls = [0]

    async def slow() -> None:
        calls[0] += 1
        await asyncio.sleep(10)

    p = CallPolicy(RetrySettings(max_attempts=5), ShopLimiter(1000))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(p.call(slow), 0.05)
    assert calls[0] == 1


def test_full_jitter_stays_in_its_window_and_spreads() -> None:
    rng = random.Random(5)
    draws = [full_jitter(4, 0.5, 3.0, rng) for _ in range(5000)]
    assert all(0 <= d <= 3.0 for d in draws)
    assert min(draws) < 0.3 and max(draws) > 2.7


async def test_limiter_spaces_calls_and_a_ban_holds_every_caller() -> None:
    t = FakeTime()
    limiter = ShopLimiter(10, clock=t.clock, sleep=t.sleep)
    starts: list[float] = []

    async def caller() -> None:
        await limiter.acquire()
        starts.append(t.now)

    await caller()
    limiter.ban(2.0)
    await asyncio.gather(*(caller() for _ in range(3)))
    assert starts[0] == 0.0 and all(s >= 2.0 for s in starts[1:])
    gaps = [b - a for a, b in zip(sorted(starts[1:]), sorted(starts[1:])[1:], strict=False)]
    assert all(g >= 0.1 - 1e-9 for g in gaps)


async def test_adaptive_limiter_creeps_to_its_ceiling_halves_on_a_throttle_and_creeps_back() -> None:
    t = FakeTime()
    limiter = ShopLimiter(8, ceiling_per_s=10, clock=t.clock, sleep=t.sleep)
    for _ in range(60):
        await limiter.acquire()
    assert limiter.rate_per_s == 10  # every clean second adds 5 % of the ceiling, never more than it
    limiter.throttled()
    assert limiter.rate_per_s == 5
    for _ in range(3):
        limiter.throttled()
    assert limiter.rate_per_s == 2  # the floor: a quarter of the start rate
    for _ in range(200):
        await limiter.acquire()
    assert limiter.rate_per_s == 10 and limiter.throttles == 4


async def test_a_fixed_rate_limiter_never_moves() -> None:
    t = FakeTime()
    limiter = ShopLimiter(4, clock=t.clock, sleep=t.sleep)
    for _ in range(50):
        await limiter.acquire()
    assert limiter.rate_per_s == 4 and limiter.interval_s == 0.25
    limiter.throttled()
    assert limiter.rate_per_s == 2
