"""Golden replay, Tiki: the adapter's public methods over the replies Tiki's docs publish.

Each test serves golden files (`golden/tiki/`, sources in `golden/SOURCES.md`) through
`httpx.MockTransport` and asserts the concrete values the adapter must produce from them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from golden_kit import Replay, Route, first_page_only, golden
from pydantic import SecretStr

from adapters.base import AdapterConfig, parse_payload
from adapters.errors import NotFound, RateLimited, Rejected, ResponseShapeError
from adapters.tiki import TikiAdapter
from adapters.tiki.replies import OrderRow, ProductRow, StateResponse
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

TK = "tiki"
PRODUCTS = "/integration/v2/products"


class Rig:
    """A Tiki adapter on the real host whose HTTP is answered by golden replies."""

    def __init__(self, replay: Replay, adapter: TikiAdapter) -> None:
        self.replay = replay
        self.adapter = adapter


Build = Callable[[dict[str, Route]], Rig]


@pytest.fixture
async def tiki() -> AsyncIterator[Build]:
    """Build rigs; the token, request scans and product detail are served by default."""
    clients = []

    def build(routes: dict[str, Route]) -> Rig:
        defaults: dict[str, Route] = {
            "/sc/oauth2/token": (200, golden(TK, "token.json")),
            "/integration/v2/requests": first_page_only(golden(TK, "requests_list.v2.json")),
            "/integration/v2/requests/findBy": (200, golden(TK, "requests_list.v2.json")),
            f"{PRODUCTS}/2161924": (200, golden(TK, "product_detail.v1.json")),
        }
        replay = Replay({**defaults, **routes})
        http = replay.client("https://api.tiki.vn")
        clients.append(http)
        config = AdapterConfig(
            marketplace=TK,
            shop_id="tiki-golden",
            seller_id="1",
            base_url="https://api.tiki.vn",
            credentials={"client_id": SecretStr("id"), "client_secret": SecretStr("secret")},
        )
        return Rig(replay, TikiAdapter.from_config(config, http))

    yield build
    for client in clients:
        await client.aclose()


def detail_for_any_product() -> Route:
    """`GET /products/{id}` answered with the published detail sample whatever the id."""
    return 200, golden(TK, "product_detail.v1.json")


async def test_token_reply_sets_the_expiry(tiki: Build) -> None:
    rig = tiki({})
    before = datetime.now(UTC)
    info = await rig.adapter.refresh_auth()
    assert info.access_expires_at is not None
    assert 3590 <= (info.access_expires_at - before).total_seconds() <= 3610


async def test_v2_list_row_without_original_sku_is_completed_from_the_product_detail(tiki: Build) -> None:
    rig = tiki({PRODUCTS: (200, golden(TK, "products_list.v2.json")), f"{PRODUCTS}/12346": detail_for_any_product()})
    listings = [x async for page in rig.adapter.list_listings() for x in page.listings]
    [listing] = listings
    assert listing.ref == ListingRef(
        seller_sku="RANDOMSKU22234", external_id="12346", external_sku_id="8935086810583"
    ), "the seller SKU comes from the detail, never from Tiki's own sku"
    assert (listing.price_vnd, listing.stock, listing.status) == (18000, 13, ListingStatus.ACTIVE)
    assert listing.updated_at == datetime(2021, 2, 4, 3, 1, 1, tzinfo=UTC)
    assert listing.content.images == ("https://uat.tikicdn.com/ts/h/g/hgth_-_2.jpg",)
    assert f"{PRODUCTS}/12346" in rig.replay.paths()


async def test_v1_list_row_without_active_and_inventory_is_completed_from_the_detail(tiki: Build) -> None:
    rig = tiki({PRODUCTS: (200, golden(TK, "products_list.v1.json")), f"{PRODUCTS}/2088336": detail_for_any_product()})
    [listing] = [x async for page in rig.adapter.list_listings() for x in page.listings]
    assert listing.ref == ListingRef(
        seller_sku="YOUR_ORIGINAL_SKU_123", external_id="2088336", external_sku_id="4833677185901"
    )
    assert (listing.price_vnd, listing.stock, listing.status) == (20000, 13, ListingStatus.ACTIVE)
    assert listing.updated_at == datetime(2019, 12, 9, 8, 25, 36, tzinfo=UTC), "created_at when updated_at is absent"
    assert listing.content.category_key == 1


async def test_no_original_sku_anywhere_is_a_response_shape_error_naming_it(tiki: Build) -> None:
    detail = golden(TK, "product_detail.v1.json")
    del detail["original_sku"]
    rig = tiki({PRODUCTS: (200, golden(TK, "products_list.v2.json")), f"{PRODUCTS}/12346": (200, detail)})
    with pytest.raises(ResponseShapeError) as caught:
        [page async for page in rig.adapter.list_listings()]
    assert caught.value.field == "original_sku"
    assert caught.value.request_id.startswith("golden-")


async def test_get_listing_through_find_by_original_sku(tiki: Build) -> None:
    rig = tiki(
        {
            f"{PRODUCTS}/findBy": (200, golden(TK, "products_findby.v1.json")),
            f"{PRODUCTS}/2088336": detail_for_any_product(),
        }
    )
    listing = await rig.adapter.get_listing("YOUR_ORIGINAL_SKU_123")
    assert listing is not None
    assert (listing.ref.external_id, listing.price_vnd, listing.stock) == ("2088336", 20000, 13)


async def test_create_and_content_update_return_the_track_id(tiki: Build) -> None:
    body = golden(TK, "product_request_create.json")
    rig = tiki({"/integration/v2.1/requests": (200, body), "/requests/updateProductInfo": (200, body)})
    content = ListingContent(title="Nước mắm", brand="HTX")
    created = await rig.adapter.create(ListingDraft(seller_sku="TK-1", content=content, price_vnd=1, stock=1))
    assert (created.ref.request_id, created.qc_status) == ("c3587ec50976497f837461e0c2ea3da5", QcStatus.PENDING)
    updated = await rig.adapter.update_content(ListingRef(seller_sku="TK-1", external_id="2088336"), content)
    assert (updated.outcome, updated.code, updated.message) == (ItemOutcome.OK, "queuing", created.ref.request_id)


async def test_update_skus_results_per_item(tiki: Build) -> None:
    rig = tiki({"/products/updateSkus": (200, golden(TK, "update_skus.assumed.json"))})
    first = ListingRef(seller_sku="YOUR_ORIGINAL_SKU_123", external_id="2088336")
    second = ListingRef(seller_sku="xxxxx-yyyy-1111")
    ok, refused = await rig.adapter.set_price_stock(
        [PriceStockUpdate(ref=first, price_vnd=12000, stock=17), PriceStockUpdate(ref=second, price_vnd=9000, stock=1)]
    )
    assert ok.outcome is ItemOutcome.OK
    assert (refused.outcome, refused.field) == (ItemOutcome.REJECTED, "price")
    states = [r.outcome for r in await rig.adapter.set_active([first, second], active=False)]
    assert states == [ItemOutcome.OK, ItemOutcome.REJECTED]


def test_update_sku_reply_parses() -> None:
    assert (
        parse_payload(StateResponse, golden(TK, "update_sku.json"), marketplace=TK, operation="t").state == "approved"
    )


@pytest.mark.parametrize(
    ("orders", "expected"),
    [
        ("orders_list.v1.json", ("929231617", "25203463", datetime(2019, 10, 30, 10, 27, 17, tzinfo=UTC))),
        ("orders_list.v2.json", ("745467462", "156453540", datetime(2020, 8, 10, 11, 50, 17, tzinfo=UTC))),
    ],
)
async def test_order_lines_from_v1_and_v2_orders(tiki: Build, orders: str, expected: tuple[Any, ...]) -> None:
    order_id, line_id, created = expected
    rig = tiki({"/integration/v2/orders": (200, golden(TK, orders)), f"{PRODUCTS}/2050232": detail_for_any_product()})
    lines = [line async for page in rig.adapter.list_orders() for line in page.lines]
    assert [(x.order_id, x.line_id, x.seller_sku, x.quantity, x.cancelled) for x in lines] == [
        (order_id, line_id, "RANDOMSKU22234", 1, False)
    ], "the seller SKU missing from the order is looked up by product id"
    assert lines[0].created_at == created


async def test_an_order_line_stating_its_seller_sku_needs_no_lookup(tiki: Build) -> None:
    orders = golden(TK, "orders_list.v2.json")
    orders["data"][0]["items"][0]["product"]["seller_product_code"] = "OCOP-1"
    rig = tiki({"/integration/v2/orders": (200, orders)})
    [line] = [line async for page in rig.adapter.list_orders() for line in page.lines]
    assert line.seller_sku == "OCOP-1"
    assert not any(p.startswith(f"{PRODUCTS}/") for p in rig.replay.paths())


async def test_an_order_item_without_quantity_is_a_response_shape_error(tiki: Build) -> None:
    orders = golden(TK, "orders_list.v2.json")
    del orders["data"][0]["items"][0]["invoice"]
    rig = tiki({"/integration/v2/orders": (200, orders)})
    with pytest.raises(ResponseShapeError) as caught:
        [page async for page in rig.adapter.list_orders()]
    assert caught.value.field.startswith("data.0.items.0")


@pytest.mark.parametrize(
    ("status", "name", "error"),
    [
        (429, "error.429.json", RateLimited),
        (404, "error.category_not_found.json", NotFound),
        (422, "update_sku.error.json", Rejected),
    ],
)
async def test_error_replies_become_typed_errors(tiki: Build, status: int, name: str, error: type[Exception]) -> None:
    rig = tiki({"/integration/v2/orders": (status, golden(TK, name))})
    with pytest.raises(error) as caught:
        [page async for page in rig.adapter.list_orders()]
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 1.0
    if isinstance(caught.value, Rejected):
        assert caught.value.field == "price"


def test_the_truncated_v2_detail_parses_and_lacks_only_what_was_not_captured() -> None:
    row = parse_payload(ProductRow, golden(TK, "product_detail.v2.partial.json"), marketplace=TK, operation="t")
    assert (row.product_id, row.sku, row.price, row.active) == (12345, "8935086810576", 27000, True)
    assert row.updated_at == datetime(2021, 2, 4, 3, 1, 1, tzinfo=UTC)
    assert row.missing() == ("original_sku", "inventory")


def test_the_v1_order_detail_reads_like_a_list_row() -> None:
    order = parse_payload(OrderRow, golden(TK, "order_detail.v1.json"), marketplace=TK, operation="t")
    assert (order.code, order.created_at) == ("929231617", datetime(2019, 10, 30, 10, 27, 17, tzinfo=UTC))
    assert [(item.id, item.quantity, item.seller_sku, item.tiki_product_id) for item in order.items] == [
        ("25203463", 1, "", 2050232)
    ]


# -- event queue ------------------------------------------------------------------------------

QUEUES = "/integration/v1/queues"
QUEUE = "5a84289f-ed78-4285-9670-9a34508fb4a7"


def _queues(request: httpx.Request) -> tuple[int, Any]:
    """The published list for GET; the published created queue for POST."""
    return (200, golden(TK, "queue_create.json")) if request.method == "POST" else (200, golden(TK, "queues_list.json"))


def _subscriptions(request: httpx.Request) -> tuple[int, Any]:
    """None yet for GET [I]; the published subscription for POST."""
    return (200, golden(TK, "subscription_create.json")) if request.method == "POST" else (200, [])


async def test_event_queue_is_created_subscribed_pulled_and_acknowledged(tiki: Build) -> None:
    rig = tiki(
        {
            QUEUES: _queues,
            f"{QUEUES}/{QUEUE}/subscriptions": _subscriptions,
            f"{QUEUES}/{QUEUE}/events/pull": (200, golden(TK, "events_pull.assumed.json")),
            f"{QUEUES}/{QUEUE}/events/ack": (200, {}),
        }
    )
    batch = await rig.adapter.pull_events()
    assert [(e.message_id, e.event_type, e.skus) for e in batch.events] == [
        ("tiki:evt-00000001", "ORDER_CREATED_SUCCESSFULLY", ()),  # an order: pull orders, no listing read
        ("tiki:evt-00000002", "PRODUCT_PRICE_UPDATED", ("xyz_abc",)),
    ]
    await rig.adapter.ack_events(batch)
    posted = [(r.method, r.url.path) for r in rig.replay.calls if r.method == "POST"]
    assert posted[1] == ("POST", QUEUES)  # our queue ("ocop-sync") was not in the published list: created
    assert [p for _, p in posted].count(f"{QUEUES}/{QUEUE}/subscriptions") == 3
    ack = rig.replay.calls[-1]
    assert ack.url.path.endswith("/events/ack") and json.loads(ack.content) == {"ack_id": batch.ack_id}
    assert batch.ack_id == "7d3c6a0e-2f4b-4c1e-9a55-0b8f2e1d4c33"
