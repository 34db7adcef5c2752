"""How the engine and the adapters speak about marketplace listings, whatever the marketplace.

Adapters translate their marketplace's payloads to and from these models; the engine never
sees a marketplace-specific shape.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.lean import LeanFrozenModel


class ListingStatus(StrEnum):
    """Whether buyers can see and buy the listing."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    DELETED = "deleted"


class QcStatus(StrEnum):
    """The marketplace's content review of a listing or of a create/update request."""

    APPROVED = "approved"
    PENDING = "pending"
    REJECTED = "rejected"


class ListingRef(LeanFrozenModel):
    """Everything needed to address one listing on one marketplace.

    `external_id` is the marketplace's item/product id, `external_sku_id` its SKU/variant id
    when it has one, `request_id` a pending create/review request (Tiki's track_id).
    """

    model_config = ConfigDict(frozen=True)

    seller_sku: str
    external_id: str | None = None
    external_sku_id: str | None = None
    request_id: str | None = None


class ListingContent(LeanFrozenModel):
    """The content fields we own on a listing (what UPDATE_CONTENT pushes)."""

    model_config = ConfigDict(frozen=True)

    title: str
    description: str = ""
    images: tuple[str, ...] = ()
    brand: str = ""
    category_key: int = Field(default=1, description="OCOP product set 1..26; adapters map it")
    unit: str = ""
    weight_g: int = 0
    barcode: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


class ListingDraft(BaseModel):
    """A complete listing to create: content plus price, stock and wanted status."""

    model_config = ConfigDict(frozen=True)

    seller_sku: str
    content: ListingContent
    price_vnd: int = Field(ge=0)
    stock: int = Field(ge=0)
    active: bool = True


class Listing(LeanFrozenModel):
    """A marketplace's current view of one seller SKU (observed state)."""

    model_config = ConfigDict(frozen=True)

    ref: ListingRef
    content: ListingContent
    price_vnd: int
    stock: int
    status: ListingStatus
    qc_status: QcStatus = QcStatus.APPROVED
    qc_reason: str = ""
    qc_field: str = ""
    updated_at: datetime | None = None

    @property
    def seller_sku(self) -> str:
        """The seller SKU this listing is keyed by."""
        return self.ref.seller_sku


class PagePosition(BaseModel):
    """Where one page of a listing read stands: a page number, an offset, a cursor or a time window.

    Opaque to the engine, which only hands it back to the read that made it: reading the page
    at a position again (after a transient failure) asks for the same page, never the first.
    Positions of different `partition`s (e.g. time windows) are independent of each other.
    """

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="page, offset, cursor, window, scan or tail")
    at: str = Field(description="the position itself, printable (unique within one read)")
    partition: int = Field(default=0, ge=0, description="the independent part of the read it belongs to")


class ListingsPage(BaseModel):
    """One page of listings plus what may be read next.

    `follow` lists the positions this page made known (page 1 of a numbered listing knows every
    other page; a scroll's page knows the next one); the engine may read them side by side.
    `next_cursor` is the printable position of the next page in a one-after-another read
    (None when done).
    """

    model_config = ConfigDict(frozen=True)

    listings: tuple[Listing, ...]
    next_cursor: str | None = None
    request_id: str = ""
    position: PagePosition | None = None
    follow: tuple[PagePosition, ...] = ()


class PriceStockUpdate(BaseModel):
    """One SKU's new price and sellable stock."""

    model_config = ConfigDict(frozen=True)

    ref: ListingRef
    price_vnd: int = Field(ge=0)
    stock: int = Field(ge=0)


class ItemOutcome(StrEnum):
    """What happened to one item of a batch call."""

    OK = "ok"
    REJECTED = "rejected"  # permanent: the marketplace refused this item's values
    FAILED = "failed"  # transient: retry this item


class ItemResult(BaseModel):
    """The per-SKU result of a batch call."""

    model_config = ConfigDict(frozen=True)

    seller_sku: str
    outcome: ItemOutcome
    code: str = ""
    message: str = ""
    field: str = ""


class CreateResult(BaseModel):
    """What a create returned: the new listing's ref and whether it awaits review."""

    model_config = ConfigDict(frozen=True)

    ref: ListingRef
    qc_status: QcStatus = QcStatus.APPROVED


class OrderLine(BaseModel):
    """One line of a buyer's order; (order_id, line_id) is unique per shop."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    line_id: str
    seller_sku: str
    quantity: int = Field(ge=1)
    created_at: datetime
    cancelled: bool = False
    returned: bool = False
    updated_at: datetime | None = None

    @property
    def changed_at(self) -> datetime:
        """When the marketplace last changed this line's order (its creation time when no update is stated)."""
        return self.updated_at if self.updated_at is not None else self.created_at


class OrdersPage(BaseModel):
    """One page of order lines plus the cursor for the next one."""

    model_config = ConfigDict(frozen=True)

    lines: tuple[OrderLine, ...]
    next_cursor: str | None = None


class MarketEvent(BaseModel):
    """One marketplace event read from a feed: only what it asks us to look at, never what to write.

    `skus` None = the whole shop; () = the shop's orders only (an order event: the order pull
    finds the SKUs); otherwise the seller SKUs it names. `message_id` is unique per shop and
    stable across re-deliveries, so a duplicated event is recognised.
    """

    model_config = ConfigDict(frozen=True)

    message_id: str
    event_type: str
    skus: tuple[str, ...] | None = None


class EventBatch(BaseModel):
    """One pull from a marketplace event feed: its events and the receipt that acknowledges them."""

    model_config = ConfigDict(frozen=True)

    events: tuple[MarketEvent, ...] = ()
    ack_id: str = ""
