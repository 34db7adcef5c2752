"""The contract every registered marketplace adapter keeps, checked against its own sandbox over HTTP.

A new adapter gets this whole suite by registering under the `ocop_sync.adapters` entry points.
The sandbox is the fake; the adapter is under test. Only protocol methods and the sandbox
surface shared by every simulator are used here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from contract_kit import (
    OTHER_SELLER,
    QC_DELAY_S,
    REJECT_SKU,
    SELLER,
    TOKEN_TTL_S,
    Harness,
    MakeHarness,
    draft,
)

from adapters.base import MarketplaceAdapter
from adapters.errors import AdapterError, AuthExpired, AuthFailed, RateLimited, ResponseShapeError
from adapters.sandbox import FaultSpec
from schemas.listing import (
    ItemOutcome,
    Listing,
    ListingsPage,
    ListingStatus,
    OrderLine,
    PriceStockUpdate,
    QcStatus,
)

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")


async def all_listings(adapter: MarketplaceAdapter, since: Any = None) -> list[Listing]:
    """Every listing the adapter yields, in order."""
    return [x async for page in adapter.list_listings(since) for x in page.listings]


async def all_orders(adapter: MarketplaceAdapter, since: Any = None) -> list[OrderLine]:
    """Every order line the adapter yields."""
    return [x async for page in adapter.list_orders(since) for x in page.lines]


async def found(adapter: MarketplaceAdapter, sku: str) -> Listing:
    """The listing for `sku`, which must exist."""
    listing = await adapter.get_listing(sku)
    assert listing is not None, f"{sku} not found"
    assert listing.seller_sku == sku
    return listing


async def with_one_refresh(adapter: MarketplaceAdapter, call: Callable[[], Awaitable[T]]) -> T:
    """What the engine does: on AuthExpired refresh once, then call once more."""
    try:
        return await call()
    except AuthExpired:
        await adapter.refresh_auth()
        return await call()


# -- reading -----------------------------------------------------------------------------------


async def test_paging_1000_listings_while_data_changes_mid_scroll(harness: Harness) -> None:
    """Every listing that existed throughout the scroll is yielded exactly once, despite changes between pages."""
    skus = harness.seed(1000)
    harness.seed(5, prefix="OTHER", seller_id=OTHER_SELLER)
    page_size = type(harness.adapter).capabilities.page_size
    seen: list[str] = []
    pages = 0
    async for page in harness.adapter.list_listings():
        assert isinstance(page, ListingsPage)
        assert len(page.listings) <= page_size
        seen += [x.seller_sku for x in page.listings]
        pages += 1
        if pages in (1, 3):
            # the seller edits listings already seen and not yet seen, and adds a new one
            for sku in (seen[0], skus[len(seen) + 7], skus[-1]):
                harness.touch(sku, price=99_000 + pages)
            harness.seed(1, prefix=f"NEW{pages}")
    assert pages >= 1000 // page_size
    assert len(seen) == len(set(seen)), "the adapter must de-duplicate a scroll"
    assert set(skus) <= set(seen)
    assert not any(s.startswith("OTHER") for s in seen), "another seller's listings leaked"


async def test_listing_since_returns_only_recent_changes(harness: Harness) -> None:
    """With `since`, listings changed at or after it are yielded (all of them when the API cannot filter)."""
    skus = harness.seed(30)
    harness.sandbox.clock.advance(120)
    since = harness.sandbox.clock.now()
    harness.sandbox.clock.advance(60)
    harness.touch(skus[3], price=77_000)
    harness.touch(skus[17], price=78_000)
    seen = {x.seller_sku: x for x in await all_listings(harness.adapter, since)}
    assert {skus[3], skus[17]} <= set(seen)
    assert seen[skus[3]].price_vnd == 77_000
    if type(harness.adapter).capabilities.listing_since:
        assert set(seen) == {skus[3], skus[17]}


async def test_get_listing_maps_fields_and_misses_return_none(harness: Harness) -> None:
    """Lookup by seller SKU returns the marketplace's view in our schema, or None."""
    harness.seed(3)
    listing = await found(harness.adapter, "OCOP-0001")
    stored = harness.sandbox.store.find(SELLER, "OCOP-0001")
    assert stored is not None
    assert listing.price_vnd == stored.price and listing.stock == stored.stock
    assert listing.content.title == stored.title
    assert listing.status is ListingStatus.ACTIVE
    assert listing.ref.external_id
    assert await harness.adapter.get_listing("NO-SUCH-SKU") is None


# -- creating through review --------------------------------------------------------------------


async def test_create_goes_through_review_and_goes_live(harness: Harness) -> None:
    """A create is found at once (even pending), is approved after the review delay, and can go live."""
    result = await harness.adapter.create(draft("OCOP-NEW-1"))
    assert result.ref.seller_sku == "OCOP-NEW-1"
    reviewed = type(harness.adapter).capabilities.reviewed_creates
    if reviewed:
        assert result.qc_status is QcStatus.PENDING
        pending = await found(harness.adapter, "OCOP-NEW-1")
        assert pending.qc_status is QcStatus.PENDING
    harness.sandbox.clock.advance(QC_DELAY_S + 1)
    harness.sandbox.tick_reviews()
    approved = await found(harness.adapter, "OCOP-NEW-1")
    assert approved.qc_status is QcStatus.APPROVED
    assert approved.price_vnd == 125_000 and approved.stock == 40
    if approved.status is not ListingStatus.ACTIVE:
        results = await harness.adapter.set_active([approved.ref], True)
        assert [r.outcome for r in results] == [ItemOutcome.OK]
        approved = await found(harness.adapter, "OCOP-NEW-1")
    assert approved.status is ListingStatus.ACTIVE
    assert harness.sandbox.store.creates[(SELLER, "OCOP-NEW-1")] == 1


async def test_rejected_review_reports_the_reason(harness: Harness) -> None:
    """A create the reviewer rejects shows as rejected with a reason, not as live."""
    await harness.adapter.create(draft(REJECT_SKU))
    harness.sandbox.clock.advance(QC_DELAY_S + 1)
    harness.sandbox.tick_reviews()
    listing = await found(harness.adapter, REJECT_SKU)
    assert listing.qc_status is QcStatus.REJECTED
    assert listing.qc_reason
    assert listing.status is not ListingStatus.ACTIVE


# -- writing --------------------------------------------------------------------------------


async def test_price_stock_batch_with_partial_failure_is_reported_per_sku(harness: Harness) -> None:
    """Each SKU of a batch gets its own result; failed ones are unchanged, OK ones changed, and a resend of
    only the failed ones completes the batch. (Lazada fails a whole call for one bad SKU, so there every
    result may be non-OK; Voso and Tiki apply the rest.)"""
    size = min(20, type(harness.adapter).capabilities.write_batch_size)
    skus = harness.seed(size)
    refs = {sku: (await found(harness.adapter, sku)).ref for sku in skus}
    before = {sku: (x.price, x.stock) for sku in skus if (x := harness.sandbox.store.find(SELLER, sku))}
    batch = [PriceStockUpdate(ref=refs[s], price_vnd=200_000 + i * 1000, stock=7 + i) for i, s in enumerate(skus)]
    harness.sandbox.faults.set_spec(FaultSpec(partial_batch_rate=0.4, seed=11))
    results = await harness.adapter.set_price_stock(batch)
    harness.sandbox.faults.set_spec(FaultSpec())
    assert sorted(r.seller_sku for r in results) == sorted(skus)
    failed = [r for r in results if r.outcome is not ItemOutcome.OK]
    assert failed, "partial_batch_rate=0.4 over 20 SKUs must fail some"
    assert all(r.code or r.message for r in failed)
    wanted = {u.ref.seller_sku: (u.price_vnd, u.stock) for u in batch}
    for r in results:
        stored = harness.sandbox.store.find(SELLER, r.seller_sku)
        assert stored is not None
        expected = wanted[r.seller_sku] if r.outcome is ItemOutcome.OK else before[r.seller_sku]
        assert (stored.price, stored.stock) == expected, r
    # what the engine does next: resend only the SKUs that did not go through
    retry = [u for u in batch if u.ref.seller_sku in {r.seller_sku for r in failed}]
    assert all(r.outcome is ItemOutcome.OK for r in await harness.adapter.set_price_stock(retry))
    for sku, values in wanted.items():
        stored = harness.sandbox.store.find(SELLER, sku)
        assert stored is not None and (stored.price, stored.stock) == values


async def test_update_content_changes_the_listing(harness: Harness) -> None:
    """Content pushed by update_content is what the marketplace shows afterwards (once reviewed)."""
    harness.seed(2)
    ref = (await found(harness.adapter, "OCOP-0001")).ref
    content = draft("OCOP-0001", title="Khô cá lóc An Giang 500g - OCOP 4 sao").content
    result = await harness.adapter.update_content(ref, content)
    assert result.seller_sku == "OCOP-0001" and result.outcome is ItemOutcome.OK
    harness.sandbox.clock.advance(QC_DELAY_S + 1)
    harness.sandbox.tick_reviews()
    listing = await found(harness.adapter, "OCOP-0001")
    assert listing.content.title == "Khô cá lóc An Giang 500g - OCOP 4 sao"


async def test_deactivate_and_reactivate(harness: Harness) -> None:
    """set_active(False) takes listings down, set_active(True) brings them back; one result per SKU."""
    skus = harness.seed(3)
    refs = [(await found(harness.adapter, s)).ref for s in skus]
    down = await harness.adapter.set_active(refs, False)
    assert sorted((r.seller_sku, r.outcome) for r in down) == [(s, ItemOutcome.OK) for s in skus]
    for s in skus:
        assert (await found(harness.adapter, s)).status is ListingStatus.INACTIVE
        stored = harness.sandbox.store.find(SELLER, s)
        assert stored is not None and stored.status == "inactive"
    up = await harness.adapter.set_active(refs, True)
    assert sorted((r.seller_sku, r.outcome) for r in up) == [(s, ItemOutcome.OK) for s in skus]
    for s in skus:
        assert (await found(harness.adapter, s)).status is ListingStatus.ACTIVE


async def test_write_accepted_but_not_applied_is_visible_on_reread(harness: Harness) -> None:
    """A write the marketplace acknowledges but drops returns OK; only a re-read shows the old value."""
    harness.seed(1)
    ref = (await found(harness.adapter, "OCOP-0000")).ref
    harness.sandbox.faults.set_spec(FaultSpec(not_applied_rate=1.0))
    results = await harness.adapter.set_price_stock([PriceStockUpdate(ref=ref, price_vnd=333_000, stock=3)])
    harness.sandbox.faults.set_spec(FaultSpec())
    assert [r.outcome for r in results] == [ItemOutcome.OK]
    listing = await found(harness.adapter, "OCOP-0000")
    assert (listing.price_vnd, listing.stock) == (50_000, 50)


# -- orders ---------------------------------------------------------------------------------


async def test_orders_are_listed_with_quantities_and_filtered_by_since(harness: Harness) -> None:
    """Buyer orders placed in the sandbox come back as order lines; `since` drops older ones."""
    harness.seed(3)
    store, clock = harness.sandbox.store, harness.sandbox.clock
    first = store.place_order(SELLER, "OCOP-0000", 2, clock.now())
    harness.seed(1, prefix="OTHER", seller_id=OTHER_SELLER)
    store.place_order(OTHER_SELLER, "OTHER-0000", 1, clock.now())
    clock.advance(120)
    since = clock.now()
    clock.advance(120)
    second = store.place_order(SELLER, "OCOP-0002", 3, clock.now())
    lines = await all_orders(harness.adapter)
    units: dict[tuple[str, str], int] = {}  # per order and SKU (Lazada lists each unit as its own line)
    for line in lines:
        units[(line.order_id, line.seller_sku)] = units.get((line.order_id, line.seller_sku), 0) + line.quantity
    assert units == {(first.order_id, "OCOP-0000"): 2, (second.order_id, "OCOP-0002"): 3}
    recent = await all_orders(harness.adapter, since)
    assert {line.order_id for line in recent} == {second.order_id}


# -- auth -------------------------------------------------------------------------------------


async def test_expired_token_raises_auth_expired_then_refresh_recovers(harness: Harness) -> None:
    """Past the token lifetime a call fails with AuthExpired; after refresh_auth the same call works."""
    harness.seed(1)
    await found(harness.adapter, "OCOP-0000")
    harness.sandbox.clock.advance(TOKEN_TTL_S + 60)
    with pytest.raises(AuthExpired):
        await harness.adapter.get_listing("OCOP-0000")
    info = await harness.adapter.refresh_auth()
    assert info.access_expires_at is not None
    assert harness.adapter.token_info() == info
    await found(harness.adapter, "OCOP-0000")


async def test_exported_tokens_resume_a_new_adapter(harness: Harness) -> None:
    """Tokens exported after auth let a fresh adapter work without a person re-authorising."""
    harness.seed(1)
    await harness.adapter.refresh_auth()
    tokens = harness.adapter.export_tokens()
    assert tokens
    fresh = harness.adapter_with(harness.factory.sandbox_credentials(SELLER))
    fresh.import_tokens(tokens)
    await found(fresh, "OCOP-0000")


async def test_wrong_credentials_are_rejected_by_the_sandbox(harness: Harness) -> None:
    """Altering any one credential makes the sandbox refuse the seller: AuthFailed, even after a refresh."""
    harness.seed(1)
    good = harness.factory.sandbox_credentials(SELLER)
    assert set(good) >= set(type(harness.adapter).credential_names)
    for name in sorted(good):
        altered = {**good, name: good[name] + "-wrong"}
        adapter = harness.adapter_with(altered)
        with pytest.raises(AuthFailed):
            await with_one_refresh(adapter, lambda a=adapter: a.get_listing("OCOP-0000"))  # type: ignore[misc]


# -- faults -------------------------------------------------------------------------------------


async def test_throttled_call_raises_rate_limited_with_retry_after(harness: Harness) -> None:
    """The marketplace's throttle response becomes RateLimited with a positive retry_after."""
    harness.seed(1)
    await harness.adapter.refresh_auth()
    harness.sandbox.faults.set_spec(FaultSpec(throttle_rate=1.0, retry_after_s=2.0))
    with pytest.raises(RateLimited) as caught:
        await harness.adapter.get_listing("OCOP-0000")
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert caught.value.retryable


async def test_malformed_response_raises_response_shape_error_naming_the_field(harness: Harness) -> None:
    """A reply missing a required field becomes ResponseShapeError with the field named."""
    harness.seed(3)
    await harness.adapter.refresh_auth()
    harness.sandbox.faults.set_spec(FaultSpec(malformed_rate=1.0))
    with pytest.raises(ResponseShapeError) as caught:
        await all_listings(harness.adapter)
    assert caught.value.field
    with pytest.raises(ResponseShapeError) as caught:
        await harness.adapter.get_listing("OCOP-0001")
    assert caught.value.field


async def test_no_call_outlives_the_client_timeout_under_30_percent_faults(make_harness: MakeHarness) -> None:
    """With 30% injected faults (hangs included), every adapter call ends within its timeout plus a margin."""
    timeout, margin = 0.5, 0.4
    h = await make_harness(client_timeout_s=timeout)
    skus = h.seed(60)
    await h.adapter.refresh_auth()
    refs = [(await found(h.adapter, s)).ref for s in skus[:4]]
    h.sandbox.faults.set_spec(FaultSpec(error_rate=0.1, timeout_rate=0.1, reset_rate=0.1, timeout_hang_s=5.0, seed=5))
    calls: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("get_listing", lambda: h.adapter.get_listing(skus[5])),
        (
            "set_price_stock",
            lambda: h.adapter.set_price_stock([PriceStockUpdate(ref=refs[0], price_vnd=61_000, stock=5)]),
        ),
        ("set_active", lambda: h.adapter.set_active(refs[1:3], False)),
        ("create", lambda: h.adapter.create(draft(f"OCOP-F-{time.monotonic_ns()}"))),
        ("list_orders", lambda: all_orders(h.adapter)),
    ]
    outcomes: dict[str, int] = {"ok": 0, "error": 0}
    for round_ in range(6):
        for name, call in calls:
            started = time.monotonic()
            try:
                await call()
                outcomes["ok"] += 1
            except AdapterError:
                outcomes["error"] += 1
            elapsed = time.monotonic() - started
            assert elapsed < timeout + margin, f"{name} (round {round_}) took {elapsed:.2f}s"
        pages: AsyncIterator[ListingsPage] = h.adapter.list_listings().__aiter__()
        more = True
        while more:
            started = time.monotonic()
            try:
                await pages.__anext__()
                outcomes["ok"] += 1
            except StopAsyncIteration:
                more = False
            except AdapterError:
                outcomes["error"] += 1
                more = False
            elapsed = time.monotonic() - started
            assert elapsed < timeout + margin, f"a listing page (round {round_}) took {elapsed:.2f}s"
    assert outcomes["ok"] and outcomes["error"], outcomes


async def test_sellers_are_isolated(harness: Harness) -> None:
    """One seller's adapter never sees or changes another seller's listings."""
    harness.seed(2, prefix="OTHER", seller_id=OTHER_SELLER)
    assert await harness.adapter.get_listing("OTHER-0000") is None
    other = harness.adapter_with(harness.factory.sandbox_credentials(OTHER_SELLER), seller_id=OTHER_SELLER)
    listing = await found(other, "OTHER-0000")
    assert listing.ref.external_id
    assert {x.seller_sku for x in await all_listings(other)} == {"OTHER-0000", "OTHER-0001"}
