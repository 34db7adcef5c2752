"""Golden replay, Lazada: the adapter's public methods over the replies Lazada's docs publish.

Each test serves golden files (`golden/lazada/`, sources in `golden/SOURCES.md`) through
`httpx.MockTransport` and asserts the concrete values the adapter must produce from them.
The Tiki half is `test_golden_replay_tiki.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from golden_kit import Replay, Route, golden
from pydantic import SecretStr

from adapters.base import AdapterConfig, parse_payload
from adapters.errors import AuthExpired, RateLimited, ResponseShapeError
from adapters.lazada import LazadaAdapter
from adapters.lazada.mapping import CategoryMap, LzOrder, LzProduct, LzToken, listings_of
from schemas.listing import (
    ItemOutcome,
    ListingContent,
    ListingDraft,
    ListingRef,
    ListingStatus,
    PriceStockUpdate,
    QcStatus,
)

pytestmark = pytest.mark.timeout(30)

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
LZ = "lazada"
Build = Callable[[dict[str, Route]], LazadaAdapter]


def ms(value: int) -> datetime:
    """Epoch milliseconds as aware UTC."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)


@pytest.fixture
async def lazada() -> AsyncIterator[Build]:
    """Build a Lazada adapter on the real gateway URL whose HTTP is answered by golden replies."""
    clients = []

    def build(routes: dict[str, Route]) -> LazadaAdapter:
        replay = Replay({"/auth/token/refresh": (200, golden(LZ, "token_refresh.json")), **routes})
        http = replay.client("https://api.lazada.vn/rest")
        clients.append(http)
        config = AdapterConfig(
            marketplace=LZ,
            shop_id="lazada-golden",
            seller_id="1001",
            base_url="https://api.lazada.vn/rest",
            credentials={k: SecretStr(v) for k, v in {"app_key": "1", "app_secret": "s", "refresh_token": "r"}.items()},
        )
        return LazadaAdapter.from_config(config, http, clock=lambda: NOW)

    yield build
    for client in clients:
        await client.aclose()


def ref(seller_sku: str = "39817:01:01", item: str = "180226526", sku_id: str = "314525867") -> ListingRef:
    """A ref with Lazada's ids, so writes need no look-up."""
    return ListingRef(seller_sku=seller_sku, external_id=item, external_sku_id=sku_id)


async def test_token_refresh_reads_string_lifetimes_and_rotates_the_refresh_token(lazada: Build) -> None:
    adapter = lazada({})
    info = await adapter.refresh_auth()
    assert info.access_expires_at == NOW + timedelta(seconds=10)
    assert info.refresh_expires_at == NOW + timedelta(seconds=60)
    assert adapter.export_tokens()["refresh_token"] == "500016000300bwa2WteaQyfwBMnPxurcA0mXGhQdTt18356663CfcDTYpWoi"


def test_token_create_reply_parses_with_its_country_user_info_list() -> None:
    token = parse_payload(LzToken, golden(LZ, "token_create.json"), marketplace=LZ, operation="token")
    assert (token.expires_in, token.refresh_expires_in) == (10, 60)
    assert token.country_user_info[0].seller_id == "1001"


async def test_products_get_with_images_as_a_json_string(lazada: Build) -> None:
    adapter = lazada({"/products/get": (200, golden(LZ, "products_get.json"))})
    pages = [page async for page in adapter.list_listings()]
    [listing] = [x for page in pages for x in page.listings]
    assert listing.ref == ref()
    assert (listing.price_vnd, listing.stock) == (32, 0)
    assert listing.updated_at == ms(1611554725000)
    assert listing.content.images == (
        "https://my-live.slatic.net/p/540bc796d1eadf316018038d8840f20a.jpg",
        "https://my-live.slatic.net/p/8913fc357e139ef78ad2f071e9586334.jpg",
    )
    assert listing.content.title == "asd" and listing.content.brand == "Asante"
    assert listing.content.weight_g == 40


async def test_get_listing_finds_the_sample_sku(lazada: Build) -> None:
    adapter = lazada({"/products/get": (200, golden(LZ, "products_get.json"))})
    listing = await adapter.get_listing("39817:01:01")
    assert listing is not None and listing.ref == ref()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("product_item_get.json", ("39817:01:01", "234222211", "314525867", 32, 0, 1611554725000, 2)),
        ("product_item_get.images_list.json", ("12333-poi", "2807246166", "13449296008", 102, 20, 1653463851000, 1)),
    ],
)
def test_item_get_variants_map_to_listings(name: str, expected: tuple[Any, ...]) -> None:
    sku, item, sku_id, price, stock, updated, images = expected
    product = parse_payload(LzProduct, golden(LZ, name)["data"], marketplace=LZ, operation="item_get")
    [listing] = listings_of(product, CategoryMap())
    assert listing.ref == ListingRef(seller_sku=sku, external_id=item, external_sku_id=sku_id)
    assert (listing.price_vnd, listing.stock, listing.updated_at) == (price, stock, ms(updated))
    assert len(listing.content.images) == images


def test_the_images_list_sample_is_an_active_approved_listing() -> None:
    data = golden(LZ, "product_item_get.images_list.json")["data"]
    [listing] = listings_of(parse_payload(LzProduct, data, marketplace=LZ, operation="t"), CategoryMap())
    assert (listing.status, listing.qc_status) == (ListingStatus.ACTIVE, QcStatus.APPROVED)


async def test_create_reads_string_ids(lazada: Build) -> None:
    adapter = lazada({"/product/create": (200, golden(LZ, "product_create.json"))})
    content = ListingContent(title="Mật ong", brand="HTX", images=("https://img.example/1.jpg",))
    result = await adapter.create(ListingDraft(seller_sku="test2022 03", content=content, price_vnd=1, stock=1))
    assert result.ref == ListingRef(seller_sku="test2022 03", external_id="2374791958", external_sku_id="13896560193")
    assert result.qc_status is QcStatus.APPROVED


async def test_update_deactivate_and_price_quantity_success_replies(lazada: Build) -> None:
    adapter = lazada(
        {
            "/product/update": (200, golden(LZ, "product_update.json")),
            "/product/deactivate": (200, golden(LZ, "product_deactivate.json")),
            "/product/price_quantity/update": (200, golden(LZ, "price_quantity_update.json")),
        }
    )
    content = ListingContent(title="asd", brand="Asante")
    assert (await adapter.update_content(ref(), content)).outcome is ItemOutcome.OK
    [off] = await adapter.set_active([ref()], active=False)
    [on] = await adapter.set_active([ref()], active=True)
    [priced] = await adapter.set_price_stock([PriceStockUpdate(ref=ref(), price_vnd=32, stock=5)])
    assert (off.outcome, on.outcome, priced.outcome) == (ItemOutcome.OK, ItemOutcome.OK, ItemOutcome.OK)


async def test_price_quantity_failure_names_the_refused_sku(lazada: Build) -> None:
    reply = golden(LZ, "price_quantity_update.sku_failure.assumed.json")
    adapter = lazada({"/product/price_quantity/update": (200, reply)})
    other = ref("OTHER-1", "180226526", "314525868")
    bad, good = await adapter.set_price_stock(
        [PriceStockUpdate(ref=ref(), price_vnd=32, stock=0), PriceStockUpdate(ref=other, price_vnd=40, stock=3)]
    )
    assert (bad.outcome, bad.code, bad.field) == (ItemOutcome.REJECTED, "4170", "quantity")
    assert good.outcome is ItemOutcome.FAILED


@pytest.mark.parametrize(
    ("orders", "order_id", "created"),
    [
        ("orders_get.iso_time.json", "491253082180001", datetime(2018, 2, 9, 14, 44, 30, tzinfo=UTC)),
        ("orders_get.lazada_time.json", "16090", datetime(2014, 10, 15, 10, 36, 5, tzinfo=UTC)),
    ],
)
async def test_orders_in_both_published_time_forms(lazada: Build, orders: str, order_id: str, created: Any) -> None:
    adapter = lazada(
        {"/orders/get": (200, golden(LZ, orders)), "/order/items/get": (200, golden(LZ, "order_items_get.json"))}
    )
    lines = [line async for page in adapter.list_orders() for line in page.lines]
    assert [(x.order_id, x.line_id, x.seller_sku, x.quantity, x.cancelled) for x in lines] == [
        (order_id, "98108", "BRSD#02", 1, True)
    ]
    assert lines[0].created_at == created


async def test_an_unreadable_order_time_is_a_response_shape_error(lazada: Build) -> None:
    orders = golden(LZ, "orders_get.iso_time.json")
    orders["data"]["orders"][0]["created_at"] = "yesterday-ish"
    adapter = lazada({"/orders/get": (200, orders)})
    with pytest.raises(ResponseShapeError) as caught:
        [page async for page in adapter.list_orders()]
    assert caught.value.field == "data.orders.0.created_at"
    assert caught.value.request_id == "0ba2887315178178017221014"


async def test_a_sku_without_seller_sku_is_a_response_shape_error(lazada: Build) -> None:
    products = golden(LZ, "products_get.json")
    del products["data"]["products"][0]["skus"][0]["SellerSku"]
    adapter = lazada({"/products/get": (200, products)})
    with pytest.raises(ResponseShapeError) as caught:
        [page async for page in adapter.list_listings()]
    assert "SellerSku" in caught.value.field and caught.value.field.startswith("data.products.0.skus.0")


@pytest.mark.parametrize(
    ("name", "error"),
    [("error.illegal_access_token.assumed.json", AuthExpired), ("error.api_call_limit.assumed.json", RateLimited)],
)
async def test_error_envelopes_become_typed_errors(lazada: Build, name: str, error: type[Exception]) -> None:
    adapter = lazada({"/products/get": (200, golden(LZ, name))})
    with pytest.raises(error) as caught:
        await adapter.get_listing("39817:01:01")
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 1.0


def test_the_get_order_sample_reads_its_lazada_time_form() -> None:
    order = parse_payload(LzOrder, golden(LZ, "order_get.json")["data"], marketplace=LZ, operation="t")
    assert (order.order_id, order.created_at) == ("16090", datetime(2014, 10, 15, 10, 36, 5, tzinfo=UTC))
