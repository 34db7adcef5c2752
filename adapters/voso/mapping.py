"""Voso wire payloads (the assumed partner contract) and their translation to and from `schemas`.

Pure: no I/O, no clock. The shapes are documented in `adapters/voso/README.md`; the
sandbox renders exactly these models, so the adapter and the simulator cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.listing import (
    ItemOutcome,
    ItemResult,
    Listing,
    ListingContent,
    ListingDraft,
    ListingRef,
    ListingStatus,
    OrderLine,
    PriceStockUpdate,
    QcStatus,
)

REVIEW_TO_QC = {"PENDING": QcStatus.PENDING, "APPROVED": QcStatus.APPROVED, "REJECTED": QcStatus.REJECTED}
STATUS_TO_LISTING = {"ACTIVE": ListingStatus.ACTIVE, "INACTIVE": ListingStatus.INACTIVE}
TRANSIENT_ITEM_CODES = frozenset({"SYSTEM_BUSY", "SYSTEM_ERROR", "RATE_LIMIT"})


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class VosoReview(_Wire):
    """Voso's OCOP review of a listing."""

    status: Literal["PENDING", "APPROVED", "REJECTED"]
    reason: str = ""
    field: str = ""


class VosoProduct(_Wire):
    """One listing as Voso returns it."""

    product_id: int
    seller_sku: str
    name: str
    description: str = ""
    images: list[str] = Field(default_factory=list)
    brand: str = ""
    category_id: int
    unit: str = ""
    weight: int = 0
    barcode: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    price: int
    quantity: int
    status: Literal["ACTIVE", "INACTIVE"]
    review: VosoReview
    updated_at: int


class VosoProductPage(_Wire):
    """`GET /v1/partner/products` data."""

    items: list[VosoProduct]
    page: int
    limit: int
    total: int
    total_pages: int


class VosoUpsertResult(_Wire):
    """`POST /v1/partner/products/upsert` data."""

    product_id: int
    seller_sku: str
    created: bool
    review: VosoReview


class VosoItemResult(_Wire):
    """One SKU's outcome in a batch call."""

    seller_sku: str
    success: bool
    code: str = ""
    message: str = ""
    field: str = ""


class VosoBatchResult(_Wire):
    """Data of the batch calls (price-stock, activate, deactivate)."""

    results: list[VosoItemResult]


class VosoLogin(_Wire):
    """`POST /v1/partner/login` data."""

    token: str
    expires_in: int


class VosoOrderLine(_Wire):
    """One line of a Voso order."""

    line_id: str
    seller_sku: str
    quantity: int
    price: int = 0


class VosoOrder(_Wire):
    """One Voso order."""

    order_id: str
    status: str
    created_at: int
    updated_at: int | None = None  # [assumed] epoch ms of the last status change
    lines: list[VosoOrderLine]


class VosoOrderPage(_Wire):
    """`GET /v1/partner/orders` data."""

    items: list[VosoOrder]
    page: int
    limit: int
    total: int
    total_pages: int


def to_ms(when: datetime) -> int:
    """Epoch milliseconds (Voso's timestamp form), rounded down."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """A timezone-aware UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def listing_from_wire(product: VosoProduct) -> Listing:
    """Our view of one Voso listing."""
    return Listing(
        ref=ListingRef(seller_sku=product.seller_sku, external_id=str(product.product_id)),
        content=ListingContent(
            title=product.name,
            description=product.description,
            images=tuple(product.images),
            brand=product.brand,
            category_key=product.category_id,
            unit=product.unit,
            weight_g=product.weight,
            barcode=product.barcode,
            attributes=dict(product.attributes),
        ),
        price_vnd=product.price,
        stock=product.quantity,
        status=STATUS_TO_LISTING[product.status],
        qc_status=REVIEW_TO_QC[product.review.status],
        qc_reason=product.review.reason,
        qc_field=product.review.field,
        updated_at=from_ms(product.updated_at),
    )


def content_to_wire(seller_sku: str, content: ListingContent) -> dict[str, Any]:
    """The upsert body's content fields for one listing."""
    body: dict[str, Any] = {
        "seller_sku": seller_sku,
        "name": content.title,
        "description": content.description,
        "images": list(content.images),
        "brand": content.brand,
        "category_id": content.category_key,
        "unit": content.unit,
        "weight": content.weight_g,
        "attributes": dict(content.attributes),
    }
    if content.barcode:
        body["barcode"] = content.barcode
    return body


def draft_to_wire(draft: ListingDraft) -> dict[str, Any]:
    """The upsert body creating a listing: content, price, quantity and the wanted status."""
    return {
        **content_to_wire(draft.seller_sku, draft.content),
        "price": draft.price_vnd,
        "quantity": draft.stock,
        "active": draft.active,
    }


def price_stock_to_wire(update: PriceStockUpdate) -> dict[str, Any]:
    """One item of a price-stock batch."""
    return {"seller_sku": update.ref.seller_sku, "price": update.price_vnd, "quantity": update.stock}


def item_result(result: VosoItemResult) -> ItemResult:
    """Our per-SKU result for one Voso batch item."""
    if result.success:
        outcome = ItemOutcome.OK
    elif result.code in TRANSIENT_ITEM_CODES:
        outcome = ItemOutcome.FAILED
    else:
        outcome = ItemOutcome.REJECTED
    return ItemResult(
        seller_sku=result.seller_sku, outcome=outcome, code=result.code, message=result.message, field=result.field
    )


def order_lines(order: VosoOrder) -> list[OrderLine]:
    """Our order lines for one Voso order (assumed statuses: CANCELLED, RETURNED = goods back with the seller)."""
    created = from_ms(order.created_at)
    updated = from_ms(order.updated_at) if order.updated_at is not None else created
    return [
        OrderLine(
            order_id=order.order_id,
            line_id=line.line_id,
            seller_sku=line.seller_sku,
            quantity=line.quantity,
            created_at=created,
            cancelled=order.status == "CANCELLED",
            returned=order.status == "RETURNED",
            updated_at=updated,
        )
        for line in order.lines
    ]
