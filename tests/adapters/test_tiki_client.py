"""Tiki adapter: OAuth2 client auth, token expiry, and the HTTP error table, over real HTTP to the sandbox."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from adapters.base import AdapterConfig
from adapters.errors import (
    AdapterError,
    AmbiguousWrite,
    AuthExpired,
    AuthFailed,
    ConfigError,
    RateLimited,
    Rejected,
    ResponseShapeError,
    TransientError,
)
from adapters.sandbox import FaultSpec, SandboxListing, SandboxOptions, SandboxTransport, SellerAccount
from adapters.tiki import TikiAdapter
from adapters.tiki.sandbox import TikiSandbox
from schemas.listing import ItemOutcome, ListingContent, ListingDraft, ListingRef, PriceStockUpdate

pytestmark = pytest.mark.timeout(60)

SELLER = "T1"
BASE = "http://tiki.sandbox"


@dataclass
class Rig:
    """A Tiki sandbox, an HTTP client into it that records requests, and an adapter."""

    sandbox: TikiSandbox
    http: httpx.AsyncClient
    adapter: TikiAdapter
    sent: list[httpx.Request] = field(default_factory=list)

    def adapter_with(self, **options: Any) -> TikiAdapter:
        """Another adapter for the same seller with different options."""
        return TikiAdapter.from_config(config(options), self.http)


def config(options: dict[str, Any], creds: dict[str, str] | None = None) -> AdapterConfig:
    """The test shop's config."""
    creds = creds or TikiAdapter.sandbox_credentials(SELLER)
    return AdapterConfig(
        marketplace="tiki",
        shop_id="tiki-test",
        seller_id=SELLER,
        base_url=BASE,
        credentials={k: SecretStr(v) for k, v in creds.items()},
        options=options,
    )


Build = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def build() -> AsyncIterator[Build]:
    """Build rigs; keyword arguments override SandboxOptions, `options` go to the adapter."""
    clients: list[httpx.AsyncClient] = []

    async def make(*, client_timeout_s: float = 5.0, options: dict[str, Any] | None = None, **overrides: Any) -> Rig:
        sellers = (SellerAccount(seller_id=SELLER, credentials=TikiAdapter.sandbox_credentials(SELLER)),)
        sandbox = TikiAdapter.create_sandbox(
            SandboxOptions(sellers=sellers, seed=3, token_ttl_s=3600, rate_limit_per_s=100_000).model_copy(
                update=overrides
            )
        )
        sent: list[httpx.Request] = []

        async def record(request: httpx.Request) -> None:
            sent.append(request)

        http = httpx.AsyncClient(
            transport=SandboxTransport(sandbox.app),
            base_url=BASE,
            timeout=httpx.Timeout(client_timeout_s),
            event_hooks={"request": [record]},
        )
        clients.append(http)
        return Rig(sandbox, http, TikiAdapter.from_config(config(options or {}), http), sent)

    yield make
    for client in clients:
        await client.aclose()


def seed(sandbox: TikiSandbox, count: int, *, stock: int = 20, reserved: int = 0) -> list[str]:
    """Put `count` active products straight into the sandbox store."""
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
            title=f"Bánh pía Sóc Trăng {i}",
            price=80_000,
            stock=stock,
            reserved=reserved,
            created_at=at,
            updated_at=at,
        )
        skus.append(sku)
    return skus


def draft(sku: str, title: str = "Nước mắm Phú Quốc 40 độ đạm") -> ListingDraft:
    """A valid listing to create."""
    content = ListingContent(title=title, images=("https://img.example.vn/a.jpg",), brand="HTX Phú Quốc")
    return ListingDraft(seller_sku=sku, content=content, price_vnd=95_000, stock=12)


# -- client authentication --------------------------------------------------------------------


async def test_client_secret_basic_sends_credentials_in_the_authorization_header(build: Build) -> None:
    rig = await build(options={"client_auth": "basic"})
    info = await rig.adapter.refresh_auth()
    assert info.access_expires_at is not None
    token_call = rig.sent[-1]
    assert token_call.url.path == "/sc/oauth2/token"
    raw = base64.b64decode(token_call.headers["authorization"].removeprefix("Basic "))
    assert raw.decode() == "sbx-tiki-T1:sbx-tiki-secret-T1"
    assert parse_qs(token_call.content.decode()) == {"grant_type": ["client_credentials"]}


async def test_client_secret_post_sends_credentials_in_the_form(build: Build) -> None:
    rig = await build(options={"client_auth": "post"})
    seed(rig.sandbox, 1)
    assert await rig.adapter.get_listing("TK-0000") is not None
    token_call = rig.sent[0]
    assert "authorization" not in token_call.headers
    form = parse_qs(token_call.content.decode())
    assert form["client_id"] == ["sbx-tiki-T1"] and form["client_secret"] == ["sbx-tiki-secret-T1"]
    assert rig.sent[1].headers["authorization"].startswith("Bearer ")


async def test_unknown_client_auth_style_fails_at_start(build: Build) -> None:
    rig = await build()
    with pytest.raises(ConfigError, match="client_auth"):
        rig.adapter_with(client_auth="jwt")


async def test_wrong_secret_at_the_token_endpoint_is_auth_failed(build: Build) -> None:
    rig = await build()
    creds = {**TikiAdapter.sandbox_credentials(SELLER), "client_secret": "nope"}
    adapter = TikiAdapter.from_config(config({}, creds), rig.http)
    with pytest.raises(AuthFailed) as caught:
        await adapter.refresh_auth()
    assert caught.value.http_status == 401 and caught.value.request_id.startswith("sbx-tiki-")
    assert not caught.value.retryable


async def test_expired_token_is_auth_expired_and_a_new_token_recovers(build: Build) -> None:
    rig = await build(token_ttl_s=600)
    seed(rig.sandbox, 1)
    await rig.adapter.get_listing("TK-0000")
    rig.sandbox.clock.advance(601)
    with pytest.raises(AuthExpired) as caught:
        await rig.adapter.get_listing("TK-0000")
    assert caught.value.http_status == 401
    await rig.adapter.refresh_auth()
    assert await rig.adapter.get_listing("TK-0000") is not None


async def test_inactive_seller_is_forbidden(build: Build) -> None:
    rig = await build()
    await rig.adapter.refresh_auth()
    rig.sandbox.inactive_sellers.add(SELLER)
    with pytest.raises(AuthFailed) as caught:
        await rig.adapter.get_listing("TK-0000")
    assert caught.value.http_status == 403


async def test_exported_token_is_reused_without_a_token_call(build: Build) -> None:
    rig = await build()
    await rig.adapter.refresh_auth()
    other = rig.adapter_with()
    other.import_tokens(rig.adapter.export_tokens())
    before = len(rig.sent)
    assert await other.get_listing("TK-NONE") is None
    assert all(r.url.path != "/sc/oauth2/token" for r in rig.sent[before:])


# -- error table --------------------------------------------------------------------------------


async def test_rate_limit_429_without_retry_after_means_one_second(build: Build) -> None:
    rig = await build(rate_limit_per_s=3)
    await rig.adapter.refresh_auth()  # the token call uses one slot
    with pytest.raises(RateLimited) as caught:
        for _ in range(5):
            await rig.adapter.set_active([ListingRef(seller_sku="TK-NONE")], True)
    assert caught.value.http_status == 429
    assert caught.value.retry_after == 1.0
    assert not rig.sandbox.throttle_violations()


async def test_503_retry_after_in_seconds(build: Build) -> None:
    rig = await build()
    await rig.adapter.refresh_auth()
    rig.sandbox.faults.set_spec(FaultSpec(outage=True, retry_after_s=7))
    with pytest.raises(TransientError) as caught:
        await rig.adapter.get_listing("TK-0000")
    assert caught.value.http_status == 503 and caught.value.retry_after == 7.0
    assert caught.value.request_id


async def test_503_retry_after_as_http_date(build: Build) -> None:
    rig = await build()
    await rig.adapter.refresh_auth()
    rig.sandbox.faults.set_spec(FaultSpec(outage=True, retry_after_s=30, retry_after_http_date=True))
    with pytest.raises(TransientError) as caught:
        await rig.adapter.get_listing("TK-0000")
    assert caught.value.http_status == 503
    assert caught.value.retry_after is not None and 25 <= caught.value.retry_after <= 31


async def test_server_errors_on_writes_are_retryable_and_500_is_ambiguous(build: Build) -> None:
    rig = await build()
    seed(rig.sandbox, 1)
    await rig.adapter.refresh_auth()
    rig.sandbox.faults.set_spec(FaultSpec(error_rate=1.0, seed=1))
    statuses = set()
    for _ in range(12):
        with pytest.raises(TransientError) as caught:
            await rig.adapter.set_active([ListingRef(seller_sku="TK-0000")], False)
        statuses.add(caught.value.http_status)
        assert isinstance(caught.value, AmbiguousWrite) == (caught.value.http_status == 500)
        assert caught.value.retry_after == 1.0
    assert statuses == {500, 503}


async def test_validation_error_is_rejected_with_field_and_sent_once(build: Build) -> None:
    rig = await build()
    await rig.adapter.refresh_auth()
    with pytest.raises(Rejected) as caught:
        await rig.adapter.create(draft("TK-NEW", title=""))
    assert caught.value.http_status == 400 and caught.value.field == "name"
    assert not caught.value.retryable
    assert [r.operation for r in rig.sandbox.log if r.is_write] == ["create"]
    assert not rig.sandbox.store.creates


async def test_price_below_ten_percent_is_rejected_for_that_sku(build: Build) -> None:
    rig = await build()
    seed(rig.sandbox, 1)
    ref = ListingRef(seller_sku="TK-0000")
    [result] = await rig.adapter.set_price_stock([PriceStockUpdate(ref=ref, price_vnd=5_000, stock=1)])
    assert result.outcome is ItemOutcome.REJECTED and result.field == "price"
    assert "ten percent" in result.message
    stored = rig.sandbox.store.find(SELLER, "TK-0000")
    assert stored is not None and stored.price == 80_000


async def test_batch_over_the_limit_is_rejected_whole(build: Build) -> None:
    rig = await build(options={"write_batch_size": 80})
    seed(rig.sandbox, 60)
    batch = [PriceStockUpdate(ref=ListingRef(seller_sku=f"TK-{i:04d}"), price_vnd=90_000, stock=1) for i in range(60)]
    with pytest.raises(Rejected) as caught:
        await rig.adapter.set_price_stock(batch)
    assert caught.value.field == "data"


async def test_unknown_product_is_reported_per_item(build: Build) -> None:
    rig = await build()
    [result] = await rig.adapter.set_active([ListingRef(seller_sku="TK-NONE")], True)
    assert result.outcome is ItemOutcome.REJECTED and result.message == "Product not found"


async def test_malformed_replies_name_the_missing_field(build: Build) -> None:
    rig = await build()
    seed(rig.sandbox, 2)
    await rig.adapter.refresh_auth()
    rig.sandbox.faults.set_spec(FaultSpec(malformed_rate=1.0))
    with pytest.raises(ResponseShapeError) as caught:
        await rig.adapter.get_listing("TK-0000")
    assert caught.value.field == "paging" and caught.value.request_id
    with pytest.raises(ResponseShapeError) as caught:
        await rig.adapter.set_active([ListingRef(seller_sku="TK-0000")], False)
    assert caught.value.field == "data"
    with pytest.raises(ResponseShapeError) as caught:
        await rig.adapter.create(draft("TK-NEW"))
    assert caught.value.field == "track_id"


async def test_lost_reply_after_a_committed_write_is_ambiguous(build: Build) -> None:
    rig = await build(qc_delay_s=600)  # the request is still under review when the engine looks it up
    seed(rig.sandbox, 1)
    await rig.adapter.refresh_auth()
    rig.sandbox.faults.set_spec(FaultSpec(lost_response_rate=1.0))
    with pytest.raises(AmbiguousWrite):
        await rig.adapter.create(draft("TK-NEW"))
    rig.sandbox.faults.set_spec(FaultSpec())
    pending = await rig.adapter.get_listing("TK-NEW")
    assert pending is not None and pending.ref.request_id  # the engine finds it instead of creating again
    assert rig.sandbox.store.creates[(SELLER, "TK-NEW")] == 1


async def test_no_call_outlives_its_timeout_with_30_percent_faults(build: Build) -> None:
    timeout = 0.5
    rig = await build(client_timeout_s=timeout)
    skus = seed(rig.sandbox, 30)
    await rig.adapter.refresh_auth()
    rig.sandbox.faults.set_spec(FaultSpec(error_rate=0.1, timeout_rate=0.1, reset_rate=0.1, timeout_hang_s=3.0, seed=9))
    ref = ListingRef(seller_sku=skus[0])
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: rig.adapter.set_price_stock([PriceStockUpdate(ref=ref, price_vnd=81_000, stock=4)]),
        lambda: rig.adapter.set_active([ref], True),
        lambda: rig.adapter.create(draft(f"TK-F-{time.monotonic_ns()}")),
        lambda: rig.adapter.refresh_auth(),
    ]
    errors = oks = 0
    for _ in range(8):
        for call in calls:
            started = time.monotonic()
            try:
                await call()
                oks += 1
            except AdapterError as exc:
                errors += 1
                assert exc.retryable, exc
            assert time.monotonic() - started < timeout + 0.3
    assert oks and errors
