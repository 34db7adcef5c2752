"""SQLModel tables: the catalog, shops, bindings, the outbox, drift history, runs, sales, leases.

Tables hold rows; the pydantic `schemas` are the values code passes around. Full catalog
records are kept as JSON (`data`) next to the columns queries need, so a product round-trips
exactly while stock, price and certificate dates stay indexable.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel


class ProducerRow(SQLModel, table=True):
    """A chủ thể (producer); `data` is the full `schemas.Producer`."""

    __tablename__ = "producer"

    id: str = Field(primary_key=True, max_length=64)
    name: str
    type: str = Field(index=True)
    province: str = ""
    contact_email: str = ""
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    content_hash: str = ""
    updated_at: datetime


class ProductRow(SQLModel, table=True):
    """One catalog product; `data` is the full `schemas.Product`, columns are its projections."""

    __tablename__ = "product"

    sku: str = Field(primary_key=True, max_length=64)
    producer_id: str = Field(foreign_key="producer.id", index=True)
    name: str
    product_set: int
    stars: int
    potential_5: bool = False
    cert_valid_until: date = Field(index=True)
    price_vnd: int
    stock: int
    active: bool = True
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(index=True)
    updated_at: datetime = Field(index=True)
    # Bumped on every change to the product, sales included; exports carry it so an import knows
    # what the person saw (`product_revision` keeps the product as it was at each version).
    row_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class ProductRevisionRow(SQLModel, table=True):
    """A product as it was at one `row_version`: the base an import of an older export is merged against."""

    __tablename__ = "product_revision"

    sku: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    recorded_at: datetime = Field(index=True)


class CatalogChangeRow(SQLModel, table=True):
    """The catalog change log: one row per SKU a committed transaction changed, in commit order.

    Rows are written at commit, under a lock that serialises catalog commits (PostgreSQL:
    a transaction advisory lock; SQLite: the one writer), so ids become visible in id order:
    whoever has seen id N has seen every change with a smaller id (see docs/concurrency.md).
    """

    __tablename__ = "catalog_change"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused after a prune

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    sku: str = Field(max_length=64)
    changed_at: datetime


class ShopRow(SQLModel, table=True):
    """One seller account on one marketplace, mirrored from settings, plus its sync watermarks."""

    __tablename__ = "shop"

    id: str = Field(primary_key=True, max_length=64)
    marketplace: str = Field(index=True)
    seller_id: str
    producer_id: str | None = Field(default=None, description="None = a shared provincial pavilion")
    enabled: bool = True
    listings_watermark: datetime | None = None
    orders_watermark: datetime | None = None
    catalog_watermark: datetime | None = None  # superseded by catalog_position (kept for old rows)
    catalog_position: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True), description="last catalog_change id synced"
    )
    last_success_at: datetime | None = None
    last_error: str = ""
    token_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None


class BindingRow(SQLModel, table=True):
    """Product x shop: the marketplace's ids, what we last pushed and what we last read back."""

    __tablename__ = "binding"
    __table_args__ = (UniqueConstraint("shop_id", "sku", name="uq_binding_shop_sku"),)

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(foreign_key="shop.id", index=True)
    sku: str = Field(index=True)
    external_id: str | None = None
    external_sku_id: str | None = None
    request_id: str | None = None
    status: str = ""  # active | inactive | deleted | "" (never observed)
    qc_status: str = ""
    qc_reason: str = ""
    qc_field: str = ""
    qc_since: datetime | None = None
    observed_price: int | None = None
    observed_stock: int | None = None
    observed_title: str = ""
    observed_content_hash: str = ""
    pushed_content_hash: str = ""
    pushed_price: int | None = None
    pushed_stock: int | None = None
    pushed_active: bool | None = None
    desired_hash: str = ""
    last_observed_at: datetime | None = None
    last_pushed_at: datetime | None = None
    create_intent_at: datetime | None = Field(default=None, description="a create was sent; look up before resending")
    observed: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="last observed listing (schemas.Listing JSON)"
    )


class ActionRow(SQLModel, table=True):
    """The outbox: one intended write, written in the same transaction as the plan."""

    __tablename__ = "action"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, index=True)
    shop_id: str = Field(foreign_key="shop.id", index=True)
    sku: str = Field(index=True)
    kind: str
    reason: str = ""
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    idempotency_key: str = Field(unique=True)
    state: str = Field(default="pending", index=True)
    attempts: int = 0
    last_error: str = ""
    lease_until: datetime | None = None
    created_at: datetime
    updated_at: datetime


class DriftRow(SQLModel, table=True):
    """One drift item's history: opened when first seen, resolved when it closes; never deleted."""

    __tablename__ = "drift"

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(foreign_key="shop.id", index=True)
    sku: str = Field(index=True)
    kind: str = Field(index=True)
    expected: str = ""
    observed: str = ""
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = Field(default=None, index=True)
    silent_failure: bool = False


class SyncRunRow(SQLModel, table=True):
    """One run of one shop, with its counters."""

    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(foreign_key="shop.id", index=True)
    marketplace: str
    kind: str
    trigger: str
    worker: str = ""
    started_at: datetime = Field(index=True)
    finished_at: datetime | None = None
    outcome: str = "running"
    error: str = ""
    counters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_id: int | None = None


class SaleRow(SQLModel, table=True):
    """An order line pulled from a marketplace; unique per line so stock drops exactly once."""

    __tablename__ = "sale"
    __table_args__ = (UniqueConstraint("shop_id", "order_id", "line_id", name="uq_sale_line"),)

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(foreign_key="shop.id", index=True)
    order_id: str
    line_id: str
    sku: str = Field(index=True)
    quantity: int
    applied_quantity: int = 0
    oversold: bool = False
    ordered_at: datetime
    recorded_at: datetime


class StockMoveRow(SQLModel, table=True):
    """One movement of canonical stock with its source: the ledger `report stock SKU` explains a number with.

    `kind` is sale, cancel, return, manual or import. Order movements carry their shop,
    order and line and are unique per (shop, order, line, kind), so each counts once.
    """

    __tablename__ = "stock_move"
    __table_args__ = (UniqueConstraint("shop_id", "order_id", "line_id", "kind", name="uq_stock_move_line_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(index=True)
    kind: str
    delta: int
    stock_after: int
    shop_id: str | None = None
    order_id: str | None = None
    line_id: str | None = None
    run_id: int | None = None
    note: str = ""
    at: datetime


class InboundEventRow(SQLModel, table=True):
    """A marketplace push or queue event seen once (unique per shop and message id) and the work it asked for."""

    __tablename__ = "inbound_event"
    __table_args__ = (UniqueConstraint("shop_id", "message_id", name="uq_inbound_event_message"),)

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(index=True)
    message_id: str
    source: str
    skus: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    received_at: datetime
    scheduled_at: datetime | None = Field(default=None, index=True)


class ResyncRequestRow(SQLModel, table=True):
    """A manual resync an operator asked for; the daemon claims and runs it."""

    __tablename__ = "resync_request"

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str | None = Field(default=None, description="None = every shop")
    kind: str = "full"
    requested_by: str = ""
    requested_at: datetime
    claimed_by: str = ""
    claimed_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str = ""


class LeaseRow(SQLModel, table=True):
    """A named lease (the scheduler leader, or one shop's worker) with an epoch fencing token."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=128)
    holder: str
    epoch: int = 0
    expires_at: datetime


class ApiTokenRow(SQLModel, table=True):
    """An HTTP API bearer token, stored only as a hash."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    role: str  # operator | producer
    producer_id: str | None = None
    label: str = ""
    created_at: datetime
    revoked_at: datetime | None = None


class WebSessionRow(SQLModel, table=True):
    """A browser sign-in: its random id stored only as a hash, the token it came from, and its end."""

    __tablename__ = "web_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    token_id: int = Field(foreign_key="api_token.id", index=True)
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


class ShopSecretRow(SQLModel, table=True):
    """A shop's marketplace tokens, encrypted at rest (Fernet key from the environment)."""

    __tablename__ = "shop_secret"

    shop_id: str = Field(primary_key=True, foreign_key="shop.id")
    ciphertext: bytes
    updated_at: datetime


class SyncTickRow(SQLModel, table=True):
    """One unit of scheduled work for one shop, enqueued by the leader and claimed by one worker.

    `tick` names the slot the work belongs to (``inc:<n>`` = the n-th incremental interval since
    the epoch, ``full:<scheduled time>``, ``req:<request id>``, ``cat:<n>``); the unique
    (shop_id, tick) constraint is what makes "each shop runs once per tick" hold across leaders.
    """

    __tablename__ = "sync_tick"
    __table_args__ = (UniqueConstraint("shop_id", "tick", name="uq_sync_tick_shop_tick"),)

    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(index=True, max_length=64)
    tick: str = Field(max_length=96)
    kind: str = "incremental"
    trigger: str = "schedule"
    skus: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    request_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", index=True)  # pending | running | done | failed
    leader: str = ""
    leader_epoch: int = 0
    due_at: datetime = Field(index=True)
    claimed_by: str = ""
    claimed_at: datetime | None = None
    lease_until: datetime | None = None
    attempts: int = 0
    finished_at: datetime | None = None
    run_id: int | None = None
    outcome: str = ""
    error: str = ""


class TickClaimRow(SQLModel, table=True):
    """One claim of one tick by one worker under one shop-lease epoch: who ran which tick under which fence.

    Written in the claiming transaction, closed when the worker records the tick's end. A run
    (`sync_run`) belongs to the latest claim of its shop by its worker made before it started.
    """

    __tablename__ = "tick_claim"

    id: int | None = Field(default=None, primary_key=True)
    tick_id: int = Field(index=True)
    shop_id: str = Field(index=True, max_length=64)
    tick: str = Field(max_length=96)
    worker: str = ""
    lease_epoch: int = 0
    claimed_at: datetime
    ended_at: datetime | None = None
    run_id: int | None = None
    outcome: str = ""


class MarketCategoryRow(SQLModel, table=True):
    """One node of a shop's marketplace category tree as last read, with a mapped category's required attributes.

    `required` holds the names of the attributes the category marks mandatory; it is None until
    they were read (only the categories named in the shop's `category_map` are read).
    """

    __tablename__ = "market_category"

    shop_id: str = Field(primary_key=True, max_length=64)
    category_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    name: str
    path: list[str] = Field(sa_column=Column(JSON, nullable=False))
    leaf: bool
    required: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    refreshed_at: datetime
