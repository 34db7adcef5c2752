"""How the Lazada simulator renders its neutral store as Lazada payloads, and reads request payloads.

Pure functions over `adapters.sandbox` records; the request-handling logic is in `sandbox.py`.
Written independently of the adapter's `mapping.py` (only the shared [I] conventions, the
category placeholder ids and our attribute names, are imported) so that a mapping bug is not
silently mirrored by the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from adapters.lazada.mapping import BARCODE_ATTRIBUTE, DEFAULT_CATEGORY_IDS, UNIT_ATTRIBUTE
from adapters.sandbox.store import SandboxListing, SandboxOrder

VN = timezone(timedelta(hours=7))
FILTERS = frozenset({"all", "live", "inactive", "deleted", "pending", "rejected", "sold-out"})
OWN_ATTRIBUTES = frozenset({"name", "description", "brand", UNIT_ATTRIBUTE, BARCODE_ATTRIBUTE})


class LzError(Exception):
    """A Lazada error reply: `{"type", "code", "message", "request_id"[, "detail"]}` in HTTP 200."""

    def __init__(
        self, code: str, message: str, *, kind: str = "ISV", detail: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.kind = kind
        self.detail = detail


def ms(when: datetime) -> str:
    """Epoch milliseconds as Lazada's string."""
    return str(int(when.timestamp() * 1000))


def number(value: str) -> int | str:
    """Digits as a JSON number (as Lazada sends ids), anything else unchanged."""
    return int(value) if value.isdigit() else value


def kg(weight_g: int) -> str:
    """Grams as Lazada's package_weight in kg, two decimals ("0.25")."""
    return f"{Decimal(weight_g) / 1000:.3f}".rstrip("0").rstrip(".") or "0"


def grams_of(value: Any) -> int:
    """A package_weight (kg, number or text) in grams; 0 when unreadable."""
    try:
        return int((Decimal(str(value)) * 1000).to_integral_value(rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return 0


def whole(value: Any) -> int | None:
    """A price or quantity as an integer, or None when it is not a number."""
    try:
        return int(Decimal(str(value).strip()).to_integral_value(rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return None


def category_id(key: int) -> int:
    """The Lazada category the sandbox shows for a store category (OCOP set, or a raw Lazada id)."""
    return DEFAULT_CATEGORY_IDS.get(key, key)


def category_key(lazada_id: Any) -> int:
    """The store category for a Lazada category id (the raw id when it is not a known OCOP set)."""
    wanted = whole(lazada_id) or 0
    return next((k for k, v in DEFAULT_CATEGORY_IDS.items() if v == wanted), wanted)


# -- products -------------------------------------------------------------------------------


def group_products(listings: Sequence[SandboxListing]) -> list[list[SandboxListing]]:
    """Listings grouped into Lazada products (one per item_id), ordered by (update time, item id)."""
    items: dict[str, list[SandboxListing]] = {}
    for listing in sorted(listings, key=lambda x: (x.item_id, x.sku_id)):
        items.setdefault(listing.item_id, []).append(listing)
    products = list(items.values())
    products.sort(key=lambda p: (updated_of(p), len(p[0].item_id), p[0].item_id))
    return products


def updated_of(product: Sequence[SandboxListing]) -> datetime:
    """A product's update time: its most recently updated SKU's."""
    return max(x.updated_at for x in product)


def product_status(product: Sequence[SandboxListing]) -> tuple[str, str, list[dict[str, str]]]:
    """Lazada's (status, subStatus, rejectReason) for a product."""
    if all(x.status == "deleted" for x in product):
        return "Deleted", "", []
    if any(x.qc_status == "pending" for x in product):
        return "Pending QC", "", []
    rejected = [x for x in product if x.qc_status == "rejected"]
    if rejected:
        reasons = [
            {
                "suggestion": "Vui lòng sửa nội dung và gửi duyệt lại / fix the content and resubmit",
                "violationDetail": x.qc_reason,
            }
            for x in rejected
        ]
        return "InActive", "Reject", reasons
    return ("Active" if any(x.status == "active" for x in product) else "InActive"), "", []


def matches_filter(product: Sequence[SandboxListing], name: str) -> bool:
    """Whether a product shows under /products/get `filter=name`."""
    status, _, _ = product_status(product)
    if name == "deleted":
        return status == "Deleted"
    if status == "Deleted":
        return False
    checks = {
        "all": True,
        "live": status == "Active",
        "inactive": status == "InActive" and not any(x.qc_status == "rejected" for x in product),
        "pending": status == "Pending QC",
        "rejected": any(x.qc_status == "rejected" for x in product),
        "sold-out": any(x.status == "active" and x.stock == 0 for x in product),
    }
    return checks[name]


def render_sku(listing: SandboxListing) -> dict[str, Any]:
    """One SKU as /products/get shows it."""
    return {
        "SkuId": number(listing.sku_id),
        "SellerSku": listing.seller_sku,
        "ShopSku": f"{listing.item_id}_VNAMZ-{listing.sku_id}",
        "Status": listing.status,
        "quantity": listing.stock,
        "Available": max(0, listing.stock - listing.reserved),
        "price": float(listing.price),
        "special_price": 0.0,
        "package_weight": kg(listing.weight_g),
        "package_length": "10.00",
        "package_width": "10.00",
        "package_height": "10.00",
        "Images": [],
        "Url": f"https://www.lazada.vn/-i{listing.item_id}-s{listing.sku_id}.html",
    }


def render_product(product: Sequence[SandboxListing]) -> dict[str, Any]:
    """One product (item) as /products/get and /product/item/get show it."""
    first = product[0]
    attributes: dict[str, Any] = {k: v for k, v in first.attributes.items() if k not in OWN_ATTRIBUTES}
    attributes.update(name=first.title, description=first.description, brand=first.brand)
    if first.unit:
        attributes[UNIT_ATTRIBUTE] = first.unit
    if first.barcode:
        attributes[BARCODE_ATTRIBUTE] = first.barcode
    status, sub_status, reasons = product_status(product)
    return {
        "item_id": number(first.item_id),
        "primary_category": category_id(first.category),
        "attributes": attributes,
        "images": json.dumps(list(first.images)),  # a JSON-encoded string, as in the published samples
        "created_time": ms(min(x.created_at for x in product)),
        "updated_time": ms(updated_of(product)),
        "status": status,
        "subStatus": sub_status,
        "rejectReason": reasons,
        "skus": [render_sku(x) for x in product],
    }


# -- orders ---------------------------------------------------------------------------------


def order_time(when: datetime) -> str:
    """Lazada's order-item time format ("2024-01-01 10:00:00 +0700"), as the GetOrderItems sample writes it."""
    return when.astimezone(VN).strftime("%Y-%m-%d %H:%M:%S %z")


def iso_time(when: datetime) -> str:
    """ISO-8601 with offset ("2024-01-01T10:00:00+07:00"), as the GetOrders sample writes order times."""
    return when.astimezone(VN).replace(microsecond=0).isoformat()


def item_status(line: SandboxOrder, unit: int = 0) -> str:
    """The status Lazada shows for one unit of a line (values from the GetOrders status enumeration).

    After a partial cancel the line's last `cancelled_units` units are the cancelled ones.
    """
    if line.cancelled or unit >= line.quantity - line.cancelled_units:
        return "canceled"
    return "returned" if line.returned else "pending"


def render_order(lines: Sequence[SandboxOrder], prices: dict[str, int]) -> dict[str, Any]:
    """One order header as /orders/get shows it."""
    first = lines[0]
    total = sum(prices.get(x.seller_sku, 0) * x.quantity for x in lines)
    return {
        "order_id": number(first.order_id),
        "order_number": number(first.order_id),
        "created_at": iso_time(first.created_at),
        "updated_at": iso_time(max(x.changed_at for x in lines)),
        "statuses": sorted({item_status(x, unit) for x in lines for unit in range(x.quantity)}),
        "items_count": sum(x.quantity for x in lines),
        "price": f"{total}.00",
        "payment_method": "COD",
        "address_shipping": {"country": "Vietnam"},
    }


def render_order_items(lines: Sequence[SandboxOrder], listings: dict[str, SandboxListing]) -> list[dict[str, Any]]:
    """An order's items as /order/items/get shows them: one entry per unit."""
    items = []
    for line in lines:
        listing = listings.get(line.seller_sku)
        price = listing.price if listing else 0
        for unit in range(line.quantity):
            items.append(
                {
                    "order_item_id": number(line.line_id if unit == 0 else f"{line.line_id}{unit:03d}"),
                    "order_id": number(line.order_id),
                    "sku": line.seller_sku,
                    "sku_id": number(listing.sku_id) if listing else "",
                    "shop_sku": f"{listing.item_id}_VNAMZ-{listing.sku_id}" if listing else "",
                    "name": listing.title if listing else "",
                    "status": item_status(line, unit),
                    "item_price": float(price),
                    "paid_price": float(price),
                    "currency": "VND",
                    "created_at": order_time(line.created_at),
                    "updated_at": order_time(line.changed_at),
                }
            )
    return items
