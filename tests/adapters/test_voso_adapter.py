"""Voso-specific behaviour of `VosoAdapter` beyond the shared contract, against `VosoSandbox` over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from contract_kit import SANDBOX_BASE_URL, SELLER, draft, shop_config
from pydantic import SecretStr

from adapters.base import AdapterConfig
from adapters.errors import (
    AmbiguousWrite,
    AuthExpired,
    ConfigError,
    RateLimited,
    Rejected,
    TransientError,
)
from adapters.sandbox import FaultSpec, SandboxListing, SandboxOptions, SandboxTransport, SellerAccount
from adapters.voso import VosoAdapter
from adapters.voso.sandbox import VosoSandbox
from schemas.listing import ItemOutcome, ListingRef, ListingStatus, PriceStockUpdate, QcStatus

pytestmark = pytest.mark.timeout(30)


class Shop:
    """A Voso sandbox with seller S1 and an adapter talking to it in-process."""

    def __init__(self, sandbox: VosoSandbox, http: httpx.AsyncClient) -> None:
        self.sandbox = sandbox
        self.http = http
        self.adapter = VosoAdapter.from_config(shop_config("voso", VosoAdapter.sandbox_credentials(SELLER)), http)

    def seed(self, count: int, *, minutes_ago: float = 60) -> list[SandboxListing]:
        """Approved, active listings last changed `minutes_ago`."""
        at = self.sandbox.clock.now().replace(microsecond=0)
        rows = []
        for i in range(count):
            listing = SandboxListing(
                seller_id=SELLER,
                seller_sku=f"VS-{i:03d}",
                item_id=self.sandbox.store.next_id(),
                sku_id=self.sandbox.store.next_id(),
                title=f"Gạo thơm Tịnh Biên {i}",
                price=30_000,
                stock=10,
                created_at=at - timedelta(minutes=minutes_ago),
                updated_at=at - timedelta(minutes=minutes_ago),
                images=["https://img.ocop.example.vn/gao.jpg"],
                category=1,
            )
            self.sandbox.store.shop(SELLER)[listing.seller_sku] = listing
            rows.append(listing)
        return rows


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    """A fresh Voso sandbox and adapter for seller S1."""
    sellers = (SellerAccount(seller_id=SELLER, credentials=VosoAdapter.sandbox_credentials(SELLER)),)
    sandbox = VosoAdapter.create_sandbox(
        SandboxOptions(sellers=sellers, rate_limit_per_s=10_000, qc_delay_s=300, token_ttl_s=3600)
    )
    async with httpx.AsyncClient(
        transport=SandboxTransport(sandbox.app), base_url=SANDBOX_BASE_URL, timeout=5.0
    ) as http:
        yield Shop(sandbox, http)


def test_missing_credentials_fail_at_construction() -> None:
    """A shop without its password is a configuration error naming the credential, before any call."""
    config = AdapterConfig(
        marketplace="voso",
        shop_id="voso-x",
        seller_id=SELLER,
        base_url=SANDBOX_BASE_URL,
        credentials={"username": SecretStr("u")},
    )
    with pytest.raises(ConfigError, match="password"):
        VosoAdapter.from_config(config, httpx.AsyncClient())


def test_sandbox_credentials_are_deterministic_and_per_seller() -> None:
    """The same seller always gets the same sandbox login; different sellers get different ones."""
    assert VosoAdapter.sandbox_credentials("A") == VosoAdapter.sandbox_credentials("A")
    assert VosoAdapter.sandbox_credentials("A") != VosoAdapter.sandbox_credentials("B")
    assert set(VosoAdapter.sandbox_credentials("A")) == set(VosoAdapter.credential_names)


async def test_repeated_create_updates_instead_of_duplicating(shop: Shop) -> None:
    """Upsert by seller SKU: a second create with the same SKU changes the listing and counts no create."""
    first = await shop.adapter.create(draft("VS-NEW", price=100_000))
    second = await shop.adapter.create(draft("VS-NEW", price=110_000, title="Mắm cá linh Châu Đốc"))
    assert first.ref == second.ref
    assert shop.sandbox.store.creates[(SELLER, "VS-NEW")] == 1
    listing = await shop.adapter.get_listing("VS-NEW")
    assert listing is not None
    assert (listing.price_vnd, listing.content.title) == (110_000, "Mắm cá linh Châu Đốc")
    assert listing.qc_status is QcStatus.PENDING and listing.status is ListingStatus.INACTIVE


async def test_listing_with_since_deduplicates_rows_pushed_on_by_mid_scroll_edits(shop: Shop) -> None:
    """Edits during an `updated_since` scroll repeat rows on the wire; the adapter yields each SKU once."""
    rows = shop.seed(260)
    since = shop.sandbox.clock.now()
    for listing in rows[100:]:
        listing.updated_at = since
    wanted = {x.seller_sku for x in rows[100:]}
    yielded: list[str] = []
    async for page in shop.adapter.list_listings(since):
        yielded += [x.seller_sku for x in page.listings]
        for listing in rows[:3]:  # older rows enter the filtered set ahead of the cursor
            listing.updated_at = shop.sandbox.clock.now()
    assert len(yielded) == len(set(yielded))
    assert wanted <= set(yielded)


async def test_validation_refusals_name_the_field(shop: Shop) -> None:
    """Voso's VALIDATION_ERROR becomes Rejected with the field and a reason."""
    with pytest.raises(Rejected) as caught:
        await shop.adapter.create(draft("VS-CHEAP", price=500))
    assert caught.value.field == "price" and caught.value.reason
    no_images = draft("VS-NOIMG").model_copy(
        update={"content": draft("VS-NOIMG").content.model_copy(update={"images": ()})}
    )
    with pytest.raises(Rejected) as caught:
        await shop.adapter.create(no_images)
    assert caught.value.field == "images"
    assert shop.sandbox.store.creates[(SELLER, "VS-CHEAP")] == 0


async def test_update_content_never_creates(shop: Shop) -> None:
    """Content for an unknown SKU is refused per item (PRODUCT_NOT_FOUND), and nothing is created."""
    result = await shop.adapter.update_content(ListingRef(seller_sku="VS-GHOST"), draft("VS-GHOST").content)
    assert (result.outcome, result.code) == (ItemOutcome.REJECTED, "PRODUCT_NOT_FOUND")
    assert shop.sandbox.store.find(SELLER, "VS-GHOST") is None


async def test_batch_items_map_to_rejected_or_failed(shop: Shop) -> None:
    """An unknown SKU is REJECTED, a bad quantity names its field, a busy item is FAILED (retry it)."""
    shop.seed(2)
    batch = [
        PriceStockUpdate(ref=ListingRef(seller_sku="VS-000"), price_vnd=40_000, stock=5),
        PriceStockUpdate(ref=ListingRef(seller_sku="VS-404"), price_vnd=40_000, stock=5),
    ]
    shop.sandbox.store.shop(SELLER)["VS-001"].reserved = 4
    batch.append(PriceStockUpdate(ref=ListingRef(seller_sku="VS-001"), price_vnd=40_000, stock=3))
    results = {r.seller_sku: r for r in await shop.adapter.set_price_stock(batch)}
    assert results["VS-000"].outcome is ItemOutcome.OK
    assert (results["VS-404"].outcome, results["VS-404"].code) == (ItemOutcome.REJECTED, "PRODUCT_NOT_FOUND")
    assert (results["VS-001"].outcome, results["VS-001"].field) == (ItemOutcome.REJECTED, "quantity")
    shop.sandbox.faults.set_spec(FaultSpec(partial_batch_rate=1.0))
    busy = await shop.adapter.set_price_stock(batch[:1])
    assert (busy[0].outcome, busy[0].code) == (ItemOutcome.FAILED, "SYSTEM_BUSY")


async def test_batches_over_100_are_refused_before_sending(shop: Shop) -> None:
    """The adapter never sends more than Voso's batch limit."""
    batch = [PriceStockUpdate(ref=ListingRef(seller_sku=f"VS-{i}"), price_vnd=1000, stock=1) for i in range(101)]
    with pytest.raises(ValueError, match="100"):
        await shop.adapter.set_price_stock(batch)
    assert shop.sandbox.log == []


async def test_activate_before_approval_is_refused(shop: Shop) -> None:
    """A pending listing cannot be put live: NOT_APPROVED, per item."""
    created = await shop.adapter.create(draft("VS-PEND"))
    [result] = await shop.adapter.set_active([created.ref], True)
    assert (result.outcome, result.code) == (ItemOutcome.REJECTED, "NOT_APPROVED")


async def test_approved_create_goes_live_and_rejection_carries_reason(shop: Shop) -> None:
    """After the review delay a listing created active is live; a rejected one says why and on which field."""
    shop.sandbox.options = shop.sandbox.options.model_copy(update={"qc_reject_skus": ("VS-BAD",)})
    await shop.adapter.create(draft("VS-OK"))
    await shop.adapter.create(draft("VS-BAD"))
    shop.sandbox.clock.advance(301)
    ok, bad = await shop.adapter.get_listing("VS-OK"), await shop.adapter.get_listing("VS-BAD")
    assert ok is not None and bad is not None
    assert (ok.qc_status, ok.status) == (QcStatus.APPROVED, ListingStatus.ACTIVE)
    assert (bad.qc_status, bad.status) == (QcStatus.REJECTED, ListingStatus.INACTIVE)
    assert bad.qc_reason and bad.qc_field == "images"


@pytest.mark.parametrize("http_date", [False, True])
async def test_server_errors_are_transient_with_retry_after_in_either_form(shop: Shop, http_date: bool) -> None:
    """HTTP 500/503 become TransientError; Retry-After is honoured as seconds or as an HTTP-date."""
    shop.seed(1)
    await shop.adapter.refresh_auth()
    shop.sandbox.faults.set_spec(FaultSpec(error_rate=1.0, retry_after_s=30, retry_after_http_date=http_date))
    with pytest.raises(TransientError) as caught:
        await shop.adapter.get_listing("VS-000")
    assert caught.value.http_status in (500, 503)
    assert caught.value.retry_after is not None and 25 <= caught.value.retry_after <= 31
    shop.sandbox.faults.set_spec(FaultSpec(throttle_rate=1.0, retry_after_s=7, retry_after_http_date=http_date))
    with pytest.raises(RateLimited) as throttled:
        await shop.adapter.get_listing("VS-000")
    assert throttled.value.retry_after is not None and 5 <= throttled.value.retry_after <= 8
    assert throttled.value.code == "RATE_LIMIT"


async def test_outage_is_transient_503(shop: Shop) -> None:
    """A maintenance outage is a retryable 503, also at login."""
    shop.sandbox.faults.set_spec(FaultSpec(outage=True))
    with pytest.raises(TransientError) as caught:
        await shop.adapter.get_listing("VS-000")
    assert caught.value.http_status == 503 and caught.value.retryable


async def test_lost_reply_after_committed_write_is_an_ambiguous_write(shop: Shop) -> None:
    """When the reply to a committed write is lost, the adapter says the outcome is unknown."""
    shop.seed(1)
    await shop.adapter.refresh_auth()
    shop.sandbox.faults.set_spec(FaultSpec(lost_response_rate=1.0))
    update = PriceStockUpdate(ref=ListingRef(seller_sku="VS-000"), price_vnd=45_000, stock=9)
    with pytest.raises(AmbiguousWrite):
        await shop.adapter.set_price_stock([update])
    stored = shop.sandbox.store.find(SELLER, "VS-000")
    assert stored is not None and (stored.price, stored.stock) == (45_000, 9)


async def test_a_stale_imported_token_is_auth_expired_until_refreshed(shop: Shop) -> None:
    """A token the server does not know means AuthExpired; logging in again fixes it."""
    shop.seed(1)
    shop.adapter.import_tokens({"token": "vtk_stale", "expires_at": "2030-01-01T00:00:00+00:00"})
    with pytest.raises(AuthExpired):
        await shop.adapter.get_listing("VS-000")
    await shop.adapter.refresh_auth()
    assert await shop.adapter.get_listing("VS-000") is not None
    assert "password" not in shop.adapter.export_tokens()


async def test_token_info_reports_expiry_after_login(shop: Shop) -> None:
    """No expiry is known before logging in; afterwards it is about the token lifetime away."""
    assert shop.adapter.token_info().access_expires_at is None
    info = await shop.adapter.refresh_auth()
    assert info.access_expires_at is not None
    remaining = (info.access_expires_at - shop.sandbox.clock.now()).total_seconds()
    assert 3500 < remaining <= 3600


async def test_simulated_buyers_place_orders_that_reduce_stock(shop: Shop) -> None:
    """With buyers_per_minute set, orders appear as simulated time passes, and stock drops."""
    shop.sandbox.options = shop.sandbox.options.model_copy(update={"buyers_per_minute": 2.0})
    shop.seed(3)
    assert [x async for page in shop.adapter.list_orders() for x in page.lines] == []
    shop.sandbox.clock.advance(150)
    lines = [x async for page in shop.adapter.list_orders() for x in page.lines]
    assert len(lines) == 5
    assert sum(x.stock for x in shop.sandbox.store.shop(SELLER).values()) == 30 - 5
