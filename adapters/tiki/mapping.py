"""Tiki payload shapes and pure translations between them and `schemas` listings.

Everything here is pure (no I/O, no clock): pydantic models for the response bodies we read,
body builders for the requests we send, and the mapping of product and request rows to
`Listing`. The sandbox imports the shared constants (time format, attribute keys,
categories) so the two sides cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.listing import (
    Listing,
    ListingContent,
    ListingDraft,
    ListingRef,
    ListingStatus,
    OrderLine,
    PriceStockUpdate,
    QcStatus,
)

TIKI_TZ = timezone(timedelta(hours=7), "ICT")
"""Tiki's `yyyy-MM-dd HH:mm:ss` strings carry no zone; we assume Vietnam time (UTC+7) [I]."""

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Attribute keys under which the content fields that Tiki has no column for travel. [I]
ATTR_BRAND = "brand"
ATTR_UNIT = "ocop_unit"
ATTR_WEIGHT = "product_weight_g"
ATTR_BARCODE = "barcode"
RESERVED_ATTRS = (ATTR_BRAND, ATTR_UNIT, ATTR_WEIGHT, ATTR_BARCODE)

# Placeholder primary-category ids per OCOP product set (1..26); real ids come from
# `GET /integration/v2/categories` and are configured per shop with the `category_map` option.
DEFAULT_CATEGORY_IDS: dict[int, int] = {key: 4_384_000 + key for key in range(1, 27)}

OPEN_CREATE_STATES = (
    "queuing",
    "processing",
    "drafted",
    "bot_awaiting_approve",
    "md_awaiting_approve",
    "awaiting_approve",
)
"""Request states in which a create is still under way (the product does not exist yet)."""

UPDATE_PENDING_STATE = "update_product_awaiting_approve"
UPDATE_APPROVED_STATE = "update_product_approved"
UPDATE_REJECTED_STATE = "update_product_rejected"  # [I] only the first two are documented
SCANNED_REQUEST_STATES = (*OPEN_CREATE_STATES, "rejected", UPDATE_PENDING_STATE, UPDATE_REJECTED_STATE)
"""The request states whose rows change what a listing looks like to the engine."""


def format_time(when: datetime) -> str:
    """A datetime as Tiki writes it: `yyyy-MM-dd HH:mm:ss` in Vietnam time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(TIKI_TZ).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """A Tiki `yyyy-MM-dd HH:mm:ss` string (Vietnam time) as an aware UTC datetime."""
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=TIKI_TZ).astimezone(UTC)


# -- response bodies ---------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TokenResponse(_Body):
    """`POST /sc/oauth2/token` success body."""

    access_token: str
    expires_in: int
    token_type: str = "bearer"
    scope: str = ""


class Paging(_Body):
    """Tiki's paging block on list endpoints."""

    total: int
    current_page: int
    from_: int | None = Field(default=None, alias="from")
    to: int | None = None
    per_page: int
    last_page: int


class WarehouseQuantity(_Body):
    """Stock in one seller warehouse."""

    warehouse_id: int | str | None = None
    qty_available: int = 0


class Inventory(_Body):
    """The `inventory` block returned with `include=inventory`."""

    inventory_type: str = ""
    quantity_available: int
    quantity_sellable: int = 0
    quantity_reserved: int = 0
    warehouse_quantities: list[WarehouseQuantity] = Field(default_factory=list)


class ProductImage(_Body):
    """One product image."""

    url: str
    position: int = 0


class ProductCategory(_Body):
    """One category a product sits in."""

    id: int
    is_primary: bool = False


class ProductRow(_Body):
    """One product as `GET /integration/v2/products` returns it."""

    product_id: int
    sku: str
    original_sku: str | None = None
    name: str
    price: int
    market_price: int | None = None
    active: int | str
    created_at: str
    updated_at: str
    description: str = ""
    images: list[ProductImage] = Field(default_factory=list)
    categories: list[ProductCategory] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    inventory: Inventory | None = None


class ProductsPage(_Body):
    """A page of products with the paging block."""

    data: list[ProductRow]
    paging: Paging


class RequestReason(_Body):
    """One rejection reason; Tiki's shape is not documented, so strings are accepted too [I]."""

    field: str = ""
    message: str = ""


class RequestRow(_Body):
    """One product request (create or content update) as the requests endpoints return it."""

    request_id: str
    track_id: str | None = None
    state: str
    kind: str = "create_product"
    original_sku: str | None = None
    product_id: int | None = None
    created_at: str
    updated_at: str | None = None
    reasons: list[RequestReason | str] | None = None
    product_info: dict[str, Any] | None = None


class RequestsPage(_Body):
    """A page of product requests."""

    data: list[RequestRow]
    paging: Paging


class TrackResponse(_Body):
    """The reply to a create or updateProductInfo request."""

    track_id: str
    state: str


class StateResponse(_Body):
    """The reply to `updateSku`."""

    state: str


class SkuResult(_Body):
    """One item of the (assumed) per-item result of `updateSkus` [I]."""

    original_sku: str | None = None
    product_id: int | None = None
    state: str
    errors: list[str] = Field(default_factory=list)


class SkusResponse(_Body):
    """The reply to `updateSkus`: one result per item sent [I]."""

    data: list[SkuResult]


class OrderItem(_Body):
    """One line of a Tiki order."""

    id: int | str
    product_id: int | None = None
    sku: str = ""
    original_sku: str | None = None
    qty: int


class OrderRow(_Body):
    """One order as `GET /integration/v2/orders` returns it."""

    order_code: str
    status: str
    created_at: str
    items: list[OrderItem]


class OrdersPage(_Body):
    """A page of orders."""

    data: list[OrderRow]
    paging: Paging


class ErrorBody(_Body):
    """Tiki's common error body: `{"errors": [...]}`."""

    errors: list[str | dict[str, Any]]


# -- categories and content -------------------------------------------------------------------


def category_id(key: int, table: Mapping[int, int] = DEFAULT_CATEGORY_IDS) -> int:
    """The Tiki category id for an OCOP product set."""
    return table.get(key, table.get(1, DEFAULT_CATEGORY_IDS[1]))


def category_key(tiki_id: int, table: Mapping[int, int] = DEFAULT_CATEGORY_IDS) -> int:
    """The OCOP product set for a Tiki category id (1 when unknown)."""
    return next((key for key, value in table.items() if value == tiki_id), 1)


def content_attributes(content: ListingContent) -> dict[str, str]:
    """The Tiki `attributes` object for our content (brand, unit, weight, barcode, the rest)."""
    attrs = dict(content.attributes)
    attrs[ATTR_BRAND] = content.brand
    if content.unit:
        attrs[ATTR_UNIT] = content.unit
    if content.weight_g:
        attrs[ATTR_WEIGHT] = str(content.weight_g)
    if content.barcode:
        attrs[ATTR_BARCODE] = content.barcode
    return attrs


def content_body(content: ListingContent, table: Mapping[int, int] = DEFAULT_CATEGORY_IDS) -> dict[str, Any]:
    """The product-level fields of a create or updateProductInfo body."""
    return {
        "category_id": category_id(content.category_key, table),
        "name": content.title,
        "description": content.description,
        "attributes": content_attributes(content),
        "image": content.images[0] if content.images else "",
        "images": list(content.images[1:]),
    }


def create_body(draft: ListingDraft, table: Mapping[int, int] = DEFAULT_CATEGORY_IDS) -> dict[str, Any]:
    """The `POST /integration/v2.1/requests` body for one simple product."""
    body = content_body(draft.content, table)
    body["market_price"] = draft.price_vnd
    body["option_attributes"] = []
    body["variants"] = [
        {
            "sku": draft.seller_sku,
            "price": draft.price_vnd,
            "market_price": draft.price_vnd,
            "inventory_type": "dropship",
            "quantity": draft.stock,
            "image": body["image"],
            "images": body["images"],
        }
    ]
    return body


def update_info_body(
    ref: ListingRef, content: ListingContent, table: Mapping[int, int] = DEFAULT_CATEGORY_IDS
) -> dict[str, Any]:
    """The `updateProductInfo` body for one product."""
    return {**product_key(ref), **content_body(content, table)}


def product_key(ref: ListingRef) -> dict[str, Any]:
    """How a write addresses a product: by product_id when known, else by original_sku."""
    if ref.external_id and ref.external_id.isdigit():
        return {"product_id": int(ref.external_id)}
    return {"original_sku": ref.seller_sku}


def sku_item(update: PriceStockUpdate, warehouse_id: int | None) -> dict[str, Any]:
    """One item of an `updateSkus` body: price and available stock."""
    warehouse: dict[str, Any] = {"qty_available": update.stock}
    if warehouse_id is not None:
        warehouse["warehouse_id"] = warehouse_id
    return {**product_key(update.ref), "price": update.price_vnd, "warehouse_quantities": [warehouse]}


def content_of(row: ProductRow, table: Mapping[int, int] = DEFAULT_CATEGORY_IDS) -> ListingContent:
    """Our content model rebuilt from a product row (the inverse of `content_body`)."""
    attrs = {str(k): str(v) for k, v in row.attributes.items() if v is not None}
    weight = attrs.pop(ATTR_WEIGHT, "0")
    primary = next((c.id for c in row.categories if c.is_primary), row.categories[0].id if row.categories else 0)
    return ListingContent(
        title=row.name,
        description=row.description,
        images=tuple(i.url for i in sorted(row.images, key=lambda i: i.position)),
        brand=attrs.pop(ATTR_BRAND, ""),
        category_key=category_key(primary, table),
        unit=attrs.pop(ATTR_UNIT, ""),
        weight_g=int(weight) if weight.isdigit() else 0,
        barcode=attrs.pop(ATTR_BARCODE, None),
        attributes=attrs,
    )


# -- rows to listings -------------------------------------------------------------------------


def reason_of(row: RequestRow) -> tuple[str, str]:
    """The first rejection reason of a request as (message, field)."""
    for reason in row.reasons or []:
        if isinstance(reason, str):
            return reason, guess_field(reason)
        return reason.message, reason.field or guess_field(reason.message)
    return "", ""


def qc_of(row: RequestRow) -> QcStatus:
    """The review status a request stands for."""
    if row.state in ("rejected", UPDATE_REJECTED_STATE):
        return QcStatus.REJECTED
    if row.state in ("approved", UPDATE_APPROVED_STATE, "deleted"):
        return QcStatus.APPROVED
    return QcStatus.PENDING


def listing_of(
    row: ProductRow, request: RequestRow | None = None, table: Mapping[int, int] = DEFAULT_CATEGORY_IDS
) -> Listing:
    """One product as a `Listing`; an open or rejected content-update request sets its QC fields."""
    stock = row.inventory.quantity_available if row.inventory is not None else 0
    qc, reason, field = QcStatus.APPROVED, "", ""
    request_id = None
    if request is not None and request.kind != "create_product":
        qc, (reason, field) = qc_of(request), reason_of(request)
        request_id = request.track_id or request.request_id
    return Listing(
        ref=ListingRef(
            seller_sku=row.original_sku or row.sku,
            external_id=str(row.product_id),
            external_sku_id=row.sku,
            request_id=request_id,
        ),
        content=content_of(row, table),
        price_vnd=row.price,
        stock=stock,
        status=ListingStatus.ACTIVE if str(row.active) == "1" else ListingStatus.INACTIVE,
        qc_status=qc,
        qc_reason=reason,
        qc_field=field,
        updated_at=parse_time(row.updated_at),
    )


def listing_of_request(row: RequestRow, table: Mapping[int, int] = DEFAULT_CATEGORY_IDS) -> Listing | None:
    """A create request that has no product yet, as a pending or rejected `Listing`."""
    if not row.original_sku or row.kind != "create_product":
        return None
    info = row.product_info or {}
    reason, field = reason_of(row)
    attrs = info.get("attributes") or {}
    images = [info["image"], *info.get("images", [])] if info.get("image") else list(info.get("images", []))
    product = ProductRow(
        product_id=0,
        sku="",
        original_sku=row.original_sku,
        name=str(info.get("name", "")),
        price=int(info.get("price", 0) or 0),
        active=0,
        created_at=row.created_at,
        updated_at=row.updated_at or row.created_at,
        description=str(info.get("description", "")),
        images=[ProductImage(url=str(u), position=i) for i, u in enumerate(images)],
        categories=[ProductCategory(id=int(info.get("category_id", 0) or 0), is_primary=True)],
        attributes=attrs if isinstance(attrs, dict) else {},
    )
    base = listing_of(product, None, table)
    return base.model_copy(
        update={
            "ref": ListingRef(seller_sku=row.original_sku, request_id=row.track_id or row.request_id),
            "stock": int(info.get("quantity", 0) or 0),
            "qc_status": qc_of(row),
            "qc_reason": reason,
            "qc_field": field,
        }
    )


def newest_requests(rows: Sequence[RequestRow]) -> dict[str, RequestRow]:
    """The newest request per seller SKU (ties broken by request id)."""
    newest: dict[str, RequestRow] = {}
    for row in rows:
        if not row.original_sku:
            continue
        best = newest.get(row.original_sku)
        if best is None or (row.created_at, row.request_id) > (best.created_at, best.request_id):
            newest[row.original_sku] = row
    return newest


def order_lines(row: OrderRow) -> list[OrderLine]:
    """The lines of one order that carry a seller SKU."""
    cancelled = row.status in ("canceled", "cancelled", "seller_canceled", "closed")
    return [
        OrderLine(
            order_id=row.order_code,
            line_id=str(item.id),
            seller_sku=item.original_sku,
            quantity=item.qty,
            created_at=parse_time(row.created_at),
            cancelled=cancelled,
        )
        for item in row.items
        if item.original_sku and item.qty > 0
    ]


# -- errors -----------------------------------------------------------------------------------

_KNOWN_FIELDS = (
    "original_sku",
    "product_id",
    "market_price",
    "price",
    "quantity",
    "qty_available",
    "warehouse_quantities",
    "active",
    "name",
    "description",
    "images",
    "image",
    "category_id",
    "attributes",
)
_PREFIX = re.compile(r"^\s*([a-z_][a-z0-9_.\[\]]*)\s*:")


def guess_field(message: str) -> str:
    """The request field an error message is about, when it names one."""
    match = _PREFIX.match(message)
    if match:
        return match.group(1)
    lowered = message.lower()
    return next((f for f in _KNOWN_FIELDS if re.search(rf"\b{re.escape(f)}\b", lowered)), "")


def error_messages(body: ErrorBody) -> list[str]:
    """The error strings of an error body (object entries flattened to their message)."""
    out: list[str] = []
    for entry in body.errors:
        if isinstance(entry, str):
            out.append(entry)
        else:
            out.append(str(entry.get("message") or entry.get("msg") or entry))
    return out
