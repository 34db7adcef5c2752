"""Each sandbox reply has the structure of the published (golden) reply of the same operation.

The sandboxes are driven over in-process HTTP, through the adapters' own flows where the
adapter calls the operation and by direct calls otherwise; every reply is recorded and
compared with the golden files of its operation (`shape_kit.problems`). Assumed extras are
listed here, next to the operation, and in the marketplace's README conformance table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from golden_kit import golden
from pydantic import SecretStr
from shape_kit import Recorder, Rules, problems, report

from adapters.base import AdapterConfig
from adapters.lazada import LazadaAdapter
from adapters.lazada.sandbox import LazadaSandbox
from adapters.lazada.signing import signed_params
from adapters.sandbox import FaultSpec, SandboxOptions, SandboxTransport, SellerAccount
from adapters.tiki import TikiAdapter
from adapters.tiki.sandbox import TikiSandbox
from schemas.listing import ListingContent, ListingDraft, ListingRef, PriceStockUpdate

pytestmark = pytest.mark.timeout(60)

SELLER = "G1"
BASE = "http://sandbox.local"


def draft(sku: str) -> ListingDraft:
    """A valid listing to create."""
    content = ListingContent(
        title="Mật ong rừng U Minh",
        description="OCOP 4 sao",
        images=(f"https://img.example.vn/{sku}.jpg",),
        brand="HTX U Minh",
        category_key=3,
        unit="chai",
        weight_g=650,
        attributes={"ocop_stars": "4"},
    )
    return ListingDraft(seller_sku=sku, content=content, price_vnd=125_000, stock=40)


def options(credentials: dict[str, str]) -> SandboxOptions:
    """Sandbox options for one seller, no review delay, no throttling."""
    seller = SellerAccount(seller_id=SELLER, credentials=credentials)
    return SandboxOptions(sellers=(seller,), seed=3, rate_limit_per_s=100_000, qc_delay_s=0)


def config(name: str, credentials: dict[str, str]) -> AdapterConfig:
    """The shop config for seller G1 on the sandbox."""
    secrets = {k: SecretStr(v) for k, v in credentials.items()}
    return AdapterConfig(
        marketplace=name, shop_id=f"{name}-shapes", seller_id=SELLER, base_url=BASE, credentials=secrets
    )


# -- Lazada ----------------------------------------------------------------------------------

LZ_RULES: dict[str, Rules] = {
    "token_refresh": Rules(required=("access_token", "refresh_token", "expires_in")),
    "token_create": Rules(required=("access_token", "refresh_token", "expires_in")),
    "products_get": Rules(
        open=frozenset({"data.products[].attributes"}),
        required=(
            "data.total_products",
            "data.products[].item_id",
            "data.products[].updated_time",
            "data.products[].images",
            "data.products[].skus[].SellerSku",
            "data.products[].skus[].SkuId",
            "data.products[].skus[].price",
            "data.products[].skus[].quantity",
        ),
    ),
    "item_get": Rules(open=frozenset({"data.attributes"}), required=("data.item_id", "data.skus[].SellerSku")),
    "create": Rules(required=("data.item_id", "data.sku_list[].seller_sku", "data.sku_list[].sku_id")),
    "update": Rules(required=("code",)),
    "price_quantity": Rules(required=("code",)),
    "price_quantity_failure": Rules(required=("code", "detail[].seller_sku", "detail[].message")),
    "deactivate": Rules(required=("code",)),
    "orders_get": Rules(required=("data.count", "data.orders[].order_id", "data.orders[].created_at")),
    "order_items_get": Rules(required=("data[].order_item_id", "data[].sku", "data[].status")),
    "error": Rules(required=("code", "message", "request_id")),
}


async def _lazada_call(http: httpx.AsyncClient, path: str, params: dict[str, str], token: str | None = None) -> Any:
    creds = LazadaAdapter.sandbox_credentials(SELLER)
    signed = signed_params(
        path,
        params,
        app_key=creds["app_key"],
        app_secret=creds["app_secret"],
        now=datetime.now(UTC),
        access_token=token,
    )
    if path.startswith("/auth/"):
        return (await http.post(f"/rest{path}", data=signed)).json()
    return (await http.get(f"/rest{path}", params=signed)).json()


async def test_lazada_sandbox_replies_have_the_published_structure() -> None:
    creds = LazadaAdapter.sandbox_credentials(SELLER)
    sandbox = LazadaSandbox(options(creds))
    recorder = Recorder(SandboxTransport(sandbox.app))
    async with httpx.AsyncClient(transport=recorder, base_url=BASE) as http:
        adapter = LazadaAdapter.from_config(config("lazada", creds), http)
        created = await adapter.create(draft("LZ-A"))
        await adapter.create(draft("LZ-B"))
        [page async for page in adapter.list_listings()]
        await adapter.update_content(created.ref, draft("LZ-A").content)
        await adapter.set_price_stock([PriceStockUpdate(ref=created.ref, price_vnd=99_000, stock=7)])
        ghost = ListingRef(seller_sku="LZ-GHOST", external_id=created.ref.external_id, external_sku_id="1")
        await adapter.set_price_stock([PriceStockUpdate(ref=ghost, price_vnd=1, stock=1)])
        await adapter.set_active([created.ref], active=False)
        await adapter.set_active([created.ref], active=True)
        sandbox.simulate_buyers(SELLER, 2)
        [page async for page in adapter.list_orders()]
        token = adapter.export_tokens()["access_token"]
        await _lazada_call(http, "/product/item/get", {"item_id": str(created.ref.external_id)}, token)
        await _lazada_call(http, "/auth/token/create", {"code": sandbox.issue_auth_code(SELLER)})
        await _lazada_call(http, "/products/get", {"filter": "all"}, "not-a-token")
        sandbox.faults.set_spec(FaultSpec(throttle_rate=1.0))
        await _lazada_call(http, "/products/get", {"filter": "all"}, token)

    def bodies(suffix: str, failed: bool | None = False) -> list[Any]:
        found: list[Any] = recorder.bodies(suffix)
        if failed is None:
            return found
        return [b for b in found if (str(b.get("code")) != "0") == failed]

    lz = "lazada"
    checks = [
        ("token_refresh", bodies("/auth/token/refresh"), ["token_refresh.json"]),
        ("token_create", bodies("/auth/token/create"), ["token_create.json"]),
        ("products_get", bodies("/products/get"), ["products_get.json"]),
        ("item_get", bodies("/product/item/get"), ["product_item_get.json", "product_item_get.images_list.json"]),
        ("create", bodies("/product/create"), ["product_create.json"]),
        ("update", bodies("/product/update"), ["product_update.json"]),
        ("price_quantity", bodies("/product/price_quantity/update"), ["price_quantity_update.json"]),
        (
            "price_quantity_failure",
            bodies("/product/price_quantity/update", failed=True),
            ["price_quantity_update.sku_failure.assumed.json"],
        ),
        ("deactivate", bodies("/product/deactivate"), ["product_deactivate.json"]),
        ("orders_get", bodies("/orders/get"), ["orders_get.iso_time.json", "orders_get.lazada_time.json"]),
        ("order_items_get", bodies("/order/items/get"), ["order_items_get.json"]),
        (
            "error",
            bodies("/products/get", failed=True),
            ["error.illegal_access_token.assumed.json", "error.api_call_limit.assumed.json"],
        ),
    ]
    found: list[str] = []
    for operation, replies, files in checks:
        assert replies, f"the flow produced no {operation} reply"
        found += report(operation, replies, [golden(lz, f) for f in files], LZ_RULES[operation])
    assert not found, "\n".join(found)


# -- Tiki ------------------------------------------------------------------------------------

PRODUCT_RULES = Rules(
    # [I] list rows with attributes: the list samples are summaries without them, but the adapter
    # reads our content fields from them (see adapters/tiki/README.md)
    extras=frozenset({"data[].attributes"}),
    open=frozenset({"data[].attributes"}),
    required=("data[].id", "data[].sku", "data[].price", "data[].active", "paging.last_page"),
)
REQUEST_EXTRAS = frozenset(
    f"data[].{key}" for key in ("track_id", "original_sku", "product_id", "sku", "name", "price", "updated_at")
) | {"data[].product_info"}
TIKI_RULES: dict[str, Rules] = {
    "token": Rules(required=("access_token", "expires_in")),
    "products": PRODUCT_RULES,
    "detail": Rules(open=frozenset({"attributes"}), required=("original_sku", "inventory.quantity_available")),
    "create": Rules(required=("track_id", "state")),
    "requests": Rules(extras=REQUEST_EXTRAS, open=frozenset({"data[].product_info"}), required=("data", "paging")),
    "update_sku": Rules(required=("state",)),
    "update_skus": Rules(required=("data[].state",)),
    "orders": Rules(
        extras=frozenset({"data[].items[].product.seller_product_code"}),
        required=("data[].code", "data[].created_at", "data[].items[].invoice.quantity", "data[].items[].product.id"),
    ),
    "errors": Rules(required=("errors",)),
    "categories": Rules(),
    "category": Rules(required=("id", "attributes[].code", "attributes[].is_required")),
    "queues": Rules(required=()),
    "queue": Rules(required=("code", "name", "status")),
    "subscription": Rules(required=("code", "active", "event_type", "sid")),
    # the payload's fields depend on the event type (the event-type page lists them per type)
    "events": Rules(open=frozenset({"events[].payload"}), required=("ack_id", "events")),
}


async def test_tiki_sandbox_replies_have_the_published_structure() -> None:
    creds = TikiAdapter.sandbox_credentials(SELLER)
    sandbox = TikiSandbox(options(creds))
    recorder = Recorder(SandboxTransport(sandbox.app))
    async with httpx.AsyncClient(transport=recorder, base_url=BASE) as http:
        adapter = TikiAdapter.from_config(config("tiki", creds), http)
        await adapter.create(draft("TK-A"))
        sandbox.clock.advance(3600)
        sandbox.tick_reviews()
        listing = await adapter.get_listing("TK-A")
        assert listing is not None and listing.ref.external_id
        [page async for page in adapter.list_listings()]
        await adapter.update_content(listing.ref, draft("TK-A").content)
        await adapter.set_price_stock([PriceStockUpdate(ref=listing.ref, price_vnd=99_000, stock=7)])
        await adapter.set_active([listing.ref], active=True)
        await adapter.pull_events()  # the event queue: created and subscribed, nothing yet
        sandbox.simulate_buyers(SELLER, 2)
        [page async for page in adapter.list_orders()]
        await adapter.ack_events(await adapter.pull_events())
        headers = {"Authorization": f"Bearer {sandbox.issue_token(SELLER)}"}
        await http.get("/integration/v1/queues", headers=headers)
        product_id = listing.ref.external_id
        await http.get(f"/integration/v2/products/{product_id}", headers=headers)
        await http.put(
            "/integration/v2/products/updateSku", json={"product_id": product_id, "price": 98_000}, headers=headers
        )
        await http.put("/integration/v2/products/updateSku", json={"product_id": 999, "price": 1}, headers=headers)
        await adapter.categories()
        await adapter.category_attributes(4392)
        await http.get("/integration/v2/categories/99", headers=headers)

    tk = "tiki"
    list_files = ["products_list.v2.json", "products_list.v1.json", "products_findby.v1.json"]
    lists = [golden(tk, f) for f in list_files]
    # `include=inventory` is documented to add the inventory block to list rows; no list sample shows
    # one, so its structure is the detail sample's block.
    lists.append({"data": [{"inventory": golden(tk, "product_detail.v1.json")["inventory"]}]})
    details = ["product_detail.v1.json", "product_detail.v2.partial.json"]
    checks = [
        ("token", recorder.bodies("/sc/oauth2/token"), ["token.json"]),
        ("products", recorder.bodies("/integration/v2/products"), lists),
        ("products", recorder.bodies("/products/findBy"), lists),
        ("detail", recorder.bodies(f"/products/{product_id}"), details),
        ("create", recorder.bodies("/integration/v2.1/requests", method="POST"), ["product_request_create.json"]),
        ("create", recorder.bodies("/requests/updateProductInfo"), ["product_request_create.json"]),
        ("requests", recorder.bodies("/integration/v2/requests", method="GET"), ["requests_list.v2.json"]),
        ("update_sku", recorder.bodies("/products/updateSku"), ["update_sku.json"]),
        ("update_skus", recorder.bodies("/products/updateSkus"), ["update_skus.assumed.json"]),
        ("orders", recorder.bodies("/integration/v2/orders"), ["orders_list.v2.json"]),
        ("errors", recorder.bodies("/products/updateSku", status=404), ["error.category_not_found.json"]),
        ("categories", recorder.bodies("/integration/v2/categories"), ["categories.v1.json"]),
        ("category", recorder.bodies("/integration/v2/categories/4392"), ["category_detail.v1.json"]),
        ("errors", recorder.bodies("/integration/v2/categories/99", status=404), ["error.category_not_found.json"]),
        ("queues", recorder.bodies("/integration/v1/queues", method="GET"), ["queues_list.json"]),
        ("queue", recorder.bodies("/integration/v1/queues", method="POST"), ["queue_create.json"]),
        ("subscription", recorder.bodies("/subscriptions", method="POST"), ["subscription_create.json"]),
        ("events", recorder.bodies("/events/pull"), ["events_pull.assumed.json"]),
    ]
    found: list[str] = []
    for operation, replies, files in checks:
        assert replies, f"the flow produced no {operation} reply"
        variants = [golden(tk, f) if isinstance(f, str) else f for f in files]
        found += report(operation, replies, variants, TIKI_RULES[operation])
    assert not found, "\n".join(found)


async def test_tiki_sandbox_throttling_has_the_published_429_body() -> None:
    creds = TikiAdapter.sandbox_credentials(SELLER)
    sandbox = TikiSandbox(options(creds).model_copy(update={"faults": FaultSpec(throttle_rate=1.0)}))
    async with httpx.AsyncClient(transport=SandboxTransport(sandbox.app), base_url=BASE) as http:
        headers = {"Authorization": f"Bearer {sandbox.issue_token(SELLER)}"}
        reply = await http.get("/integration/v2/products", headers=headers)
    assert reply.status_code == 429 and "retry-after" not in reply.headers
    assert reply.json() == golden("tiki", "error.429.json")


def test_the_comparison_flags_an_undocumented_key_and_a_wrong_type() -> None:
    golden_reply = {"data": [{"id": 1, "price": "10.00", "tags": ["a"]}]}
    assert problems({"data": [{"id": "1", "price": 10, "tags": []}]}, [golden_reply]) == []
    found = problems({"data": [{"id": 1, "extra": 1, "tags": "a"}]}, [golden_reply], Rules(required=("data[].price",)))
    assert found == [
        "missing required data[].price",
        "data[].extra: not in any golden variant",
        "data[].tags: string, golden has ['array']",
    ]
