"""The Lazada adapter against its sandbox over real HTTP: gateway checks, tokens, faults and Lazada's shapes.

Most tests deliver requests in-process (`SandboxTransport`); one serves the sandbox with
uvicorn on 127.0.0.1. Raw requests are signed with `adapters.lazada.signing`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from adapters.base import AdapterConfig
from adapters.errors import (
    AdapterError,
    AmbiguousWrite,
    AuthExpired,
    AuthFailed,
    RateLimited,
    Rejected,
    ResponseShapeError,
    TransientError,
)
from adapters.lazada import LazadaAdapter
from adapters.lazada.client import LazadaClient
from adapters.lazada.sandbox import LazadaSandbox
from adapters.lazada.signing import sign, signed_params
from adapters.sandbox import FaultSpec, SandboxListing, SandboxOptions, SandboxTransport, SellerAccount
from schemas.listing import ItemOutcome, ListingContent, ListingDraft, ListingRef, PriceStockUpdate, QcStatus

pytestmark = pytest.mark.timeout(60)

SELLER = "L1"
BASE = "http://lazada.sandbox"
CREDS = LazadaAdapter.sandbox_credentials(SELLER)


@dataclass
class Rig:
    """A Lazada sandbox, an HTTP client into it, and an adapter for seller L1."""

    sandbox: LazadaSandbox
    http: httpx.AsyncClient
    adapter: LazadaAdapter

    def seed(self, count: int, *, at: datetime | None = None, prefix: str = "LZ") -> list[str]:
        """Put `count` active listings into the store, all updated at `at` (default: one per second, past)."""
        now = self.sandbox.clock.now()
        skus = []
        for i in range(count):
            sku = f"{prefix}-{i:04d}"
            when = at or now - timedelta(seconds=count - i + 10)
            self.sandbox.store.shop(SELLER)[sku] = SandboxListing(
                seller_id=SELLER,
                seller_sku=sku,
                item_id=self.sandbox.store.next_id(),
                sku_id=self.sandbox.store.next_id(),
                title=f"Bánh pía Sóc Trăng {i}",
                price=40_000 + i,
                stock=30,
                created_at=when,
                updated_at=when,
            )
            skus.append(sku)
        return skus

    def adapter_with(
        self, creds: dict[str, str] | None = None, *, http: httpx.AsyncClient | None = None
    ) -> LazadaAdapter:
        """Another adapter for L1, e.g. with altered credentials or another client."""
        config = AdapterConfig(
            marketplace="lazada",
            shop_id="lazada-test",
            seller_id=SELLER,
            base_url=BASE,
            credentials={k: SecretStr(v) for k, v in (creds or CREDS).items()},
        )
        return LazadaAdapter.from_config(config, http or self.http)

    async def raw(self, path: str, business: dict[str, str], *, token: bool = True, **change: str) -> dict[str, Any]:
        """Send a correctly signed GET (then apply `change`, e.g. a wrong sign) and return the JSON body."""
        response = await raw_call(
            self.http, BASE, path, business, token=await self.token() if token else None, **change
        )
        body: dict[str, Any] = response.json()
        return body

    async def token(self) -> str:
        """An access token for L1, obtained through the adapter."""
        await self.adapter.refresh_auth()
        return self.adapter.export_tokens()["access_token"]


async def raw_call(
    http: httpx.AsyncClient, base: str, path: str, business: dict[str, str], *, token: str | None, **change: str
) -> httpx.Response:
    """A signed GET to `base/rest<path>`, with `change` applied after signing."""
    params = signed_params(
        path,
        business,
        app_key=CREDS["app_key"],
        app_secret=CREDS["app_secret"],
        now=datetime.now(UTC),
        access_token=token,
    )
    params.update(change)
    return await http.get(f"{base}/rest{path}", params=params)


Build = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def build() -> AsyncIterator[Build]:
    """Build rigs; keyword arguments override SandboxOptions."""
    clients: list[httpx.AsyncClient] = []

    async def make(*, client_timeout_s: float = 5.0, **overrides: Any) -> Rig:
        options = SandboxOptions(
            sellers=(SellerAccount(seller_id=SELLER, credentials=CREDS),),
            seed=5,
            rate_limit_per_s=100_000,
            token_ttl_s=3600,
        ).model_copy(update=overrides)
        sandbox = LazadaAdapter.create_sandbox(options)
        http = httpx.AsyncClient(transport=SandboxTransport(sandbox.app), base_url=BASE, timeout=client_timeout_s)
        clients.append(http)
        rig = Rig(sandbox, http, LazadaAdapter.from_config(config_for(CREDS), http))
        return rig

    yield make
    for client in clients:
        await client.aclose()


def config_for(creds: dict[str, str]) -> AdapterConfig:
    """The test shop's config."""
    return AdapterConfig(
        marketplace="lazada",
        shop_id="lazada-test",
        seller_id=SELLER,
        base_url=BASE,
        credentials={k: SecretStr(v) for k, v in creds.items()},
    )


@pytest.fixture
async def rig(build: Build) -> Rig:
    """The default rig."""
    return await build()


# -- the gateway -----------------------------------------------------------------------------


async def test_signed_products_get_is_accepted_and_a_wrong_sign_is_refused(rig: Rig) -> None:
    """A correctly signed call answers code "0"; the same call with a wrong sign answers IncompleteSignature."""
    rig.seed(3)
    ok = await rig.raw("/products/get", {"filter": "all", "limit": "10"})
    assert ok["code"] == "0" and ok["data"]["total_products"] == 3
    assert all(isinstance(p["updated_time"], str) for p in ok["data"]["products"])
    bad = await rig.raw("/products/get", {"filter": "all"}, sign="0" * 64)
    assert (bad["code"], bad["type"]) == ("IncompleteSignature", "ISV") and bad["request_id"]
    tampered = await rig.raw("/products/get", {"filter": "all"}, filter="live")
    assert tampered["code"] == "IncompleteSignature"


async def test_gateway_checks_system_parameters_app_key_and_timestamp(rig: Rig) -> None:
    """Missing system parameters, unknown app keys and stale timestamps are refused with their codes."""
    token = await rig.token()
    params = signed_params(
        "/products/get",
        {},
        app_key=CREDS["app_key"],
        app_secret=CREDS["app_secret"],
        now=datetime.now(UTC),
        access_token=token,
    )
    for name in ("app_key", "timestamp", "sign_method", "sign", "access_token"):
        body = (
            await rig.http.get(f"{BASE}/rest/products/get", params={k: v for k, v in params.items() if k != name})
        ).json()
        assert body["code"] == "MissingParameter", name
        assert name in body["message"]
    unknown = (await raw_call(rig.http, BASE, "/products/get", {}, token=token, app_key="nobody")).json()
    assert unknown["code"] == "InvalidApiKey"
    old = datetime.now(UTC) - timedelta(hours=3)
    stale = signed_params(
        "/products/get", {}, app_key=CREDS["app_key"], app_secret=CREDS["app_secret"], now=old, access_token=token
    )
    assert (await rig.http.get(f"{BASE}/rest/products/get", params=stale)).json()["code"] == "InvalidTimestamp"
    iso = {k: v for k, v in params.items() if k != "sign"}
    iso["timestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    iso["sign"] = sign(CREDS["app_secret"], "/products/get", iso)
    assert (await rig.http.get(f"{BASE}/rest/products/get", params=iso)).json()["code"] == "0", (
        "ISO timestamps are valid"
    )
    unknown_path = (await raw_call(rig.http, BASE, "/no/such/api", {}, token=token)).json()
    assert unknown_path["code"] == "InvalidApiPath"


async def test_products_get_limits_filters_and_dates(rig: Rig) -> None:
    """limit > 50 is error 19, offset > 10000 error 14, an unknown filter 36, a bad date 17; all map to Rejected."""
    rig.seed(2)
    assert (await rig.raw("/products/get", {"limit": "51"}))["code"] == "19"
    assert (await rig.raw("/products/get", {"offset": "10001"}))["code"] == "14"
    assert (await rig.raw("/products/get", {"filter": "image-missing"}))["code"] == "36"
    assert (await rig.raw("/products/get", {"update_after": "yesterday"}))["code"] == "17"
    client = LazadaClient(
        rig.http,
        api_url=f"{BASE}/rest",
        auth_url=f"{BASE}/rest",
        app_key=CREDS["app_key"],
        app_secret=CREDS["app_secret"],
        clock=lambda: datetime.now(UTC),
    )
    with pytest.raises(Rejected) as caught:
        await client.call("/products/get", {"limit": "51"}, operation="list_listings", access_token=await rig.token())
    assert (caught.value.code, caught.value.field) == ("19", "limit")
    assert caught.value.request_id


# -- tokens ----------------------------------------------------------------------------------


async def test_token_expiry_then_refresh_rotates_tokens(rig: Rig) -> None:
    """After the access token's lifetime a call raises AuthExpired; refresh_auth issues new tokens and it works."""
    rig.seed(1)
    assert await rig.adapter.get_listing("LZ-0000") is not None  # lazily authenticated
    first = rig.adapter.export_tokens()
    rig.sandbox.clock.advance(3600 + 5)
    with pytest.raises(AuthExpired) as caught:
        await rig.adapter.get_listing("LZ-0000")
    assert caught.value.code == "IllegalAccessToken" and caught.value.request_id
    info = await rig.adapter.refresh_auth()
    second = rig.adapter.export_tokens()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert info.access_expires_at is not None and info.refresh_expires_at is not None
    assert await rig.adapter.get_listing("LZ-0000") is not None
    resumed = rig.adapter_with()
    resumed.import_tokens(second)
    assert await resumed.get_listing("LZ-0000") is not None
    assert "sbx-lzd-secret" not in repr(rig.adapter) and second["access_token"] not in repr(rig.adapter)


async def test_refresh_response_has_string_lifetimes_and_expired_refresh_tokens_fail(build: Build) -> None:
    """/auth/token/refresh returns expires_in as strings; a rotated refresh token dies after its lifetime."""
    rig = await build(refresh_ttl_s=7200)
    body = await rig.raw("/auth/token/refresh", {"refresh_token": CREDS["refresh_token"]}, token=False)
    assert body["code"] == "0"
    assert body["expires_in"] == "3600" and body["refresh_expires_in"] == "7200"
    assert body["country_user_info_list"][0]["seller_id"] == SELLER
    rig.adapter.import_tokens({"refresh_token": body["refresh_token"]})
    rig.sandbox.clock.advance(7200 + 1)
    with pytest.raises(AuthFailed) as caught:
        await rig.adapter.refresh_auth()
    assert caught.value.code == "IllegalRefreshToken"


async def test_authorisation_codes_are_single_use_and_expire(rig: Rig) -> None:
    """/auth/token/create exchanges a fresh code once; a used or 30-minute-old code is InvalidCode."""
    minted = (await rig.http.post(f"{BASE}/_sandbox/lazada/auth_code", json={"seller_id": SELLER})).json()["code"]
    created = await rig.raw("/auth/token/create", {"code": minted}, token=False)
    assert created["code"] == "0" and created["country_user_info"][0]["seller_id"] == SELLER
    assert isinstance(created["expires_in"], str)
    again = await rig.raw("/auth/token/create", {"code": minted}, token=False)
    assert again["code"] == "InvalidCode"
    late = rig.sandbox.issue_auth_code(SELLER)
    rig.sandbox.clock.advance(31 * 60)
    assert (await rig.raw("/auth/token/create", {"code": late}, token=False))["code"] == "InvalidCode"


# -- faults ----------------------------------------------------------------------------------


async def test_rate_limit_becomes_rate_limited_with_the_ban_length(build: Build) -> None:
    """Over the per-seller limit the sandbox answers ApiCallLimit in HTTP 200; the adapter says how long to wait."""
    rig = await build(rate_limit_per_s=3)
    rig.seed(1)
    with pytest.raises(RateLimited) as caught:
        for _ in range(10):
            await rig.adapter.get_listing("LZ-0000")
    assert caught.value.code == "ApiCallLimit" and caught.value.retry_after == 1.0
    assert caught.value.http_status == 200 and caught.value.request_id
    rig.sandbox.faults.set_spec(FaultSpec(throttle_rate=1.0, retry_after_s=3.0))
    with pytest.raises(RateLimited) as injected:
        await rig.adapter.get_listing("LZ-0000")
    assert injected.value.retry_after == 3.0


async def test_errors_outages_and_lost_responses(rig: Rig) -> None:
    """Injected 5xx/ServiceTimeout are transient (ambiguous for writes); a lost reply after a write is ambiguous."""
    rig.seed(1)
    listing = await rig.adapter.get_listing("LZ-0000")
    assert listing is not None
    rig.sandbox.faults.set_spec(FaultSpec(error_rate=1.0, seed=1))
    seen: set[str] = set()
    for _ in range(10):
        with pytest.raises(TransientError) as caught:
            await rig.adapter.get_listing("LZ-0000")
        assert not isinstance(caught.value, AmbiguousWrite)
        seen.add(caught.value.code or str(caught.value.http_status))
    assert seen == {"ServiceTimeout", "500"}
    with pytest.raises(AmbiguousWrite):
        await rig.adapter.set_price_stock([PriceStockUpdate(ref=listing.ref, price_vnd=1000, stock=1)])
    rig.sandbox.faults.set_spec(FaultSpec(outage=True))
    with pytest.raises(TransientError) as outage:
        await rig.adapter.get_listing("LZ-0000")
    assert outage.value.http_status == 503
    rig.sandbox.faults.set_spec(FaultSpec(lost_response_rate=1.0))
    with pytest.raises(AmbiguousWrite):
        await rig.adapter.set_price_stock([PriceStockUpdate(ref=listing.ref, price_vnd=45_000, stock=9)])
    stored = rig.sandbox.store.find(SELLER, "LZ-0000")
    assert stored is not None and (stored.price, stored.stock) == (45_000, 9), "the write was committed"


async def test_malformed_replies_name_the_missing_field(rig: Rig) -> None:
    """A success envelope without a required member is a ResponseShapeError naming it."""
    rig.seed(2)
    await rig.adapter.refresh_auth()
    rig.sandbox.faults.set_spec(FaultSpec(malformed_rate=1.0))
    with pytest.raises(ResponseShapeError) as listing:
        await rig.adapter.get_listing("LZ-0001")
    assert listing.value.field == "data.products" and listing.value.request_id
    draft = ListingDraft(seller_sku="NEW-1", content=ListingContent(title="Mắm cá linh"), price_vnd=90_000, stock=4)
    with pytest.raises(ResponseShapeError) as created:
        await rig.adapter.create(draft)
    assert created.value.field == "data.item_id"
    with pytest.raises(ResponseShapeError) as orders:
        _ = [x async for x in rig.adapter.list_orders()]
    assert orders.value.field == "data.orders"


async def test_no_call_outlives_its_timeout_under_30_percent_faults(build: Build) -> None:
    """With 30% faults, hangs longer and shorter than the 0.5 s client timeout, each call ends in time."""
    rig = await build(client_timeout_s=0.5)
    skus = rig.seed(40)
    await rig.adapter.refresh_auth()
    listing = await rig.adapter.get_listing(skus[0])
    assert listing is not None
    ref = listing.ref
    outcomes = {"ok": 0, "error": 0}
    for round_, hang in enumerate((0.3, 2.0, 0.3, 2.0)):
        rig.sandbox.faults.set_spec(
            FaultSpec(
                error_rate=0.1, timeout_rate=0.1, reset_rate=0.05, throttle_rate=0.05, timeout_hang_s=hang, seed=round_
            )
        )
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: rig.adapter.get_listing(skus[7]),
            lambda: rig.adapter.set_price_stock([PriceStockUpdate(ref=ref, price_vnd=41_000, stock=3)]),
            lambda: rig.adapter.set_active([ref], False),
            lambda: rig.adapter.refresh_auth(),
        ]
        for call in calls * 3:
            started = time.monotonic()
            try:
                await call()
                outcomes["ok"] += 1
            except AdapterError:
                outcomes["error"] += 1
            assert time.monotonic() - started < 0.5 + 0.35
    assert outcomes["ok"] and outcomes["error"], outcomes


# -- listings ---------------------------------------------------------------------------------


async def test_scroll_through_a_same_second_block_while_data_drifts(build: Build) -> None:
    """300 listings updated in the same second, random edits between pages: each yielded exactly once."""
    rig = await build()
    rig.seed(300, at=rig.sandbox.clock.now() - timedelta(minutes=5))
    await rig.adapter.refresh_auth()
    rig.sandbox.faults.set_spec(FaultSpec(page_drift_rate=0.7, seed=3))
    seen = [x.seller_sku async for page in rig.adapter.list_listings() for x in page.listings]
    drifts = [e for e in rig.sandbox.log if e.operation == "page_drift"]
    assert len(drifts) >= 3
    assert len(seen) == len(set(seen)) == 300


async def test_create_review_duplicate_and_update(build: Build) -> None:
    """Create goes to Pending QC, duplicates are refused with Lazada's business code, content updates apply."""
    rig = await build(qc_delay_s=60)
    content = ListingContent(title="Gạo ST25", images=("https://img.example.vn/st25.jpg",), unit="túi", weight_g=5000)
    draft = ListingDraft(seller_sku="ST25-5KG", content=content, price_vnd=180_000, stock=12)
    created = await rig.adapter.create(draft)
    assert created.qc_status is QcStatus.PENDING and created.ref.external_id and created.ref.external_sku_id
    with pytest.raises(Rejected) as duplicate:
        await rig.adapter.create(draft)
    assert duplicate.value.field == "SellerSku" and "THD_IC_ERR_F_IC_INFRA_PRODUCT_036" in duplicate.value.reason
    assert rig.sandbox.store.creates[(SELLER, "ST25-5KG")] == 1
    rig.sandbox.clock.advance(61)
    listing = await rig.adapter.get_listing("ST25-5KG")
    assert listing is not None and listing.qc_status is QcStatus.APPROVED
    assert listing.content == content.model_copy(update={"category_key": 1})
    result = await rig.adapter.update_content(
        ListingRef(seller_sku="ST25-5KG"), content.model_copy(update={"title": "Gạo ST25 túi 5kg"})
    )
    assert result.outcome is ItemOutcome.OK
    updated = await rig.adapter.get_listing("ST25-5KG")
    assert updated is not None and updated.content.title == "Gạo ST25 túi 5kg"
    missing = await rig.adapter.update_content(ListingRef(seller_sku="NOPE"), content)
    assert (missing.outcome, missing.code) == (ItemOutcome.REJECTED, "NOT_FOUND")


# -- price and stock --------------------------------------------------------------------------


async def test_xml_batch_partial_failure_gives_per_sku_results(rig: Rig) -> None:
    """A SKU below its reserved stock fails the whole Lazada call (501 + detail): that SKU is REJECTED,
    the others FAILED as not applied and unchanged; resending only those applies them."""
    skus = rig.seed(5)
    reserved = rig.sandbox.store.find(SELLER, skus[2])
    assert reserved is not None
    reserved.reserved = 10
    batch = [PriceStockUpdate(ref=ListingRef(seller_sku=s), price_vnd=60_000 + i, stock=5) for i, s in enumerate(skus)]
    results = await rig.adapter.set_price_stock(batch)
    assert [r.seller_sku for r in results] == skus
    by_sku = {r.seller_sku: r for r in results}
    assert (by_sku[skus[2]].outcome, by_sku[skus[2]].code, by_sku[skus[2]].field) == (
        ItemOutcome.REJECTED,
        "501",
        "Quantity",
    )
    others = [s for s in skus if s != skus[2]]
    assert all(by_sku[s].outcome is ItemOutcome.FAILED and "not applied" in by_sku[s].message for s in others)
    before = {s: (x.price, x.stock) for s in skus if (x := rig.sandbox.store.find(SELLER, s))}
    assert before[skus[2]] == (40_002, 30)
    assert all(before[s] != (60_000 + skus.index(s), 5) for s in others), "a failed call applies nothing"
    calls = [e for e in rig.sandbox.log if e.operation == "/product/price_quantity/update"]
    assert len(calls) == 1, "the adapter never resends by itself"
    resent = await rig.adapter.set_price_stock([u for u in batch if u.ref.seller_sku in others])
    assert all(r.outcome is ItemOutcome.OK for r in resent)
    for i, sku in enumerate(skus):
        stored = rig.sandbox.store.find(SELLER, sku)
        assert stored is not None
        expected = (40_002, 30) if sku == skus[2] else (60_000 + i, 5)
        assert (stored.price, stored.stock) == expected


async def test_raw_batch_shapes_negative_quantity_and_too_many_skus(rig: Rig) -> None:
    """The sandbox answers negative stock with 501 + per-SKU detail, and more than 50 SKUs with 4171."""
    skus = rig.seed(2)
    target = rig.sandbox.store.find(SELLER, skus[0])
    assert target is not None
    xml = (
        "<Request><Product><Skus>"
        f"<Sku><ItemId>{target.item_id}</ItemId><SkuId>{target.sku_id}</SkuId><Quantity>-1</Quantity></Sku>"
        "</Skus></Product></Request>"
    )
    token = await rig.token()
    params = signed_params(
        "/product/price_quantity/update",
        {"payload": xml},
        app_key=CREDS["app_key"],
        app_secret=CREDS["app_secret"],
        now=datetime.now(UTC),
        access_token=token,
    )
    body = (await rig.http.post(f"{BASE}/rest/product/price_quantity/update", data=params)).json()
    assert body["code"] == "501" and body["detail"][0]["seller_sku"] == skus[0]
    assert body["detail"][0]["field"] == "Quantity"
    ref = ListingRef(seller_sku=skus[0], external_id=target.item_id, external_sku_id=target.sku_id)
    with pytest.raises(Rejected) as caught:
        await rig.adapter.set_price_stock([PriceStockUpdate(ref=ref, price_vnd=1000, stock=1)] * 51)
    assert caught.value.code == "4171"


async def test_deactivate_needs_item_id_and_reactivate_goes_through_update(rig: Rig) -> None:
    """set_active maps onto /product/deactivate and /product/update Status=active; SellerSku alone is 4193."""
    skus = rig.seed(2)
    down = await rig.adapter.set_active([ListingRef(seller_sku=s) for s in skus], False)
    assert [r.outcome for r in down] == [ItemOutcome.OK, ItemOutcome.OK]
    assert {x.status for x in rig.sandbox.store.shop(SELLER).values()} == {"inactive"}
    up = await rig.adapter.set_active([ListingRef(seller_sku=skus[0]), ListingRef(seller_sku="GHOST")], True)
    assert [(r.seller_sku, r.outcome) for r in up] == [(skus[0], ItemOutcome.OK), ("GHOST", ItemOutcome.REJECTED)]
    stored = rig.sandbox.store.find(SELLER, skus[0])
    assert stored is not None and stored.status == "active"
    body = "<Request><Product><ItemId>1</ItemId><Skus><SellerSku>LZ-0000</SellerSku></Skus></Product></Request>"
    token = await rig.token()
    params = signed_params(
        "/product/deactivate",
        {"apiRequestBody": body},
        app_key=CREDS["app_key"],
        app_secret=CREDS["app_secret"],
        now=datetime.now(UTC),
        access_token=token,
    )
    assert (await rig.http.post(f"{BASE}/rest/product/deactivate", data=params)).json()["code"] == "4193"


# -- orders -----------------------------------------------------------------------------------


async def test_orders_map_units_to_lines_and_flag_cancellations(rig: Rig) -> None:
    """Each unit comes back as its own line (the first keeps the line's id); a partial cancel flags only its units."""
    rig.seed(2)
    store, clock = rig.sandbox.store, rig.sandbox.clock
    kept = store.place_order(SELLER, "LZ-0000", 3, clock.now())
    gone = store.place_order(SELLER, "LZ-0001", 1, clock.now())
    gone.cancelled = True
    rig.sandbox.change_order(SELLER, kept.order_id, "cancel", quantity=1)
    lines = [x async for page in rig.adapter.list_orders() for x in page.lines]
    mine = [x for x in lines if x.order_id == kept.order_id]
    assert [x.quantity for x in mine] == [1, 1, 1] and mine[0].line_id == kept.line_id
    assert sum(x.cancelled for x in mine) == 1 and len({x.line_id for x in mine}) == 3
    assert [x.cancelled for x in lines if x.order_id == gone.order_id] == [True]


# -- over a real socket -----------------------------------------------------------------------


async def test_sandbox_over_uvicorn_accepts_good_signatures_and_refuses_bad_ones() -> None:
    """Served by uvicorn on 127.0.0.1: the adapter pages listings, a wrong sign gets IncompleteSignature."""
    sandbox = LazadaAdapter.create_sandbox(
        SandboxOptions(sellers=(SellerAccount(seller_id=SELLER, credentials=CREDS),))
    )
    now = sandbox.clock.now()
    for i in range(60):
        sandbox.store.shop(SELLER)[f"U-{i}"] = SandboxListing(
            SELLER, f"U-{i}", str(500 + 2 * i), str(501 + 2 * i), "Trà", 10_000, 1, now, now - timedelta(seconds=i)
        )
    server = uvicorn.Server(uvicorn.Config(sandbox.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:  # noqa: ASYNC110  (uvicorn offers no started event)
                await asyncio.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(timeout=5) as http:
                adapter = LazadaAdapter.from_config(config_for(CREDS).model_copy(update={"base_url": base}), http)
                seen = [x.seller_sku async for page in adapter.list_listings() for x in page.listings]
                assert sorted(seen) == sorted(f"U-{i}" for i in range(60))
                token = adapter.export_tokens()["access_token"]
                good = (await raw_call(http, base, "/products/get", {"limit": "1"}, token=token)).json()
                bad = (await raw_call(http, base, "/products/get", {"limit": "1"}, token=token, sign="F" * 64)).json()
                assert (good["code"], bad["code"]) == ("0", "IncompleteSignature")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
