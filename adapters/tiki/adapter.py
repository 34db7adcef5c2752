"""The Tiki adapter: the engine's protocol on top of Tiki Open API v2/v2.1.

Creates and content updates are review requests (`track_id`); the adapter folds open and
rejected requests into the listings it reports, so a SKU whose create is still in review
shows as QC pending (never as missing, which would make the engine create it twice).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from adapters.base import AdapterConfig, Capabilities, ContentRules, TokenInfo, secret
from adapters.categories import Category, CategoryAttribute
from adapters.errors import ConfigError, NotFound, Rejected
from adapters.paging import ListingRead, pages_in_order
from adapters.tiki.categories import CATEGORIES_PATH, TkCategories, TkCategoryDetail, attributes_of, tree_of
from adapters.tiki.client import TikiClient
from adapters.tiki.details import ProductDetails
from adapters.tiki.events import TikiEvents
from adapters.tiki.mapping import (
    DEFAULT_CATEGORY_IDS,
    create_body,
    format_time,
    guess_field,
    listing_of,
    listing_of_request,
    newest_requests,
    order_lines,
    product_key,
    qc_of,
    sku_item,
    update_info_body,
)
from adapters.tiki.reads import TikiRead
from adapters.tiki.replies import OrdersPage as TikiOrdersPage
from adapters.tiki.replies import (
    ProductRow,
    ProductsPage,
    RequestRow,
    RequestsPage,
    SkusResponse,
    TrackResponse,
)
from schemas.listing import (
    CreateResult,
    EventBatch,
    ItemOutcome,
    ItemResult,
    Listing,
    ListingContent,
    ListingDraft,
    ListingRef,
    ListingsPage,
    OrderLine,
    PriceStockUpdate,
    QcStatus,
)
from schemas.listing import OrdersPage as LinesPage

if TYPE_CHECKING:
    from adapters.sandbox import SandboxOptions
    from adapters.tiki.sandbox import TikiSandbox

PAGE_SIZE = 50
WRITE_BATCH_SIZE = 50
DEEP_PAGING_CAP = 10_000
PRODUCTS = "/integration/v2/products"
REQUESTS = "/integration/v2/requests"


class TikiAdapter:
    """One Tiki seller account (in-house app, client_credentials) behind `MarketplaceAdapter`."""

    name: ClassVar[str] = "tiki"
    capabilities: ClassVar[Capabilities] = Capabilities(
        page_size=PAGE_SIZE,
        write_batch_size=WRITE_BATCH_SIZE,
        listing_since=True,
        reviewed_creates=True,
        reviewed_content_updates=True,
        orders=True,
        requests_per_second=200,
        # [I] name up to 255 characters, at least one https image, brand required; origin,
        # shelf life per category via options.required_attributes; price at least 1,000 VND (docs/connect.md)
        content_rules=ContentRules(
            title_max_chars=255,
            images_min=1,
            images_max=20,
            price_min_vnd=1_000,
            price_max_vnd=500_000_000,
            required_attributes=("brand",),
        ),
    )
    credential_names: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")

    def __init__(self, client: TikiClient, options: Mapping[str, Any] | None = None) -> None:
        options = dict(options or {})
        self.client = client
        self.details = ProductDetails(client)
        self.page_size = int(options.get("page_size", PAGE_SIZE))
        self.batch_size = int(options.get("write_batch_size", WRITE_BATCH_SIZE))
        self.deep_paging_cap = int(options.get("deep_paging_cap", DEEP_PAGING_CAP))
        warehouse = options.get("warehouse_id")
        self.warehouse_id = int(warehouse) if warehouse is not None else None
        self.grant = str(options.get("grant", "client_credentials"))
        raw_map = options.get("category_map") or DEFAULT_CATEGORY_IDS
        self.category_ids = {int(k): int(v) for k, v in dict(raw_map).items()}
        self.events = TikiEvents(client, queue_name=str(options.get("event_queue", "ocop-sync")))

    # -- factory --------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: AdapterConfig, http: httpx.AsyncClient) -> TikiAdapter:
        """Build the adapter for one shop from its config and HTTP client."""
        auth = str(config.options.get("client_auth", "basic"))
        if auth not in ("basic", "post"):
            raise ConfigError(f"tiki shop {config.shop_id}: client_auth must be 'basic' or 'post', not {auth!r}")
        client = TikiClient(
            http,
            base_url=config.base_url,
            client_id=secret(config, "client_id"),
            client_secret=secret(config, "client_secret"),
            client_auth=auth,
            scope=str(config.options.get("scope", "")),
        )
        return cls(client, config.options)

    @classmethod
    def create_sandbox(cls, options: SandboxOptions) -> TikiSandbox:
        """Build the Tiki simulator (imported lazily: production code never loads Starlette apps)."""
        from adapters.tiki.sandbox import TikiSandbox

        return TikiSandbox(options)

    @classmethod
    def sandbox_credentials(cls, seller_id: str) -> dict[str, str]:
        """The sandbox-only client credentials the simulator accepts for `seller_id`."""
        return {"client_id": f"sbx-tiki-{seller_id}", "client_secret": f"sbx-tiki-secret-{seller_id}"}

    # -- auth -----------------------------------------------------------------------------------

    async def refresh_auth(self) -> TokenInfo:
        """Get a new access token (client_credentials has no refresh token: it is simply re-run)."""
        return await self.client.fetch_token()

    def uses_browser_authorization(self) -> bool:
        """True for a partner app (`options.grant = "authorization_code"`), False for an in-house app."""
        return self.grant == "authorization_code"

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str = "") -> str:
        """Tiki's authorisation page for this partner app (PKCE S256)."""
        return self.client.authorize_url(redirect_uri=redirect_uri, state=state, code_challenge=code_challenge)

    async def exchange_code(self, code: str, *, redirect_uri: str = "", code_verifier: str = "") -> TokenInfo:
        """Turn the seller's authorisation code into an access and refresh token."""
        return await self.client.exchange_code(code, redirect_uri=redirect_uri, code_verifier=code_verifier)

    def token_info(self) -> TokenInfo:
        """The current token's expiry, without any network call."""
        return self.client.token_info()

    def export_tokens(self) -> dict[str, str]:
        """The current access token, for the engine to store encrypted."""
        return self.client.export_tokens()

    def import_tokens(self, tokens: dict[str, str]) -> None:
        """Resume with a token stored earlier."""
        self.client.import_tokens(tokens)

    # -- categories -----------------------------------------------------------------------------

    async def categories(self) -> list[Category]:
        """Every Tiki category (Vietnamese names), with its path; `primary` ones are the leaves."""
        body, _ = await self.client.call_model(
            TkCategories, "GET", CATEGORIES_PATH, operation="categories", is_write=False, params={"lang": "vi"}
        )
        return tree_of(body.root)

    async def category_attributes(self, category_id: int) -> list[CategoryAttribute]:
        """The attributes a category asks for (required ones marked), from the category detail."""
        body, _ = await self.client.call_model(
            TkCategoryDetail,
            "GET",
            f"{CATEGORIES_PATH}/{category_id}",
            operation="category_attributes",
            is_write=False,
            params={"lang": "vi"},
        )
        return attributes_of(body)

    # -- reads ----------------------------------------------------------------------------------

    async def _requests_page(self, state: str, page: int, since: datetime | None) -> tuple[list[RequestRow], int]:
        """One page of the requests in one state (optionally updated since `since`) and the last page number."""
        params: dict[str, str | int] = {
            "state": state,
            "page": page,
            "limit": self.page_size,
            "include": "product_info",
        }
        if since is not None:
            params["updated_from_date"] = format_time(since)
        body, _ = await self.client.call_model(
            RequestsPage, "GET", REQUESTS, operation="list_requests", is_write=False, params=params
        )
        return [r for r in body.data if r.state == state], body.paging.last_page

    async def _requests_for(self, seller_sku: str) -> list[RequestRow]:
        """All requests Tiki holds for one seller SKU (`GET /requests/findBy`)."""
        try:
            body, _ = await self.client.call_model(
                RequestsPage,
                "GET",
                f"{REQUESTS}/findBy",
                operation="find_requests",
                is_write=False,
                params={"original_sku": seller_sku, "include": "product_info"},
            )
        except NotFound:
            return []
        return [r for r in body.data if r.original_sku == seller_sku]

    async def _product_for(self, seller_sku: str) -> tuple[ProductRow | None, str]:
        """The product with this original SKU (or None), and the request id of the look-up."""
        try:
            body, request_id = await self.client.call_model(
                ProductsPage,
                "GET",
                f"{PRODUCTS}/findBy",
                operation="find_product",
                is_write=False,
                params={"original_sku": seller_sku, "include": "inventory"},
            )
        except NotFound:
            return None, ""
        rows = [await self.details.complete(row, request_id) for row in body.data]
        return next((p for p in rows if p.original_sku == seller_sku), None), request_id

    def list_listings(self, since: datetime | None = None) -> AsyncIterator[ListingsPage]:
        """Yield the shop's listings (or those updated since `since`), open creates included, one page after another."""
        return pages_in_order(self.listing_read(since))

    def listing_read(self, since: datetime | None = None, partitions: int = 1) -> ListingRead:
        """A resumable read (`adapters.tiki.reads`): with `partitions` > 1 its pages may be read side by side."""
        return TikiRead(self, since, partitions)

    async def _product_page(
        self, page: int, created_to: str | None, since: datetime | None
    ) -> tuple[ProductsPage, str]:
        """One page of product rows (newest created first), below `created_to` when given."""
        params: dict[str, str | int] = {"page": page, "limit": self.page_size, "include": "inventory"}
        if since is not None:
            params["updated_from_date"] = format_time(since)
        if created_to is not None:
            params["created_to_date"] = created_to
        return await self.client.call_model(
            ProductsPage, "GET", PRODUCTS, operation="list_products", is_write=False, params=params
        )

    async def get_listing(self, seller_sku: str) -> Listing | None:
        """The listing for one seller SKU: the product, or the create request still in review."""
        product, request_id = await self._product_for(seller_sku)
        requests = await self._requests_for(seller_sku)
        if product is not None:
            updates = newest_requests([r for r in requests if r.kind != "create_product"])
            update = updates.get(seller_sku)
            if update is not None and qc_of(update) is QcStatus.APPROVED:
                update = None
            return listing_of(product, update, self.category_ids, request_id=request_id)
        creates = [r for r in requests if r.kind == "create_product" and r.state != "deleted"]
        newest = newest_requests(creates).get(seller_sku)
        return listing_of_request(newest, self.category_ids) if newest is not None else None

    # -- writes ---------------------------------------------------------------------------------

    async def create(self, draft: ListingDraft) -> CreateResult:
        """Submit a product request; the product appears (inactive) once Tiki approves it."""
        body, _ = await self.client.call_model(
            TrackResponse,
            "POST",
            "/integration/v2.1/requests",
            operation="create",
            is_write=True,
            json=create_body(draft, self.category_ids),
        )
        ref = ListingRef(seller_sku=draft.seller_sku, request_id=body.track_id)
        return CreateResult(ref=ref, qc_status=QcStatus.PENDING)

    async def update_content(self, ref: ListingRef, content: ListingContent) -> ItemResult:
        """Submit a content-update request; OK means accepted for review, not yet live."""
        try:
            body, _ = await self.client.call_model(
                TrackResponse,
                "POST",
                "/integration/v2.1/requests/updateProductInfo",
                operation="update_content",
                is_write=True,
                json=update_info_body(ref, content, self.category_ids),
            )
        except (Rejected, NotFound) as exc:
            return _refused(ref.seller_sku, exc)
        return ItemResult(seller_sku=ref.seller_sku, outcome=ItemOutcome.OK, code=body.state, message=body.track_id)

    async def set_price_stock(self, batch: Sequence[PriceStockUpdate]) -> list[ItemResult]:
        """Set price and available stock with `updateSkus`; one result per SKU, in input order."""
        items = [(u.ref, sku_item(u, self.warehouse_id)) for u in batch]
        return await self._update_skus_in_chunks(items, "set_price_stock")

    async def set_active(self, refs: Sequence[ListingRef], active: bool) -> list[ItemResult]:
        """Activate or deactivate listings with `updateSkus` (`active` 1/0); one result per SKU."""
        items = [(ref, {**product_key(ref), "active": 1 if active else 0}) for ref in refs]
        return await self._update_skus_in_chunks(items, "set_active")

    async def _update_skus_in_chunks(
        self, items: Sequence[tuple[ListingRef, dict[str, Any]]], operation: str
    ) -> list[ItemResult]:
        results: list[ItemResult] = []
        for start in range(0, len(items), self.batch_size):
            results.extend(await self._update_skus(items[start : start + self.batch_size], operation))
        return results

    async def _update_skus(
        self, chunk: Sequence[tuple[ListingRef, dict[str, Any]]], operation: str
    ) -> list[ItemResult]:
        body, _ = await self.client.call_model(
            SkusResponse,
            "PUT",
            "/integration/v2.1/products/updateSkus",
            operation=operation,
            is_write=True,
            json={"data": [item for _, item in chunk]},
        )
        by_key: dict[str, Any] = {}
        for found_item in body.data:
            if found_item.original_sku:
                by_key[f"sku:{found_item.original_sku}"] = found_item
            if found_item.product_id is not None:
                by_key[f"id:{found_item.product_id}"] = found_item
        results: list[ItemResult] = []
        for ref, _ in chunk:
            key = product_key(ref)
            found = by_key.get(f"id:{key['product_id']}" if "product_id" in key else f"sku:{ref.seller_sku}")
            sku = ref.seller_sku
            if found is None:
                results.append(ItemResult(seller_sku=sku, outcome=ItemOutcome.FAILED, message="no result for item"))
            elif found.state == "approved":
                results.append(ItemResult(seller_sku=sku, outcome=ItemOutcome.OK, code=found.state))
            else:
                message = "; ".join(found.errors) or found.state
                outcome = ItemOutcome.REJECTED if found.state == "rejected" else ItemOutcome.FAILED
                field = _field_of(found.errors)
                results.append(
                    ItemResult(seller_sku=sku, outcome=outcome, code=found.state, message=message, field=field)
                )
        return results

    # -- orders ---------------------------------------------------------------------------------

    async def list_orders(self, since: datetime | None = None) -> AsyncIterator[LinesPage]:
        """Yield order lines of orders updated since `since`, de-duplicated across shifting pages.

        `updated_from_date` on orders is [assumed]: Tiki publishes it for the product list;
        reading by update time brings back an order cancelled or returned after it was counted.
        """
        seen: set[tuple[str, str]] = set()
        resolved: dict[int, str] = {}
        page = 1
        while True:
            params: dict[str, str | int] = {"page": page, "limit": self.page_size}
            if since is not None:
                params["updated_from_date"] = format_time(since)
            body, request_id = await self.client.call_model(
                TikiOrdersPage, "GET", "/integration/v2/orders", operation="list_orders", is_write=False, params=params
            )
            lines: list[OrderLine] = []
            for order in body.data:
                await self.details.resolve_order_skus(order, resolved, request_id)
                for line in order_lines(order, resolved):
                    if (line.order_id, line.line_id) not in seen:
                        seen.add((line.order_id, line.line_id))
                        lines.append(line)
            done = page >= body.paging.last_page or not body.data
            yield LinesPage(lines=tuple(lines), next_cursor=None if done else f"page={page + 1}")
            if done:
                return
            page += 1

    # -- event queue ----------------------------------------------------------------------------

    async def pull_events(self) -> EventBatch:
        """Pull the next events of this seller's queue (`EventFeed`); see `adapters.tiki.events`."""
        return await self.events.pull()

    async def ack_events(self, batch: EventBatch) -> None:
        """Acknowledge a pulled batch so Tiki does not deliver it again."""
        await self.events.ack(batch)


def _field_of(errors: Sequence[str]) -> str:
    return guess_field(errors[0]) if errors else ""


def _refused(seller_sku: str, exc: Rejected | NotFound) -> ItemResult:
    field = exc.field if isinstance(exc, Rejected) else "original_sku"
    return ItemResult(
        seller_sku=seller_sku, outcome=ItemOutcome.REJECTED, code=exc.code, message=exc.message, field=field
    )


__all__ = ["TikiAdapter"]
