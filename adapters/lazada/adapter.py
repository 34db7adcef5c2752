"""`LazadaAdapter`: the `MarketplaceAdapter` protocol on top of the Lazada Open Platform.

Lazada keys listings by (item_id, SkuId); seller SKUs are looked up with `/products/get`
`sku_seller_list` when a ref lacks those ids. Tokens: the adapter starts from the shop's
refresh token, obtains an access token lazily on its first call, and rotates the refresh
token on every refresh (export it with `export_tokens`). It never retries or sleeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlencode

import httpx

from adapters.base import AdapterConfig, Capabilities, ContentRules, TokenInfo, optional_secret, secret
from adapters.categories import Category, CategoryAttribute
from adapters.errors import AuthFailed, NotFound, Rejected, ResponseShapeError
from adapters.lazada.categories import (
    ATTRIBUTES_PATH,
    TREE_PATH,
    LzAttributes,
    LzCategoryTree,
    attributes_of,
    flatten,
)
from adapters.lazada.client import (
    MARKETPLACE,
    ErrorKind,
    LazadaClient,
    LzEnvelope,
    Reply,
    api_url_of,
    auth_url_of,
    authorize_base_of,
    details_of,
    error_for,
    kind_of,
)
from adapters.lazada.mapping import (
    CategoryMap,
    LzCreateEnvelope,
    LzOrderItemsEnvelope,
    LzOrdersEnvelope,
    LzProduct,
    LzProductsEnvelope,
    LzToken,
    PriceQuantityRow,
    create_payload,
    deactivate_payload,
    iso_filter,
    listings_of,
    order_lines,
    price_quantity_payload,
    qc_of_item_status,
    reactivate_payload,
    seller_sku_list,
    update_payload,
)
from adapters.lazada.reads import LazadaRead
from adapters.paging import ListingRead, pages_in_order
from schemas.listing import (
    CreateResult,
    ItemOutcome,
    ItemResult,
    Listing,
    ListingContent,
    ListingDraft,
    ListingRef,
    ListingsPage,
    OrderLine,
    OrdersPage,
    PriceStockUpdate,
)

if TYPE_CHECKING:
    from adapters.lazada.sandbox import LazadaSandbox
    from adapters.sandbox import SandboxOptions

ORDERS_PAGE_SIZE = 100
LOOKUP_CHUNK = 50
RETRYABLE_KINDS = frozenset({ErrorKind.TRANSIENT, ErrorKind.SERVER_TIMEOUT, ErrorKind.RATE_LIMITED})


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _rejected(seller_sku: str, exc: Rejected | NotFound) -> ItemResult:
    field = exc.field if isinstance(exc, Rejected) else ""
    return ItemResult(
        seller_sku=seller_sku, outcome=ItemOutcome.REJECTED, code=exc.code, message=exc.message, field=field
    )


def _not_found(seller_sku: str) -> ItemResult:
    return ItemResult(
        seller_sku=seller_sku,
        outcome=ItemOutcome.REJECTED,
        code="NOT_FOUND",
        message="Không có sản phẩm Lazada với SKU này / no Lazada listing has this seller SKU",
        field="seller_sku",
    )


class LazadaAdapter:
    """One Lazada seller account, spoken to through the Lazada Open Platform REST API."""

    name: ClassVar[str] = "lazada"
    # 20 SKUs per price/stock call: Lazada allows 50 but recommends 20 (20..50 risks 513 /
    # ServiceTimeout), and one bad SKU fails the whole call, so small batches limit the retry.
    # 50 calls/s per seller is Lazada's only published per-seller limit (inventory APIs).
    capabilities: ClassVar[Capabilities] = Capabilities(
        page_size=50,
        write_batch_size=20,
        listing_since=True,
        reviewed_creates=True,
        reviewed_content_updates=False,
        orders=True,
        requests_per_second=50,
        # [I] product name up to 255 characters, 1..8 https images, brand required (may be
        # "No Brand"); price bounds are our assumption (see docs/connect.md, "Pre-flight rules")
        content_rules=ContentRules(
            title_max_chars=255,
            description_max_chars=25_000,
            images_min=1,
            images_max=8,
            price_min_vnd=1_000,
            price_max_vnd=500_000_000,
            required_attributes=("brand",),
        ),
    )
    credential_names: ClassVar[tuple[str, ...]] = ("app_key", "app_secret", "refresh_token")

    def __init__(
        self,
        client: LazadaClient,
        *,
        refresh_token: str,
        categories: CategoryMap | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._client = client
        self._refresh_token = refresh_token
        self._categories = categories or CategoryMap()
        self._clock = clock
        self._access_token: str | None = None
        self._access_expires_at: datetime | None = None
        self._refresh_expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"LazadaAdapter({self._client!r})"

    # -- factory ------------------------------------------------------------------------------

    @classmethod
    def from_config(
        cls, config: AdapterConfig, http: httpx.AsyncClient, *, clock: Callable[[], datetime] = utcnow
    ) -> LazadaAdapter:
        """Build an adapter for one shop from its settings and credentials."""
        api_url = api_url_of(config.base_url)
        client = LazadaClient(
            http,
            api_url=api_url,
            auth_url=auth_url_of(api_url, config.options),
            app_key=secret(config, "app_key"),
            app_secret=secret(config, "app_secret"),
            clock=clock,
        )
        return cls(
            client,
            refresh_token=optional_secret(config, "refresh_token"),
            categories=CategoryMap.from_options(config.options),
            clock=clock,
        )

    @classmethod
    def create_sandbox(cls, options: SandboxOptions) -> LazadaSandbox:
        """Build the Lazada simulator."""
        from adapters.lazada.sandbox import LazadaSandbox

        return LazadaSandbox(options)

    @classmethod
    def sandbox_credentials(cls, seller_id: str) -> dict[str, str]:
        """The sandbox-only app key, app secret and refresh token the simulator accepts for `seller_id`."""
        from adapters.lazada.sandbox import sandbox_credentials

        return sandbox_credentials(seller_id)

    # -- auth ---------------------------------------------------------------------------------

    async def refresh_auth(self) -> TokenInfo:
        """Exchange the refresh token for a new access token and a new (rotated) refresh token."""
        if not self._refresh_token:
            raise AuthFailed("no refresh token; the seller must authorise the app", marketplace=MARKETPLACE)
        reply = await self._client.call(
            "/auth/token/refresh",
            {"refresh_token": self._refresh_token},
            operation="refresh_auth",
            method="POST",
            auth_host=True,
        )
        self._keep(reply.parse(LzToken, "refresh_auth"))
        return self.token_info()

    def uses_browser_authorization(self) -> bool:
        """Always: Lazada issues tokens only through the seller-authorisation flow."""
        return True

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str = "") -> str:
        """Where the seller authorises our app (Lazada's seller-authorisation page; no PKCE)."""
        del code_challenge  # Lazada's flow has no PKCE
        query = {
            "response_type": "code",
            "force_auth": "true",
            "redirect_uri": redirect_uri,
            "client_id": self._client.app_key,
            "state": state,
        }
        return authorize_base_of(self._client.auth_url) + "/oauth/authorize?" + urlencode(query)

    async def exchange_code(self, code: str, *, redirect_uri: str = "", code_verifier: str = "") -> TokenInfo:
        """Turn the seller's authorisation code into tokens (`/auth/token/create`); the account comes back too."""
        del redirect_uri, code_verifier  # not part of Lazada's token call
        reply = await self._client.call(
            "/auth/token/create", {"code": code}, operation="connect", method="POST", auth_host=True
        )
        token = reply.parse(LzToken, "connect")
        self._keep(token)
        return self.token_info().model_copy(update={"account": token.account})

    def _keep(self, token: LzToken) -> None:
        now = self._clock()
        self._access_token, self._refresh_token = token.access_token, token.refresh_token
        self._access_expires_at = now + timedelta(seconds=token.expires_in)
        self._refresh_expires_at = (
            now + timedelta(seconds=token.refresh_expires_in) if token.refresh_expires_in else None
        )

    def token_info(self) -> TokenInfo:
        """When the current access and refresh tokens expire (None when unknown)."""
        return TokenInfo(access_expires_at=self._access_expires_at, refresh_expires_at=self._refresh_expires_at)

    def export_tokens(self) -> dict[str, str]:
        """The current tokens and their expiry, for the engine to store encrypted."""
        values = {
            "access_token": self._access_token or "",
            "refresh_token": self._refresh_token,
            "access_expires_at": self._access_expires_at.isoformat() if self._access_expires_at else "",
            "refresh_expires_at": self._refresh_expires_at.isoformat() if self._refresh_expires_at else "",
        }
        return {k: v for k, v in values.items() if v}

    def import_tokens(self, tokens: dict[str, str]) -> None:
        """Resume with tokens stored by `export_tokens` (a stored refresh token replaces the configured one)."""
        if tokens.get("refresh_token"):
            self._refresh_token = tokens["refresh_token"]
        self._access_token = tokens.get("access_token") or None
        self._access_expires_at = _parse_time(tokens.get("access_expires_at"))
        self._refresh_expires_at = _parse_time(tokens.get("refresh_expires_at"))

    async def _call(
        self, api_path: str, params: dict[str, str], *, operation: str, method: str = "GET", is_write: bool = False
    ) -> Reply:
        if self._access_token is None:
            await self.refresh_auth()
        return await self._client.call(
            api_path, params, operation=operation, method=method, is_write=is_write, access_token=self._access_token
        )

    # -- categories ---------------------------------------------------------------------------

    async def categories(self) -> list[Category]:
        """Every category of Lazada's tree (Vietnamese names), with its path."""
        reply = await self._call(TREE_PATH, {"language_code": "vi_VN"}, operation="categories")
        return flatten(reply.parse(LzCategoryTree, "categories").data)

    async def category_attributes(self, category_id: int) -> list[CategoryAttribute]:
        """The attributes a category asks for (mandatory ones marked)."""
        params = {"primary_category_id": str(category_id), "language_code": "vi_VN"}
        reply = await self._call(ATTRIBUTES_PATH, params, operation="category_attributes")
        return attributes_of(reply.parse(LzAttributes, "category_attributes"))

    # -- reads --------------------------------------------------------------------------------

    async def _products(self, params: dict[str, str], operation: str) -> tuple[list[LzProduct], str]:
        products, _, request_id = await self._products_total(params, operation)
        return products, request_id

    async def _products_total(self, params: dict[str, str], operation: str) -> tuple[list[LzProduct], int, str]:
        """One /products/get page, the number of products matching its filters, and the request id."""
        reply = await self._call("/products/get", params, operation=operation)
        data = reply.parse(LzProductsEnvelope, operation).data
        if data.products is None:
            if data.total_products > int(params.get("offset", "0")):
                raise ResponseShapeError(
                    "unexpected response shape at data.products: field required",
                    field="data.products",
                    marketplace=MARKETPLACE,
                    operation=operation,
                    request_id=reply.request_id,
                )
            return [], data.total_products, reply.request_id
        return data.products, data.total_products, reply.request_id

    def list_listings(self, since: datetime | None = None) -> AsyncIterator[ListingsPage]:
        """Yield the shop's listings updated at or after `since` (all when None), scrolled by update time."""
        return pages_in_order(self.listing_read(since))

    def listing_read(self, since: datetime | None = None, partitions: int = 1) -> ListingRead:
        """A resumable read: the update-time scroll, split into up to `partitions` time windows."""

        async def fetch(params: dict[str, str]) -> tuple[list[LzProduct], int, str]:
            return await self._products_total(params, "list_listings")

        return LazadaRead(
            fetch,
            lambda p: listings_of(p, self._categories),
            since_s=int(since.timestamp()) if since else 0,
            limit=self.capabilities.page_size,
            partitions=partitions,
            now_s=lambda: int(self._clock().timestamp()),
        )

    async def _lookup(self, seller_skus: Sequence[str], operation: str) -> dict[str, Listing]:
        found: dict[str, Listing] = {}
        for start in range(0, len(seller_skus), LOOKUP_CHUNK):
            chunk = list(seller_skus[start : start + LOOKUP_CHUNK])
            params = {"filter": "all", "sku_seller_list": seller_sku_list(chunk), "limit": str(LOOKUP_CHUNK)}
            products, _ = await self._products(params, operation)
            for product in products:
                for listing in listings_of(product, self._categories):
                    if listing.seller_sku in chunk:
                        found.setdefault(listing.seller_sku, listing)
        return found

    async def get_listing(self, seller_sku: str) -> Listing | None:
        """The listing with this seller SKU, or None (found with /products/get `sku_seller_list`)."""
        return (await self._lookup([seller_sku], "get_listing")).get(seller_sku)

    async def _resolve(self, refs: Sequence[ListingRef], operation: str) -> dict[str, ListingRef]:
        """Refs with item and SKU ids, looking up those that lack them; unknown SKUs are left out."""
        resolved = {r.seller_sku: r for r in refs if r.external_id and r.external_sku_id}
        missing = [r.seller_sku for r in refs if r.seller_sku not in resolved]
        if missing:
            found = await self._lookup(list(dict.fromkeys(missing)), operation)
            resolved.update({sku: listing.ref for sku, listing in found.items()})
        return resolved

    # -- writes -------------------------------------------------------------------------------

    async def create(self, draft: ListingDraft) -> CreateResult:
        """Create a single-SKU product; Lazada may hold it in QC ("Pending QC")."""
        payload = create_payload(draft, self._categories)
        reply = await self._call(
            "/product/create", {"payload": payload}, operation="create", method="POST", is_write=True
        )
        data = reply.parse(LzCreateEnvelope, "create").data
        sku = next((s for s in data.sku_list if s.seller_sku == draft.seller_sku), None)
        if sku is None:
            raise ResponseShapeError(
                f"data.sku_list does not name {draft.seller_sku}",
                field="data.sku_list",
                marketplace=MARKETPLACE,
                operation="create",
                request_id=reply.request_id,
            )
        ref = ListingRef(seller_sku=draft.seller_sku, external_id=str(data.item_id), external_sku_id=str(sku.sku_id))
        return CreateResult(ref=ref, qc_status=qc_of_item_status(data.item_status))

    async def update_content(self, ref: ListingRef, content: ListingContent) -> ItemResult:
        """Replace our content fields on one SKU with /product/update; refusals come back as REJECTED."""
        resolved = (await self._resolve([ref], "update_content")).get(ref.seller_sku)
        if resolved is None:
            return _not_found(ref.seller_sku)
        payload = update_payload(resolved, content, self._categories)
        try:
            await self._call(
                "/product/update", {"payload": payload}, operation="update_content", method="POST", is_write=True
            )
        except (Rejected, NotFound) as exc:
            return _rejected(ref.seller_sku, exc)
        return ItemResult(seller_sku=ref.seller_sku, outcome=ItemOutcome.OK)

    async def set_price_stock(self, batch: Sequence[PriceStockUpdate]) -> list[ItemResult]:
        """Set price and stock of up to 50 SKUs in one XML call; one result per SKU.

        Lazada fails the whole call when any SKU is bad, naming the bad ones in `detail`;
        we read that as "nothing was applied". Named SKUs get REJECTED (FAILED when their
        own error is transient) and the others FAILED, for the engine to resend.
        """
        resolved = await self._resolve([u.ref for u in batch], "set_price_stock")
        results: dict[str, ItemResult] = {}
        rows: list[PriceQuantityRow] = []
        for update in batch:
            ref = resolved.get(update.ref.seller_sku)
            if ref is None:
                results[update.ref.seller_sku] = _not_found(update.ref.seller_sku)
                continue
            rows.append(
                PriceQuantityRow(
                    str(ref.external_id), str(ref.external_sku_id), ref.seller_sku, update.price_vnd, update.stock
                )
            )
        if rows:
            results.update(await self._send_price_quantity(rows))
        return [results[u.ref.seller_sku] for u in batch]

    async def _send_price_quantity(self, rows: Sequence[PriceQuantityRow]) -> dict[str, ItemResult]:
        """Send the rows in one call and give each SKU its outcome.

        Lazada fails the whole call when any SKU is bad and applies nothing: the SKUs it names
        get their own error, the others are FAILED ("not applied") so that the engine's retry
        layer resends exactly them. The adapter itself never resends.
        """
        if self._access_token is None:
            await self.refresh_auth()
        reply = await self._client.call(
            "/product/price_quantity/update",
            {"payload": price_quantity_payload(rows)},
            operation="set_price_stock",
            method="POST",
            is_write=True,
            access_token=self._access_token,
            tolerate_detail=True,
        )
        if reply.failure is None:
            return {r.seller_sku: ItemResult(seller_sku=r.seller_sku, outcome=ItemOutcome.OK) for r in rows}
        results = per_sku_results(reply.failure, rows, operation="set_price_stock")
        for row in rows:
            results.setdefault(
                row.seller_sku,
                ItemResult(
                    seller_sku=row.seller_sku,
                    outcome=ItemOutcome.FAILED,
                    code=reply.failure.code,
                    message="not applied: Lazada refused the whole batch because of other SKUs",
                ),
            )
        return results

    async def set_active(self, refs: Sequence[ListingRef], active: bool) -> list[ItemResult]:
        """Deactivate (/product/deactivate) or reactivate (/product/update Status=active) SKUs, one call each."""
        resolved = await self._resolve(refs, "set_active")
        results: list[ItemResult] = []
        for ref in refs:
            target = resolved.get(ref.seller_sku)
            if target is None:
                results.append(_not_found(ref.seller_sku))
                continue
            try:
                if active:
                    params = {"payload": reactivate_payload(target)}
                    await self._call("/product/update", params, operation="set_active", method="POST", is_write=True)
                else:
                    params = {"apiRequestBody": deactivate_payload(target)}
                    await self._call(
                        "/product/deactivate", params, operation="set_active", method="POST", is_write=True
                    )
            except (Rejected, NotFound) as exc:
                results.append(_rejected(ref.seller_sku, exc))
                continue
            results.append(ItemResult(seller_sku=ref.seller_sku, outcome=ItemOutcome.OK))
        return results

    # -- orders -------------------------------------------------------------------------------

    async def list_orders(self, since: datetime | None = None) -> AsyncIterator[OrdersPage]:
        """Yield order lines of orders updated at or after `since` (GetOrders `update_after`), oldest update first.

        Reading by update time brings back an order a buyer cancelled or returned after it was
        counted. Lazada order times have whole-second precision, so `since` is rounded down to
        the second: an order in the same second as `since` may come again (lines are unique by id).
        """
        update_after = iso_filter(int(since.timestamp()) if since else 0)
        offset = 0
        while True:
            params = {
                "update_after": update_after,
                "sort_by": "updated_at",
                "sort_direction": "ASC",
                "offset": str(offset),
                "limit": str(ORDERS_PAGE_SIZE),
            }
            reply = await self._call("/orders/get", params, operation="list_orders")
            orders = reply.parse(LzOrdersEnvelope, "list_orders").data.orders
            lines: list[OrderLine] = []
            for order in orders:
                items_reply = await self._call(
                    "/order/items/get", {"order_id": str(order.order_id)}, operation="list_orders"
                )
                items = items_reply.parse(LzOrderItemsEnvelope, "list_orders").data
                lines.extend(order_lines(order, items))
            offset += len(orders)
            done = len(orders) < ORDERS_PAGE_SIZE
            yield OrdersPage(lines=tuple(lines), next_cursor=None if done else str(offset))
            if done:
                return


def per_sku_results(failure: LzEnvelope, rows: Sequence[PriceQuantityRow], *, operation: str) -> dict[str, ItemResult]:
    """Results for the SKUs a failed batch call names in its `detail` array.

    REJECTED when the SKU's own error is permanent (validation), FAILED when it is
    transient. Raises the call's error when `detail` names none of `rows`.
    """
    by_sku_id = {r.sku_id: r.seller_sku for r in rows}
    wanted = {r.seller_sku for r in rows}
    results: dict[str, ItemResult] = {}
    for entry in details_of(failure):
        sku = entry.seller_sku or by_sku_id.get(str(entry.sku_id or ""), "")
        if sku not in wanted or sku in results:
            continue
        code = entry.code or str(failure.code)
        outcome = ItemOutcome.FAILED if kind_of(code) in RETRYABLE_KINDS else ItemOutcome.REJECTED
        results[sku] = ItemResult(
            seller_sku=sku, outcome=outcome, code=code, message=entry.message or failure.message, field=entry.field_name
        )
    if not results:
        raise error_for(failure, operation=operation, is_write=True)
    return results


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


__all__ = ["LazadaAdapter", "per_sku_results"]
