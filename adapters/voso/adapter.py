"""`VosoAdapter`: the engine's view of one Voso shop, over the assumed Voso partner API.

Translates only: `schemas` models to Voso payloads and back, Voso replies to typed errors.
It never retries or sleeps; the one implicit extra call is logging in when no token is held.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

import httpx

from adapters.base import AdapterConfig, Capabilities, Model, TokenInfo, parse_payload, secret
from adapters.errors import NotFound, Rejected
from adapters.paging import ListingRead, pages_in_order
from adapters.voso.client import MARKETPLACE, VosoClient
from adapters.voso.mapping import (
    REVIEW_TO_QC,
    VosoBatchResult,
    VosoOrderPage,
    VosoProduct,
    VosoProductPage,
    VosoUpsertResult,
    content_to_wire,
    draft_to_wire,
    item_result,
    listing_from_wire,
    order_lines,
    price_stock_to_wire,
    to_ms,
)
from schemas.listing import (
    CreateResult,
    ItemOutcome,
    ItemResult,
    Listing,
    ListingContent,
    ListingDraft,
    ListingRef,
    ListingsPage,
    OrdersPage,
    PagePosition,
    PriceStockUpdate,
    QcStatus,
)

if TYPE_CHECKING:
    from adapters.sandbox import SandboxOptions
    from adapters.voso.sandbox import VosoSandbox

PAGE_SIZE = 100
BATCH_SIZE = 100
ORDERS_PAGE_SIZE = 100


class VosoAdapter:
    """One Voso seller account (assumed partner contract, see adapters/voso/README.md)."""

    name: ClassVar[str] = MARKETPLACE
    capabilities: ClassVar[Capabilities] = Capabilities(
        page_size=PAGE_SIZE,
        write_batch_size=BATCH_SIZE,
        listing_since=True,
        reviewed_creates=True,
        reviewed_content_updates=False,
        orders=True,
        requests_per_second=20,
    )
    credential_names: ClassVar[tuple[str, ...]] = ("username", "password")

    def __init__(self, config: AdapterConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self._client = VosoClient(http, username=secret(config, "username"), password=secret(config, "password"))

    # -- factory ----------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: AdapterConfig, http: httpx.AsyncClient) -> VosoAdapter:
        """Build the adapter for one shop."""
        return cls(config, http)

    @classmethod
    def create_sandbox(cls, options: SandboxOptions) -> VosoSandbox:
        """The Voso simulator."""
        from adapters.voso.sandbox import VosoSandbox

        return VosoSandbox(options)

    @classmethod
    def sandbox_credentials(cls, seller_id: str) -> dict[str, str]:
        """The login the Voso sandbox accepts for `seller_id` (sandbox-only, not a secret)."""
        digest = hashlib.sha256(f"voso-sandbox:{seller_id}".encode()).hexdigest()[:12]
        return {"username": f"{seller_id.lower()}@sandbox.voso.local", "password": f"sandbox-{digest}"}

    # -- reading ----------------------------------------------------------------------------

    def list_listings(self, since: datetime | None = None) -> AsyncIterator[ListingsPage]:
        """Yield pages of the shop's listings (those updated at or after `since`), one after another."""
        return pages_in_order(self.listing_read(since))

    def listing_read(self, since: datetime | None = None, partitions: int = 1) -> ListingRead:
        """A resumable read by page number: page 1 tells how many pages follow, which may be read side by side."""
        return _VosoRead(self, since)

    async def _listing_page(self, number: int, since: datetime | None) -> tuple[VosoProductPage, str]:
        params: dict[str, str | int] = {"page": number, "limit": PAGE_SIZE}
        if since is not None:
            params["updated_since"] = to_ms(since)
        reply = await self._client.call(
            "GET", "/v1/partner/products", operation="list_listings", is_write=False, params=params
        )
        return self._parse(VosoProductPage, reply.data, "list_listings", reply.request_id), reply.request_id

    async def get_listing(self, seller_sku: str) -> Listing | None:
        """The listing for `seller_sku` (pending or rejected ones included), or None."""
        try:
            reply = await self._client.call(
                "GET",
                "/v1/partner/products/detail",
                operation="get_listing",
                is_write=False,
                params={"seller_sku": seller_sku},
            )
        except NotFound:
            return None
        return listing_from_wire(self._parse(VosoProduct, reply.data, "get_listing", reply.request_id))

    # -- writing ----------------------------------------------------------------------------

    async def create(self, draft: ListingDraft) -> CreateResult:
        """Upsert the listing by seller SKU; a new one enters Voso's OCOP review."""
        reply = await self._client.call(
            "POST",
            "/v1/partner/products/upsert",
            operation="create",
            is_write=True,
            body={"product": draft_to_wire(draft), "create_if_missing": True},
        )
        result = self._parse(VosoUpsertResult, reply.data, "create", reply.request_id)
        ref = ListingRef(seller_sku=result.seller_sku, external_id=str(result.product_id))
        return CreateResult(ref=ref, qc_status=listing_qc(result.review.status))

    async def update_content(self, ref: ListingRef, content: ListingContent) -> ItemResult:
        """Replace the content of an existing listing; a refusal comes back as a REJECTED result."""
        try:
            reply = await self._client.call(
                "POST",
                "/v1/partner/products/upsert",
                operation="update_content",
                is_write=True,
                body={"product": content_to_wire(ref.seller_sku, content), "create_if_missing": False},
            )
        except Rejected as exc:
            return ItemResult(
                seller_sku=ref.seller_sku,
                outcome=ItemOutcome.REJECTED,
                code=exc.code,
                message=exc.reason,
                field=exc.field,
            )
        except NotFound as exc:
            return ItemResult(
                seller_sku=ref.seller_sku, outcome=ItemOutcome.REJECTED, code=exc.code, message=exc.message
            )
        self._parse(VosoUpsertResult, reply.data, "update_content", reply.request_id)
        return ItemResult(seller_sku=ref.seller_sku, outcome=ItemOutcome.OK)

    async def set_price_stock(self, batch: Sequence[PriceStockUpdate]) -> list[ItemResult]:
        """Set price and stock of up to 100 SKUs in one call; one result per SKU."""
        _check_batch(batch)
        reply = await self._client.call(
            "POST",
            "/v1/partner/products/price-stock",
            operation="set_price_stock",
            is_write=True,
            body={"items": [price_stock_to_wire(u) for u in batch]},
        )
        return self._results(reply.data, "set_price_stock", reply.request_id, [u.ref.seller_sku for u in batch])

    async def set_active(self, refs: Sequence[ListingRef], active: bool) -> list[ItemResult]:
        """Activate or deactivate up to 100 listings; one result per SKU."""
        _check_batch(refs)
        operation = "activate" if active else "deactivate"
        reply = await self._client.call(
            "POST",
            f"/v1/partner/products/{operation}",
            operation=operation,
            is_write=True,
            body={"seller_skus": [r.seller_sku for r in refs]},
        )
        return self._results(reply.data, operation, reply.request_id, [r.seller_sku for r in refs])

    # -- orders -----------------------------------------------------------------------------

    async def list_orders(self, since: datetime | None = None) -> AsyncIterator[OrdersPage]:
        """Yield pages of order lines of orders updated (or created) at or after `since` ([assumed] `updated_since`)."""
        page = 1
        while True:
            params: dict[str, str | int] = {"page": page, "limit": ORDERS_PAGE_SIZE}
            if since is not None:
                params["updated_since"] = to_ms(since)
            reply = await self._client.call(
                "GET", "/v1/partner/orders", operation="list_orders", is_write=False, params=params
            )
            data = self._parse(VosoOrderPage, reply.data, "list_orders", reply.request_id)
            lines = tuple(line for order in data.items for line in order_lines(order))
            done = not data.items or page >= data.total_pages
            yield OrdersPage(lines=lines, next_cursor=None if done else str(page + 1))
            if done:
                return
            page += 1

    # -- auth -------------------------------------------------------------------------------

    async def refresh_auth(self) -> TokenInfo:
        """Log in again (Voso has no refresh token); AuthFailed when the login is refused."""
        await self._client.login()
        return self.token_info()

    def token_info(self) -> TokenInfo:
        """When the held token expires (None before the first login)."""
        return TokenInfo(access_expires_at=self._client.expires_at)

    def export_tokens(self) -> dict[str, str]:
        """The held token and its expiry."""
        return self._client.export()

    def import_tokens(self, tokens: dict[str, str]) -> None:
        """Resume with a token exported earlier."""
        self._client.restore(tokens)

    # -- helpers ----------------------------------------------------------------------------

    def _parse(self, model: type[Model], data: object, operation: str, request_id: str) -> Model:
        return parse_payload(model, data, marketplace=MARKETPLACE, operation=operation, request_id=request_id)

    def _results(self, data: object, operation: str, request_id: str, skus: list[str]) -> list[ItemResult]:
        """Per-SKU results in request order; a SKU the reply leaves out is a transient failure."""
        parsed = self._parse(VosoBatchResult, data, operation, request_id)
        by_sku = {r.seller_sku: item_result(r) for r in parsed.results}
        missing = ItemResult(seller_sku="", outcome=ItemOutcome.FAILED, code="NO_RESULT", message="no result for SKU")
        return [by_sku.get(sku) or missing.model_copy(update={"seller_sku": sku}) for sku in skus]


def listing_qc(status: str) -> QcStatus:
    """Our QC status for a Voso review status."""
    return REVIEW_TO_QC[status]


def _check_batch(items: Sequence[object]) -> None:
    if len(items) > BATCH_SIZE:
        raise ValueError(f"Voso batches hold at most {BATCH_SIZE} SKUs, got {len(items)}")


class _VosoRead:
    """One read of a Voso shop's products by page number (positions: "page" n)."""

    def __init__(self, adapter: VosoAdapter, since: datetime | None) -> None:
        self.adapter, self.since = adapter, since

    def start(self) -> list[PagePosition]:
        """Page 1."""
        return [PagePosition(kind="page", at="1")]

    async def page(self, at: PagePosition) -> ListingsPage:
        """One page; page 1 also returns the positions of every other page."""
        number = int(at.at)
        data, request_id = await self.adapter._listing_page(number, self.since)
        more = range(2, data.total_pages + 1) if number == 1 and data.items else range(0)
        return ListingsPage(
            listings=tuple(listing_from_wire(p) for p in data.items),
            request_id=request_id,
            position=at,
            follow=tuple(PagePosition(kind="page", at=str(n)) for n in more),
        )
