"""Reading Tiki product details to complete what list rows and orders leave out.

Published list samples omit fields a `Listing` needs (v2 rows: `original_sku`, `inventory`;
v1 rows: `active`, `inventory`, `updated_at`) and order samples omit the line's seller SKU
(v1 `original_sku: ""`; nothing documented in the v2 item `product`). The product detail
(`GET /integration/v2/products/{id}`) carries them in the published sample, so these helpers
read it for exactly such rows and lines, and raise `ResponseShapeError` naming the field when
the detail lacks it too. Tiki's own `sku` is never taken for our seller SKU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.errors import ResponseShapeError
from adapters.tiki.client import MARKETPLACE, TikiClient
from adapters.tiki.mapping import format_time
from adapters.tiki.replies import OrderRow, ProductRow

PRODUCTS = "/integration/v2/products"


class ProductDetails:
    """Product-detail look-ups for one seller's client."""

    def __init__(self, client: TikiClient) -> None:
        self.client = client

    async def get(self, product_id: int, operation: str) -> tuple[ProductRow, str]:
        """`GET /integration/v2/products/{id}`: the full product, which carries what list rows may lack."""
        return await self.client.call_model(
            ProductRow, "GET", f"{PRODUCTS}/{product_id}", operation=operation, is_write=False
        )

    async def complete(self, row: ProductRow, request_id: str) -> ProductRow:
        """The row with `original_sku`, `active` and `inventory` filled from the product detail when it lacks them.

        Published list samples omit each of these (v2 rows have no `original_sku`, v1 rows no
        `active`); the detail is read only for such rows. What the detail lacks too stays
        missing, and `listing_of` then raises ResponseShapeError naming it.
        """
        missing = row.missing()
        if not missing:
            return row
        detail, detail_request_id = await self.get(row.product_id, "list_products")
        update: dict[str, Any] = {name: getattr(detail, name) for name in missing}
        for name in ("updated_at", "created_at"):
            if getattr(row, name) is None:
                update[name] = getattr(detail, name)
        completed = row.model_copy(update=update)
        if completed.original_sku is None:
            raise ResponseShapeError(
                f"product {row.product_id}: neither the list row nor the product detail carries original_sku",
                field="original_sku",
                marketplace=MARKETPLACE,
                operation="list_products",
                request_id=detail_request_id or request_id,
            )
        return completed

    async def resolve_order_skus(self, order: OrderRow, resolved: dict[int, str], request_id: str) -> None:
        """Look up, by Tiki product id, the seller SKU of each line whose order reply does not state it.

        Published v1 samples send `original_sku: ""` and v2 item `product` objects are not
        documented to carry it; the product detail does. A line with neither a seller SKU
        nor a product id, or whose product detail lacks `original_sku`, raises
        ResponseShapeError: a sale must never be dropped silently.
        """
        for item in order.items:
            if item.seller_sku:
                continue
            product_id = item.tiki_product_id
            if product_id is None:
                raise ResponseShapeError(
                    f"order {order.code} line {item.id} names neither a seller SKU nor a product id",
                    field="items.product.seller_product_code",
                    marketplace=MARKETPLACE,
                    operation="list_orders",
                    request_id=request_id,
                )
            if product_id in resolved:
                continue
            detail, detail_request_id = await self.get(product_id, "list_orders")
            if detail.original_sku is None:
                raise ResponseShapeError(
                    f"order {order.code}: product {product_id} has no original_sku (seller SKU)",
                    field="original_sku",
                    marketplace=MARKETPLACE,
                    operation="list_orders",
                    request_id=detail_request_id or request_id,
                )
            resolved[product_id] = detail.original_sku


def oldest_created(rows: Sequence[ProductRow], request_id: str) -> str:
    """The oldest `created_at` of a page, as the `created_to_date` of the next deep-paging window."""
    times = [row.created_at for row in rows if row.created_at is not None]
    if not times:
        raise ResponseShapeError(
            "no product on the page carries created_at; cannot open the next deep-paging window",
            field="created_at",
            marketplace=MARKETPLACE,
            operation="list_products",
            request_id=request_id,
        )
    return format_time(min(times))
