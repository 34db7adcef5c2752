"""Tiki adapter flows against the sandbox: review requests, batch updates, inventory, paging, orders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from adapters.base import AdapterConfig
from adapters.sandbox import FaultSpec, SandboxListing, SandboxOptions, SandboxTransport
from adapters.tiki import TikiAdapter
from adapters.tiki.sandbox import TikiSandbox
from schemas.listing import (
    ItemOutcome,
    Listing,
    ListingContent,
    ListingDraft,
    ListingRef,
    ListingStatus,
    OrderLine,
    PriceStockUpdate,
    QcStatus,
)

pytestmark = pytest.mark.timeout(60)

SELLER = "T1"
QC_DELAY = 400.0


async def rig(sandbox: TikiSandbox, **options: Any) -> tuple[TikiSandbox, TikiAdapter, httpx.AsyncClient]:
    """An adapter for seller T1 wired to `sandbox` over in-process HTTP."""
    http = httpx.AsyncClient(transport=SandboxTransport(sandbox.app), base_url="http://tiki.sandbox")
    creds = TikiAdapter.sandbox_credentials(SELLER)
    config = AdapterConfig(
        marketplace="tiki",
        shop_id="tiki-flows",
        seller_id=SELLER,
        base_url="http://tiki.sandbox",
        credentials={k: SecretStr(v) for k, v in creds.items()},
        options=options,
    )
    return sandbox, TikiAdapter.from_config(config, http), http


@pytest.fixture
async def tiki() -> AsyncIterator[tuple[TikiSandbox, TikiAdapter]]:
    """The default rig: a review delay and one SKU the reviewers always reject."""
    options = SandboxOptions(seed=5, qc_delay_s=QC_DELAY, qc_reject_skus=("TK-BAD",), rate_limit_per_s=100_000)
    sandbox, adapter, http = await rig(TikiSandbox(options))
    yield sandbox, adapter
    await http.aclose()


def seed(sandbox: TikiSandbox, count: int, *, reserved: int = 0) -> list[str]:
    """Active products put straight into the store, oldest first."""
    now = sandbox.clock.now()
    skus = []
    for i in range(count):
        sku = f"TK-{i:04d}"
        at = now - timedelta(seconds=count - i + 60)
        sandbox.store.shop(SELLER)[sku] = SandboxListing(
            seller_id=SELLER,
            seller_sku=sku,
            item_id=sandbox.store.next_id(),
            sku_id=sandbox.store.next_id(),
            title=f"Khô cá tra phồng {i}",
            price=60_000,
            stock=10,
            reserved=reserved,
            created_at=at,
            updated_at=at,
        )
        skus.append(sku)
    return skus


def draft(sku: str) -> ListingDraft:
    """A valid listing with every content field we own set."""
    content = ListingContent(
        title="Gạo ST25 Sóc Trăng 5kg",
        description="Gạo OCOP 5 sao.",
        images=("https://img.example.vn/st25-1.jpg", "https://img.example.vn/st25-2.jpg"),
        brand="HTX Gạo ST",
        category_key=3,
        unit="túi",
        weight_g=5000,
        barcode="8930000000017",
        attributes={"ocop_stars": "5"},
    )
    return ListingDraft(seller_sku=sku, content=content, price_vnd=180_000, stock=25)


async def listed(adapter: TikiAdapter, since: Any = None) -> dict[str, Listing]:
    """Every listing yielded, by SKU; a SKU yielded twice fails the test."""
    out: dict[str, Listing] = {}
    async for page in adapter.list_listings(since):
        for listing in page.listings:
            assert listing.seller_sku not in out, f"{listing.seller_sku} yielded twice"
            out[listing.seller_sku] = listing
    return out


def advance(sandbox: TikiSandbox, seconds: float) -> None:
    """Move the sandbox clock and let reviews progress."""
    sandbox.clock.advance(seconds)
    sandbox.tick_reviews()


# -- review requests ----------------------------------------------------------------------------


async def test_create_walks_the_request_states_then_approves_an_inactive_product(
    tiki: tuple[TikiSandbox, TikiAdapter],
) -> None:
    sandbox, adapter = tiki
    result = await adapter.create(draft("TK-NEW"))
    track_id = result.ref.request_id
    assert track_id and result.qc_status is QcStatus.PENDING
    [request] = sandbox.requests.values()
    assert (request.state, request.track_id) == ("queuing", track_id)
    states = []
    for _ in range(4):
        advance(sandbox, QC_DELAY / 5)
        states.append(request.state)
    assert states == ["processing", "drafted", "bot_awaiting_approve", "awaiting_approve"]
    pending = await adapter.get_listing("TK-NEW")
    assert pending is not None and pending.qc_status is QcStatus.PENDING and pending.ref.request_id == track_id
    assert pending.content == draft("TK-NEW").content and pending.price_vnd == 180_000
    advance(sandbox, QC_DELAY)
    approved = await adapter.get_listing("TK-NEW")
    assert approved is not None and approved.qc_status is QcStatus.APPROVED
    assert approved.status is ListingStatus.INACTIVE and approved.ref.external_id
    assert approved.content == draft("TK-NEW").content, "content must round-trip or the engine sees drift forever"
    assert (approved.price_vnd, approved.stock) == (180_000, 25)
    [ok] = await adapter.set_active([approved.ref], True)
    assert ok.outcome is ItemOutcome.OK
    live = await adapter.get_listing("TK-NEW")
    assert live is not None and live.status is ListingStatus.ACTIVE


async def test_rejected_request_carries_its_reason_and_a_new_request_supersedes_it(
    tiki: tuple[TikiSandbox, TikiAdapter],
) -> None:
    sandbox, adapter = tiki
    await adapter.create(draft("TK-BAD"))
    advance(sandbox, QC_DELAY + 1)
    rejected = await adapter.get_listing("TK-BAD")
    assert rejected is not None and rejected.qc_status is QcStatus.REJECTED
    assert "images" in rejected.qc_reason and rejected.qc_field == "images"
    assert rejected.status is ListingStatus.INACTIVE
    assert (await listed(adapter))["TK-BAD"].qc_status is QcStatus.REJECTED
    sandbox.options = sandbox.options.model_copy(update={"qc_reject_skus": ()})
    second = await adapter.create(draft("TK-BAD"))
    again = await adapter.get_listing("TK-BAD")
    assert again is not None and again.qc_status is QcStatus.PENDING
    assert again.ref.request_id == second.ref.request_id
    rejected_request = next(r for r in sandbox.requests.values() if r.state == "rejected")
    advance(sandbox, QC_DELAY + 1)
    assert rejected_request.state == "rejected", "a rejected request is immutable"
    final = await adapter.get_listing("TK-BAD")
    assert final is not None and final.qc_status is QcStatus.APPROVED


async def test_pending_creates_are_listed_so_the_engine_never_creates_twice(
    tiki: tuple[TikiSandbox, TikiAdapter],
) -> None:
    sandbox, adapter = tiki
    seed(sandbox, 3)
    await adapter.create(draft("TK-NEW"))
    listings = await listed(adapter)
    assert set(listings) == {"TK-0000", "TK-0001", "TK-0002", "TK-NEW"}
    assert listings["TK-NEW"].qc_status is QcStatus.PENDING and listings["TK-NEW"].ref.request_id
    advance(sandbox, QC_DELAY + 1)
    listings = await listed(adapter)
    assert listings["TK-NEW"].qc_status is QcStatus.APPROVED and listings["TK-NEW"].ref.external_id


async def test_content_update_is_pending_until_reviewed(tiki: tuple[TikiSandbox, TikiAdapter]) -> None:
    sandbox, adapter = tiki
    seed(sandbox, 2)
    before = await adapter.get_listing("TK-0001")
    assert before is not None
    result = await adapter.update_content(before.ref, draft("TK-0001").content)
    assert result.outcome is ItemOutcome.OK and result.message
    pending = await adapter.get_listing("TK-0001")
    assert pending is not None and pending.qc_status is QcStatus.PENDING
    assert pending.content.title == before.content.title, "content is not live before review"
    assert (await listed(adapter))["TK-0001"].qc_status is QcStatus.PENDING
    advance(sandbox, QC_DELAY + 1)
    after = await adapter.get_listing("TK-0001")
    assert after is not None and after.qc_status is QcStatus.APPROVED
    assert after.content == draft("TK-0001").content


async def test_rejected_content_update_is_reported_until_a_later_one_is_approved(
    tiki: tuple[TikiSandbox, TikiAdapter],
) -> None:
    sandbox, adapter = tiki
    seed(sandbox, 1)
    ref = ListingRef(seller_sku="TK-0000")
    sandbox.options = sandbox.options.model_copy(update={"qc_reject_skus": ("TK-0000",)})
    await adapter.update_content(ref, draft("TK-0000").content)
    advance(sandbox, QC_DELAY + 1)
    assert (await listed(adapter))["TK-0000"].qc_status is QcStatus.REJECTED
    sandbox.options = sandbox.options.model_copy(update={"qc_reject_skus": ()})
    await adapter.update_content(ref, draft("TK-0000").content)
    advance(sandbox, QC_DELAY + 1)
    assert (await listed(adapter))["TK-0000"].qc_status is QcStatus.APPROVED
    found = await adapter.get_listing("TK-0000")
    assert found is not None and found.qc_status is QcStatus.APPROVED


# -- price, stock and inventory ------------------------------------------------------------------


async def test_update_skus_reports_partial_failure_per_sku(tiki: tuple[TikiSandbox, TikiAdapter]) -> None:
    sandbox, adapter = tiki
    skus = seed(sandbox, 20)
    sandbox.faults.set_spec(FaultSpec(partial_batch_rate=0.3, seed=4))
    batch = [PriceStockUpdate(ref=ListingRef(seller_sku=s), price_vnd=70_000, stock=3) for s in skus]
    batch[5] = PriceStockUpdate(ref=ListingRef(seller_sku=skus[5]), price_vnd=100, stock=3)
    results = await adapter.set_price_stock(batch)
    assert [r.seller_sku for r in results] == skus
    by_outcome = {o: [r for r in results if r.outcome is o] for o in ItemOutcome}
    assert by_outcome[ItemOutcome.OK] and by_outcome[ItemOutcome.FAILED]
    for r in results:
        stored = sandbox.store.find(SELLER, r.seller_sku)
        assert stored is not None
        assert (stored.price == 70_000) == (r.outcome is ItemOutcome.OK)
    if results[5].outcome is not ItemOutcome.FAILED:
        assert results[5].outcome is ItemOutcome.REJECTED and results[5].field == "price"


async def test_large_batches_are_split_to_the_update_skus_limit(tiki: tuple[TikiSandbox, TikiAdapter]) -> None:
    sandbox, adapter = tiki
    skus = seed(sandbox, 120)
    batch = [PriceStockUpdate(ref=ListingRef(seller_sku=s), price_vnd=65_000, stock=1) for s in skus]
    results = await adapter.set_price_stock(batch)
    assert all(r.outcome is ItemOutcome.OK for r in results) and len(results) == 120
    assert sum(1 for e in sandbox.log if e.operation == "update_skus") == 3


async def test_stock_is_quantity_available_including_reserved(tiki: tuple[TikiSandbox, TikiAdapter]) -> None:
    sandbox, adapter = tiki
    seed(sandbox, 1, reserved=3)
    listing = await adapter.get_listing("TK-0000")
    assert listing is not None and listing.stock == 13  # 10 sellable + 3 reserved
    await adapter.set_price_stock([PriceStockUpdate(ref=listing.ref, price_vnd=60_000, stock=8)])
    stored = sandbox.store.find(SELLER, "TK-0000")
    assert stored is not None and (stored.stock, stored.reserved) == (5, 3)
    again = await adapter.get_listing("TK-0000")
    assert again is not None and again.stock == 8


# -- paging -------------------------------------------------------------------------------------


async def test_deep_paging_cap_is_passed_by_windowing_on_created_at() -> None:
    sandbox, adapter, http = await rig(TikiSandbox(SandboxOptions(), deep_paging_cap=100), page_size=20)
    adapter.deep_paging_cap = 100
    skus = seed(sandbox, 250)
    assert set(await listed(adapter)) == set(skus)
    windows = [e for e in sandbox.log if e.operation == "list_products"]
    assert len(windows) >= 13
    await http.aclose()


async def test_scroll_survives_data_changing_between_every_page() -> None:
    sandbox, adapter, http = await rig(TikiSandbox(SandboxOptions(seed=2)), page_size=25)
    skus = seed(sandbox, 200)
    sandbox.faults.set_spec(FaultSpec(page_drift_rate=1.0, seed=2))
    since = sandbox.clock.now() - timedelta(days=1)
    assert set(await listed(adapter, since)) == set(skus)
    assert set(await listed(adapter)) == set(skus)
    await http.aclose()


# -- orders -------------------------------------------------------------------------------------


async def test_orders_are_deduplicated_across_shifting_pages_and_cancellations_shown(
    tiki: tuple[TikiSandbox, TikiAdapter],
) -> None:
    sandbox, adapter = tiki
    seed(sandbox, 3)
    small = TikiAdapter(adapter.client, {"page_size": 2})
    for i in range(5):
        sandbox.store.place_order(SELLER, f"TK-000{i % 3}", 1, sandbox.clock.now())
        sandbox.clock.advance(1)
    sandbox.store.orders[0].cancelled = True
    lines: list[OrderLine] = []
    async for page in small.list_orders():
        lines.extend(page.lines)
        sandbox.store.place_order(SELLER, "TK-0000", 1, sandbox.clock.now())  # a new order arrives mid-scroll
    keys = [(x.order_id, x.line_id) for x in lines]
    assert len(keys) == len(set(keys))
    assert {o.order_id for o in sandbox.store.orders[:5]} <= {x.order_id for x in lines}
    cancelled = {x.order_id for x in lines if x.cancelled}
    assert cancelled == {sandbox.store.orders[0].order_id}
