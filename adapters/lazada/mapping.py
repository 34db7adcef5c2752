"""Pure translation between Lazada payloads and the `schemas` listing language.

Pydantic models describe the parts of Lazada responses we rely on (field names as Lazada
spells them, CamelCase and snake_case mixed); builders produce the JSON and XML request
payloads. No I/O, no clock: everything here is table-testable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any
from xml.sax.saxutils import escape

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from adapters.lenient import Int, Money, StrList, Text, Time
from schemas.listing import (
    Listing,
    ListingContent,
    ListingDraft,
    ListingRef,
    ListingStatus,
    OrderLine,
    QcStatus,
)

VN_TZ = timezone(timedelta(hours=7))
UNIT_ATTRIBUTE = "ocop_unit"  # [I] our own attribute names: Lazada has no standard unit/barcode attribute
BARCODE_ATTRIBUTE = "ocop_barcode"
RESERVED_ATTRIBUTES = frozenset({"name", "description", "brand", UNIT_ATTRIBUTE, BARCODE_ATTRIBUTE})
CANCELLED_ITEM_STATUSES = frozenset({"canceled", "cancelled"})
# Goods back with the seller: a buyer return, or a failed delivery shipped back (GetOrders status enumeration).
RETURNED_ITEM_STATUSES = frozenset({"returned", "shipped_back_success"})

# [I] Lazada VN category ids come from /category/tree/get and differ per country; these are
# placeholders the sandbox shares with the adapter. Real shops set `options.category_map`.
DEFAULT_CATEGORY_IDS: Mapping[int, int] = MappingProxyType({key: 10_100_000 + key for key in range(1, 27)})


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class LzSku(_Model):
    """One SKU of a Lazada product as /products/get and /product/item/get render it."""

    sku_id: Text = Field(validation_alias=AliasChoices("SkuId", "sku_id"))
    seller_sku: Text = Field(validation_alias=AliasChoices("SellerSku", "seller_sku"))
    status: str = Field(default="active", validation_alias=AliasChoices("Status", "status"))
    price: Money
    quantity: Int
    package_weight: float | str | None = None


class LzRejectReason(_Model):
    """Why QC rejected a product."""

    suggestion: str = ""
    violation_detail: str = Field(default="", alias="violationDetail")


class LzProduct(_Model):
    """One Lazada product (an item with its SKUs)."""

    item_id: Text
    primary_category: int | str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    images: StrList = Field(default_factory=list)
    updated_time: Time
    status: str
    sub_status: str = Field(default="", alias="subStatus")
    reject_reason: list[LzRejectReason] = Field(default_factory=list, alias="rejectReason")
    skus: list[LzSku]

    @property
    def updated_ms(self) -> int:
        """The product's update time in epoch milliseconds."""
        return round(self.updated_time.timestamp() * 1000)


class LzProductsData(_Model):
    """The `data` of /products/get."""

    total_products: Int
    products: list[LzProduct] | None = None


class LzProductsEnvelope(_Model):
    """A /products/get reply, so that shape errors name `data.<field>`."""

    data: LzProductsData


class LzCreatedSku(_Model):
    """One SKU a create returned."""

    seller_sku: Text
    sku_id: Text
    shop_sku: str = ""


class LzCreateData(_Model):
    """The `data` of /product/create."""

    item_id: Text
    sku_list: list[LzCreatedSku]
    item_status: str = ""


class LzCreateEnvelope(_Model):
    """A /product/create reply."""

    data: LzCreateData


class LzCountryUser(_Model):
    """The seller an access token belongs to, per country."""

    country: str = ""
    seller_id: Text = ""
    user_id: Text = ""
    short_code: str = ""


class LzToken(_Model):
    """A /auth/token/create or /auth/token/refresh reply (fields at the top level, lifetimes as strings)."""

    access_token: str
    refresh_token: str
    expires_in: Int
    refresh_expires_in: Int = 0
    account: str = ""
    country_user_info_list: list[LzCountryUser] = Field(default_factory=list)
    country_user_info: list[LzCountryUser] = Field(default_factory=list)


class LzOrder(_Model):
    """One order header from /orders/get."""

    order_id: Text
    created_at: Time
    updated_at: Time | None = None
    statuses: list[str] = Field(default_factory=list)


class LzOrdersData(_Model):
    """The `data` of /orders/get."""

    count: Int
    orders: list[LzOrder]


class LzOrdersEnvelope(_Model):
    """A /orders/get reply."""

    data: LzOrdersData


class LzOrderItem(_Model):
    """One order item (one unit) from /order/items/get."""

    order_item_id: Text
    order_id: Text
    sku: Text
    status: str
    created_at: Time | None = None


class LzOrderItemsEnvelope(_Model):
    """A /order/items/get reply."""

    data: list[LzOrderItem]


class LzDetail(_Model):
    """One entry of the `detail` array of a failed batch call ([I] shape not published)."""

    seller_sku: Text = Field(default="", validation_alias=AliasChoices("seller_sku", "SellerSku"))
    sku_id: Text | None = Field(default=None, validation_alias=AliasChoices("sku_id", "SkuId"))
    field_name: Text = Field(default="", alias="field")
    code: Text = ""
    message: Text = ""


@dataclass(frozen=True)
class CategoryMap:
    """OCOP product set (1..26) <-> Lazada primary category id."""

    ids: Mapping[int, int] = field(default_factory=lambda: DEFAULT_CATEGORY_IDS)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CategoryMap:
        """The map from a shop's `options.category_map` ({"1": 123, ...}), else the default."""
        raw = options.get("category_map")
        if not raw:
            return cls()
        return cls(MappingProxyType({int(k): int(v) for k, v in dict(raw).items()}))

    def to_lazada(self, key: int) -> int:
        """The Lazada category for an OCOP product set (the set 1 category when unmapped)."""
        return self.ids.get(key, self.ids.get(1, 0))

    def to_key(self, category: int | str | None) -> int:
        """The OCOP product set for a Lazada category; 0 when the category is not in the map."""
        try:
            wanted = int(category) if category is not None else None
        except ValueError:
            return 0
        return next((k for k, v in self.ids.items() if v == wanted), 0)


# -- reading --------------------------------------------------------------------------------


def grams(kilograms: float | str | None) -> int:
    """Lazada's `package_weight` (kg) in grams."""
    if kilograms in (None, ""):
        return 0
    try:
        return int((Decimal(str(kilograms)) * 1000).to_integral_value(rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return 0


def kilograms(weight_g: int) -> str:
    """Grams as Lazada's `package_weight` text in kg (e.g. 250 -> "0.25")."""
    text = format(Decimal(weight_g) / 1000, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def to_ms(when: datetime) -> str:
    """An aware datetime as Lazada's epoch-milliseconds string."""
    return str(int(when.timestamp() * 1000))


def iso_filter(epoch_s: int) -> str:
    """An ISO-8601 date filter value (Vietnam time, second precision) for epoch seconds."""
    return datetime.fromtimestamp(epoch_s, tz=VN_TZ).isoformat()


def format_order_time(when: datetime) -> str:
    """An aware datetime in Lazada's order time format, Vietnam time."""
    return when.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S %z")


def _qc_of(product: LzProduct) -> tuple[QcStatus, str]:
    status = product.status.strip().lower()
    if status in ("pending qc", "pending"):
        return QcStatus.PENDING, ""
    if product.sub_status.strip().lower() in ("reject", "live reject") or status == "rejected":
        reasons = [r.violation_detail or r.suggestion for r in product.reject_reason]
        return QcStatus.REJECTED, "; ".join(r for r in reasons if r)
    return QcStatus.APPROVED, ""


def _status_of(product: LzProduct, sku: LzSku) -> ListingStatus:
    product_status, sku_status = product.status.strip().lower(), sku.status.strip().lower()
    if "deleted" in (product_status, sku_status):
        return ListingStatus.DELETED
    if sku_status == "inactive" or product_status in ("inactive", "suspended"):
        return ListingStatus.INACTIVE
    return ListingStatus.ACTIVE


def content_of(product: LzProduct, sku: LzSku, categories: CategoryMap) -> ListingContent:
    """The content fields we own, read from a Lazada product and one of its SKUs."""
    attrs = product.attributes
    barcode = str(attrs.get(BARCODE_ATTRIBUTE) or "") or None
    return ListingContent(
        title=str(attrs.get("name", "")),
        description=str(attrs.get("description", "")),
        images=tuple(product.images),
        brand=str(attrs.get("brand", "")),
        category_key=categories.to_key(product.primary_category),
        unit=str(attrs.get(UNIT_ATTRIBUTE, "")),
        weight_g=grams(sku.package_weight),
        barcode=barcode,
        attributes={k: str(v) for k, v in attrs.items() if k not in RESERVED_ATTRIBUTES},
    )


def listings_of(product: LzProduct, categories: CategoryMap) -> list[Listing]:
    """One `Listing` per SKU of a Lazada product."""
    qc_status, qc_reason = _qc_of(product)
    return [
        Listing(
            ref=ListingRef(seller_sku=sku.seller_sku, external_id=product.item_id, external_sku_id=sku.sku_id),
            content=content_of(product, sku, categories),
            price_vnd=sku.price,
            stock=max(0, sku.quantity),
            status=_status_of(product, sku),
            qc_status=qc_status,
            qc_reason=qc_reason,
            updated_at=product.updated_time,
        )
        for sku in product.skus
    ]


def qc_of_item_status(item_status: str) -> QcStatus:
    """The review state a create's `item_status` (Active, InActive, Pending QC) means."""
    return QcStatus.PENDING if item_status.strip().lower() in ("pending qc", "pending") else QcStatus.APPROVED


def _item_state(item: LzOrderItem) -> str:
    status = item.status.strip().lower()
    return "cancelled" if status in CANCELLED_ITEM_STATUSES else "returned" if status in RETURNED_ITEM_STATUSES else ""


def order_lines(order: LzOrder, items: Sequence[LzOrderItem]) -> list[OrderLine]:
    """Order lines from Lazada order items: one line per item, which is one unit.

    Each unit keeps its `order_item_id` for life, so a buyer cancelling or returning only some
    units of a SKU gives back exactly those units, once (a line of 3 with 1 cancelled restores 1).
    The line's update time is the order's `updated_at` (its creation time when absent).
    """
    created = order.created_at
    lines = [
        OrderLine(
            order_id=str(order.order_id),
            line_id=str(item.order_item_id),
            seller_sku=item.sku,
            quantity=1,
            created_at=created,
            cancelled=_item_state(item) == "cancelled",
            returned=_item_state(item) == "returned",
            updated_at=order.updated_at or created,
        )
        for item in items
    ]
    return sorted(lines, key=lambda line: (line.seller_sku, len(line.line_id), line.line_id))


# -- writing --------------------------------------------------------------------------------


def attributes_of(content: ListingContent) -> dict[str, str]:
    """Lazada `Attributes` for our content: extras first, so ours win on a name clash."""
    attrs = {k: v for k, v in content.attributes.items() if k not in RESERVED_ATTRIBUTES}
    attrs.update(name=content.title, description=content.description, brand=content.brand)
    if content.unit:
        attrs[UNIT_ATTRIBUTE] = content.unit
    if content.barcode:
        attrs[BARCODE_ATTRIBUTE] = content.barcode
    return attrs


def _json(request: dict[str, Any]) -> str:
    return json.dumps({"Request": {"Product": request}}, ensure_ascii=False, separators=(",", ":"))


def create_payload(draft: ListingDraft, categories: CategoryMap) -> str:
    """The JSON `payload` of /product/create for one single-SKU listing."""
    content = draft.content
    sku = {
        "SellerSku": draft.seller_sku,
        "quantity": str(draft.stock),
        "price": str(draft.price_vnd),
        "package_weight": kilograms(content.weight_g),
        "Status": "active" if draft.active else "inactive",
    }
    return _json(
        {
            "PrimaryCategory": str(categories.to_lazada(content.category_key)),
            "Images": {"Image": list(content.images)},
            "Attributes": attributes_of(content),
            "Skus": {"Sku": [sku]},
        }
    )


def update_payload(ref: ListingRef, content: ListingContent, categories: CategoryMap) -> str:
    """The JSON `payload` of /product/update replacing our content fields on one SKU."""
    sku = {
        "SkuId": str(ref.external_sku_id),
        "SellerSku": ref.seller_sku,
        "package_weight": kilograms(content.weight_g),
    }
    return _json(
        {
            "ItemId": str(ref.external_id),
            "PrimaryCategory": str(categories.to_lazada(content.category_key)),
            "Images": {"Image": list(content.images)},
            "Attributes": attributes_of(content),
            "Skus": {"Sku": [sku]},
        }
    )


def reactivate_payload(ref: ListingRef) -> str:
    """The JSON `payload` of /product/update that sets one SKU's Status back to active."""
    return _json(
        {"ItemId": str(ref.external_id), "Skus": {"Sku": [{"SkuId": str(ref.external_sku_id), "Status": "active"}]}}
    )


@dataclass(frozen=True)
class PriceQuantityRow:
    """One SKU of a /product/price_quantity/update call."""

    item_id: str
    sku_id: str
    seller_sku: str
    price_vnd: int
    quantity: int


def price_quantity_payload(rows: Sequence[PriceQuantityRow]) -> str:
    """The XML `payload` of /product/price_quantity/update."""
    skus = "".join(
        "<Sku>"
        f"<ItemId>{escape(r.item_id)}</ItemId><SkuId>{escape(r.sku_id)}</SkuId>"
        f"<SellerSku>{escape(r.seller_sku)}</SellerSku>"
        f"<Price>{r.price_vnd}</Price><Quantity>{r.quantity}</Quantity>"
        "</Sku>"
        for r in rows
    )
    return f"<Request><Product><Skus>{skus}</Skus></Product></Request>"


def deactivate_payload(ref: ListingRef) -> str:
    """The XML `apiRequestBody` of /product/deactivate for one SKU (ItemId is mandatory)."""
    skus = f"<Skus><SkuId>{escape(str(ref.external_sku_id))}</SkuId></Skus>" if ref.external_sku_id else ""
    return f"<Request><Product><ItemId>{escape(str(ref.external_id))}</ItemId>{skus}</Product></Request>"


def seller_sku_list(skus: Sequence[str]) -> str:
    """The `sku_seller_list` parameter (a JSON array) for looking SKUs up."""
    return json.dumps(list(skus), ensure_ascii=False, separators=(",", ":"))
