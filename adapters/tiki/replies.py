"""Pydantic models of the Tiki reply bodies the adapter reads, in every documented variant.

Tiki's published samples disagree between API versions and pages: a product is `id` (v2)
or `product_id` (v1); a list row may lack `original_sku`, `active`, `inventory` or
`updated_at`; orders are `order_code`/`purchased_at`/`items[].qty` (v1) or
`code`/`created_at`/`items[].product`/`items[].invoice` (v2); numbers come as numbers or
strings and times as `yyyy-MM-dd HH:mm:ss` or epoch seconds. These models accept all of
them (see `adapters/tiki/README.md` and `tests/adapters/golden/SOURCES.md`); what they
cannot read raises `ResponseShapeError` through `adapters.base.parse_payload`.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from adapters.lenient import Flag, Int, Money, Text, Time


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TokenResponse(_Body):
    """`POST /sc/oauth2/token` success body."""

    access_token: str
    expires_in: Int
    token_type: str = "bearer"
    scope: str = ""
    refresh_token: str = ""  # authorization_code and refresh_token grants only


class Paging(_Body):
    """Tiki's paging block on list endpoints."""

    total: Int
    current_page: Int
    from_: Int | None = Field(default=None, alias="from")
    to: Int | None = None
    per_page: Int
    last_page: Int


class WarehouseQuantity(_Body):
    """Stock in one seller warehouse."""

    warehouse_id: Text | None = None
    qty_available: Int = 0


class Inventory(_Body):
    """The `inventory` block (`include=inventory` on lists, always on the product detail)."""

    inventory_type: str = ""
    quantity_available: Int
    quantity_sellable: Int = Field(default=0, validation_alias=AliasChoices("quantity_sellable", "quantity_saleable"))
    quantity_reserved: Int = 0
    warehouse_quantities: list[WarehouseQuantity] = Field(default_factory=list)


class ProductImage(_Body):
    """One product image."""

    url: str
    position: Int = 0


class ProductCategory(_Body):
    """One category a product sits in."""

    id: Int
    is_primary: Flag = False


class ProductRow(_Body):
    """One product: a row of `GET /products` (v1 or v2), `findBy`, or `GET /products/{id}`.

    Only the Tiki id, Tiki sku, name and price are required here; the fields a `Listing`
    also needs (`original_sku`, `active`, `inventory`) may be missing from list rows, and
    the adapter then reads the product detail (see `TikiAdapter._complete`).
    """

    product_id: Int = Field(validation_alias=AliasChoices("product_id", "id"))
    sku: Text
    original_sku: Text | None = None
    name: str
    price: Money
    market_price: Money | None = None
    active: Flag | None = None
    created_at: Time | None = None
    updated_at: Time | None = None
    description: str = ""
    images: list[ProductImage] = Field(default_factory=list)
    categories: list[ProductCategory] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    inventory: Inventory | None = None

    @model_validator(mode="before")
    @classmethod
    def _description_from_attributes(cls, data: Any) -> Any:
        """v1 detail samples carry the description as `attributes.description`."""
        if isinstance(data, dict) and "description" not in data:
            attrs = data.get("attributes")
            if isinstance(attrs, dict) and isinstance(attrs.get("description"), str):
                return {**data, "description": attrs["description"]}
        return data

    def missing(self) -> tuple[str, ...]:
        """The fields a `Listing` needs that this row lacks."""
        needed = {"original_sku": self.original_sku, "active": self.active, "inventory": self.inventory}
        return tuple(name for name, value in needed.items() if value is None)


class ProductsPage(_Body):
    """A page of products with the paging block."""

    data: list[ProductRow]
    paging: Paging

    @model_validator(mode="before")
    @classmethod
    def _single_product(cls, data: Any) -> Any:
        """`findBy` may answer with one product object instead of a page [I]."""
        if isinstance(data, dict) and "data" not in data and ("id" in data or "product_id" in data):
            return {"data": [data], "paging": {"total": 1, "current_page": 1, "per_page": 1, "last_page": 1}}
        return data


class RequestReason(_Body):
    """One rejection reason; Tiki's shape is not documented, so strings are accepted too [I]."""

    field: str = ""
    message: str = ""


class RequestProductInfo(_Body):
    """The product a create request describes (`include=product_info`) [I]."""

    name: str = ""
    description: str = ""
    price: Money = 0
    quantity: Int = 0
    category_id: Int = 0
    image: str = ""
    images: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)


class RequestRow(_Body):
    """One product request (create or content update) as the requests endpoints return it."""

    request_id: Text
    track_id: str | None = None
    state: str
    kind: str = "create_product"
    original_sku: Text | None = None
    product_id: Int | None = None
    created_at: str
    updated_at: str | None = None
    reasons: list[RequestReason | str] | None = None
    product_info: RequestProductInfo | None = None


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

    original_sku: Text | None = None
    product_id: Int | None = None
    state: str
    errors: list[str] = Field(default_factory=list)


class SkusResponse(_Body):
    """The reply to `updateSkus`: one result per item sent [I]."""

    data: list[SkuResult]


class OrderItemProduct(_Body):
    """The v2 order item's `product` object (the product at purchase time)."""

    id: Int | None = None
    sku: Text = ""
    seller_sku: Text | None = Field(
        default=None, validation_alias=AliasChoices("seller_product_code", "original_sku", "seller_sku")
    )


class OrderItemInvoice(_Body):
    """The v2 order item's `invoice` object: price and quantity bought."""

    price: Money | None = None
    quantity: Int


class OrderItem(_Body):
    """One line of a Tiki order, v1 (`product_id`, `original_sku`, `qty`) or v2 (`product`, `invoice`)."""

    id: Text
    product: OrderItemProduct | None = None
    invoice: OrderItemInvoice | None = None
    product_id: Int | None = None
    sku: Text = ""
    original_sku: Text | None = None
    qty: Int | None = None

    @model_validator(mode="after")
    def _has_quantity(self) -> OrderItem:
        if self.invoice is None and self.qty is None:
            raise ValueError("an order item needs `invoice.quantity` (v2) or `qty` (v1)")
        return self

    @property
    def quantity(self) -> int:
        """Units bought on this line."""
        return self.invoice.quantity if self.invoice is not None else (self.qty or 0)

    @property
    def seller_sku(self) -> str | None:
        """Our seller SKU as the order states it; None when the reply does not carry the field."""
        if self.product is not None and self.product.seller_sku is not None:
            return self.product.seller_sku
        return self.original_sku

    @property
    def tiki_product_id(self) -> int | None:
        """Tiki's product id of this line, to look the seller SKU up when the order lacks it."""
        return self.product.id if self.product is not None and self.product.id is not None else self.product_id


class OrderRow(_Body):
    """One order as `GET /integration/v2/orders` returns it (v2 `code`, or v1 `order_code`)."""

    code: Text = Field(validation_alias=AliasChoices("code", "order_code"))
    status: str
    created_at: Time = Field(validation_alias=AliasChoices("created_at", "purchased_at"))
    updated_at: Time | None = None
    items: list[OrderItem]


class OrdersPage(_Body):
    """A page of orders."""

    data: list[OrderRow]
    paging: Paging


class ErrorBody(_Body):
    """Tiki's common error body: `{"errors": [...]}`."""

    errors: list[str | dict[str, Any]]
