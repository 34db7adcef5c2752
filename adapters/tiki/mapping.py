"""Pure translations between Tiki payloads and `schemas` listings.

Everything here is pure (no I/O, no clock): body builders for the requests we send, and the
mapping of product, request and order rows (parsed by the models in `replies.py`) to
`Listing` and `OrderLine`. The sandbox imports the shared constants (time format, attribute keys,
categories) so the two sides cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from adapters.errors import ResponseShapeError
from adapters.lenient import to_time
from adapters.tiki.replies import ErrorBody, OrderRow, ProductRow, RequestProductInfo, RequestRow
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
    attrs = {str(k): text for k, v in row.attributes.items() if (text := _attr_text(v)) is not None}
    attrs.pop("description", None)
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


def _attr_text(value: Any) -> str | None:
    """An attribute value as text: scalars as they are, `{id, value}` objects by their value."""
    if isinstance(value, dict):
        value = value.get("value")
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


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


def _shape_error(message: str, field: str, request_id: str) -> ResponseShapeError:
    return ResponseShapeError(
        message, field=field, marketplace="tiki", operation="list_products", request_id=request_id
    )


def listing_of(
    row: ProductRow,
    request: RequestRow | None = None,
    table: Mapping[int, int] = DEFAULT_CATEGORY_IDS,
    *,
    request_id: str = "",
) -> Listing:
    """One complete product as a `Listing`; an open or rejected content-update request sets its QC fields.

    Raises ResponseShapeError naming the field when the row lacks our seller SKU
    (`original_sku`), its status (`active`) or its stock (`inventory`): Tiki's own `sku` is
    never taken for ours.
    """
    if not row.original_sku:
        raise _shape_error(f"product {row.product_id} has no original_sku (seller SKU)", "original_sku", request_id)
    if row.inventory is None:
        raise _shape_error(f"product {row.product_id} has no inventory block", "inventory", request_id)
    if row.active is None:
        raise _shape_error(f"product {row.product_id} has no active flag", "active", request_id)
    qc, reason, field = QcStatus.APPROVED, "", ""
    pending_id = None
    if request is not None and request.kind != "create_product":
        qc, (reason, field) = qc_of(request), reason_of(request)
        pending_id = request.track_id or request.request_id
    return Listing(
        ref=ListingRef(
            seller_sku=row.original_sku,
            external_id=str(row.product_id),
            external_sku_id=row.sku,
            request_id=pending_id,
        ),
        content=content_of(row, table),
        price_vnd=row.price,
        stock=row.inventory.quantity_available,
        status=ListingStatus.ACTIVE if row.active else ListingStatus.INACTIVE,
        qc_status=qc,
        qc_reason=reason,
        qc_field=field,
        updated_at=row.updated_at or row.created_at,
    )


def listing_of_request(row: RequestRow, table: Mapping[int, int] = DEFAULT_CATEGORY_IDS) -> Listing | None:
    """A create request that has no product yet, as a pending or rejected `Listing`."""
    if not row.original_sku or row.kind != "create_product":
        return None
    info = row.product_info or RequestProductInfo()
    reason, field = reason_of(row)
    images = [info.image, *info.images] if info.image else list(info.images)
    content = ListingContent(
        title=info.name,
        description=info.description,
        images=tuple(images),
        brand=str(info.attributes.get(ATTR_BRAND, "")),
        category_key=category_key(info.category_id, table),
        unit=str(info.attributes.get(ATTR_UNIT, "")),
        weight_g=to_weight(info.attributes.get(ATTR_WEIGHT)),
        barcode=_attr_text(info.attributes.get(ATTR_BARCODE)),
        attributes={
            k: text
            for k, v in info.attributes.items()
            if k not in RESERVED_ATTRS and (text := _attr_text(v)) is not None
        },
    )
    return Listing(
        ref=ListingRef(seller_sku=row.original_sku, request_id=row.track_id or row.request_id),
        content=content,
        price_vnd=info.price,
        stock=info.quantity,
        status=ListingStatus.INACTIVE,
        qc_status=qc_of(row),
        qc_reason=reason,
        qc_field=field,
        updated_at=_request_time(row.updated_at or row.created_at),
    )


def _request_time(text: str) -> datetime | None:
    try:
        return to_time(text)
    except ValueError:
        return None


def to_weight(value: Any) -> int:
    """Our `product_weight_g` attribute as grams (0 when absent or not a whole number)."""
    text = _attr_text(value) or ""
    return int(text) if text.isdigit() else 0


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


def order_lines(row: OrderRow, resolved: Mapping[int, str] | None = None) -> list[OrderLine]:
    """The lines of one order, with each line's seller SKU as stated or as `resolved` by product id.

    A line whose seller SKU is neither stated nor resolved is left out only when it was
    resolved to "" (a Tiki product without a seller SKU is not ours); the adapter raises
    before that when the field is missing altogether.
    """
    cancelled = row.status in ("canceled", "cancelled", "seller_canceled", "closed")
    returned = row.status == "returned"
    lines = []
    for item in row.items:
        sku = item.seller_sku or (resolved or {}).get(item.tiki_product_id or -1, "")
        if sku and item.quantity > 0:
            lines.append(
                OrderLine(
                    order_id=row.code,
                    line_id=item.id,
                    seller_sku=sku,
                    quantity=item.quantity,
                    created_at=row.created_at,
                    cancelled=cancelled,
                    returned=returned,
                    updated_at=row.updated_at or row.created_at,
                )
            )
    return lines


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
