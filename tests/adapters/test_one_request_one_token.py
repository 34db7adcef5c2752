"""One request, one token: every HTTP request an adapter sends waits for its own turn at the shop's limiter.

The limiter is installed on the shop's HTTP client exactly as the engine installs it
(`ShopLimiter.install`), and the adapter's operations run through the engine's `CallPolicy`.
Both sides run on one fake clock that only waiting moves (so 1 request per second costs no
real second, and no real processing time blurs the spacing). The sandbox allows exactly 1
request per second per seller: an operation that sent two requests on one token (Tiki's
look-up reads the product and its review requests) would be throttled there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import httpx
from contract_kit import SELLER, MakeHarness, draft

from adapters.base import MarketplaceAdapter
from adapters.sandbox import SandboxClock
from connector.engine.observe import drive_pages, read_listings
from connector.engine.ratelimit import ShopLimiter
from connector.engine.retry import CallPolicy
from connector.settings import RetrySettings
from schemas.listing import ListingRef, OrdersPage, PriceStockUpdate

T = TypeVar("T")


class FakeClock(SandboxClock):
    """Sandbox time that stands still until `advance` (whole seconds from a whole-second start)."""

    def __init__(self) -> None:
        super().__init__()
        self._start = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        """The start plus every advance so far."""
        return self._start + self._offset


async def _every_operation(calls: CallPolicy, adapter: MarketplaceAdapter, skus: list[str]) -> set[str]:
    """Each adapter operation once (auth and scrolls included); the operations that ran."""
    ran: set[str] = set()

    async def op(name: str, fn: Callable[[], Awaitable[T]], *, write: bool = False) -> T:
        ran.add(name)
        return await calls.call(fn, write=write)

    await op("refresh_auth", adapter.refresh_auth)
    listed = await read_listings(calls, adapter)
    ran.add("list_listings")
    assert set(skus) <= set(listed)
    await read_listings(calls, adapter, since=listed[skus[0]].updated_at)
    found = await op("get_listing", lambda: adapter.get_listing(skus[1]))
    assert found is not None
    assert await op("get_listing (missing)", lambda: adapter.get_listing("NO-SUCH-SKU")) is None
    await op("create", lambda: adapter.create(draft("OCOP-NEW-1")), write=True)
    await op("update_content", lambda: adapter.update_content(found.ref, draft(skus[1]).content), write=True)
    refs: list[ListingRef] = [listed[s].ref for s in skus[:3]]
    batch = [PriceStockUpdate(ref=r, price_vnd=90_000, stock=5) for r in refs]
    await op("set_price_stock", lambda: adapter.set_price_stock(batch), write=True)
    await op("set_active", lambda: adapter.set_active(refs, False), write=True)
    await op("set_active", lambda: adapter.set_active(refs, True), write=True)

    async def keep(page: OrdersPage) -> None:
        return None

    await calls.call(lambda: drive_pages(calls, lambda: adapter.list_orders(None), keep), paced=False)
    ran.add("list_orders")
    return ran


async def test_every_adapter_operation_takes_one_token_per_request(make_harness: MakeHarness) -> None:
    """At 1 request/s on both sides: no throttle at all at the sandbox, and requests sent == tokens taken."""
    h = await make_harness(rate_limit_per_s=1)
    h.sandbox.clock = clock = FakeClock()
    page = type(h.adapter).capabilities.page_size
    skus = h.seed(page + 5)  # a scroll of two pages at least
    store = h.sandbox.store
    store.place_order(SELLER, skus[0], 1, clock.now())

    async def sleep(seconds: float) -> None:  # waiting moves the sandbox's time, not ours
        clock.advance(seconds)
        await asyncio.sleep(0)

    sent: list[str] = []

    async def count(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")

    h.http.event_hooks["request"].append(count)
    limiter = ShopLimiter(1.0, clock=lambda: clock.now().timestamp(), sleep=sleep)
    limiter.install(h.http)
    calls = CallPolicy(RetrySettings(), limiter, sleep=sleep, refresh=h.adapter.refresh_auth)

    ran = await _every_operation(calls, h.adapter, skus)

    assert len(ran) == 9
    throttled = [e for e in h.sandbox.log if e.outcome == "throttled"]
    assert throttled == [], throttled[:3]
    assert h.sandbox.throttle_violations() == []
    assert len(sent) == limiter.taken, sent
    assert calls.counts.retries == 0
