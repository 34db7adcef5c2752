"""The reports' stable JSON schema: drift report, run history, shop status, producer listing status.

These models are the contract of `ocop-sync report ... --format json` and of the HTTP API
(`/api/drift`, `/api/runs`, `/api/shops`, `/api/producers/{id}/listings`). Fields are only ever
added, never renamed or removed, within one `schema_version`. Money is integer VND; times are
timezone-aware UTC; ages are whole seconds. Free text (`next_step`, `reason_text`) is already in the
report's language; the `*_code` fields beside them are stable identifiers for programs.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

REPORT_SCHEMA_VERSION = 1

Lang = Literal["vi", "en"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ListingState(StrEnum):
    """Where one product stands on one shop, in a producer's terms."""

    LIVE = "live"  # buyers can see and buy it
    PENDING_REVIEW = "pending_review"  # the marketplace is reviewing it (since `since`)
    REJECTED = "rejected"  # the marketplace refused it (`reason`, `field`)
    INACTIVE = "inactive"  # listed but hidden (`inactive_reason` says why)
    MISSING = "missing"  # not on the marketplace (yet)
    CERT_EXPIRED = "cert_expired"  # the OCOP certificate expired: must not be sold as OCOP
    NOT_LISTED = "not_listed"  # never listed (community-tourism services)


class ShopProblemKind(StrEnum):
    """A connection problem of a shop that stops or will stop its sync."""

    CONNECTION_ERROR = "connection_error"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_EXPIRING = "token_expiring"
    NEVER_SYNCED = "never_synced"


class DriftItem(_Model):
    """One drift row: what the catalog expects vs what the marketplace shows."""

    id: int
    shop_id: str
    marketplace: str
    producer_id: str | None = Field(description="owner of the SKU; None when the SKU is not in the catalog (orphan)")
    sku: str
    product_name: str = ""
    kind: str = Field(description="a schemas.sync.DriftKind value")
    expected: str = ""
    observed: str = ""
    first_seen: datetime
    last_seen: datetime
    age_s: int = Field(ge=0, description="seconds from first_seen to resolved_at, or to generated_at while open")
    resolved_at: datetime | None = None
    silent_failure: bool = False


class DriftGroup(_Model):
    """Open drift counted by (kind, shop, producer)."""

    kind: str
    shop_id: str
    producer_id: str | None
    count: int = Field(ge=0)
    oldest_first_seen: datetime


class DeadAction(_Model):
    """An outbox action that failed permanently and needs a person."""

    id: int
    shop_id: str
    sku: str
    producer_id: str | None
    kind: str
    reason: str = ""
    attempts: int = 0
    last_error: str = ""
    created_at: datetime
    updated_at: datetime


class DriftReport(_Model):
    """Open drift grouped by kind, shop and producer; drift resolved since `since`; dead actions; silent failures."""

    schema_version: int = REPORT_SCHEMA_VERSION
    generated_at: datetime
    shop_id: str | None = None
    since: datetime
    open_count: int = Field(ge=0)
    open_by_kind: dict[str, int]
    open_by_shop: dict[str, int]
    open_by_producer: dict[str, int] = Field(description="key '' = SKUs not in the catalog")
    groups: list[DriftGroup]
    open: list[DriftItem]
    resolved: list[DriftItem]
    dead_actions: list[DeadAction]
    silent_failures: list[DriftItem]


class RunRecord(_Model):
    """One sync run of one shop."""

    id: int
    shop_id: str
    marketplace: str
    kind: str
    trigger: str
    worker: str = ""
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    outcome: str
    error: str = ""
    counters: dict[str, Any] = Field(default_factory=dict)


class RunsReport(_Model):
    """Recent sync runs, newest first."""

    schema_version: int = REPORT_SCHEMA_VERSION
    generated_at: datetime
    shop_id: str | None = None
    runs: list[RunRecord]


class ShopStatus(_Model):
    """One shop's health as operators see it."""

    id: str
    marketplace: str
    seller_id: str
    producer_id: str | None = Field(description="None = a shared provincial pavilion")
    enabled: bool
    last_success_at: datetime | None = None
    last_error: str = ""
    token_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    open_drift: int = 0
    pending_actions: int = 0
    dead_actions: int = 0
    last_run_outcome: str = ""
    in_flight_actions: int = 0
    failing_runs: int = Field(default=0, description="failed or blocked runs since the last success")
    stalled: bool = False
    state: str = Field(
        default="ok", description="ok, degraded, failing, stalled, needs_reconnect, never_run or disabled"
    )


class ShopsReport(_Model):
    """Every known shop."""

    schema_version: int = REPORT_SCHEMA_VERSION
    generated_at: datetime
    shops: list[ShopStatus]


class ShopProblem(_Model):
    """A connection or token problem of a shop that sells the producer's products."""

    shop_id: str
    marketplace: str
    kind: ShopProblemKind
    detail: str = ""
    since: datetime | None = None
    text: str = Field(description="the problem and what to do, in the report's language")


class CertificateWarning(_Model):
    """An OCOP certificate that expired or expires within the warning window."""

    sku: str
    product_name: str
    decision_no: str
    valid_until: date
    days_left: int = Field(description="negative when already expired")
    expired: bool


class ProductSummary(_Model):
    """One of the producer's products as the catalog knows it."""

    sku: str
    name: str
    stars: int
    product_set: int
    active: bool
    price_vnd: int
    stock: int
    certificate_no: str
    certificate_valid_until: date
    certificate_state: str = Field(description="valid | expiring | expired")


class ListingLine(_Model):
    """One product on one shop: state, prices and stock (catalog / sent / read back), and the next step."""

    sku: str
    product_name: str
    shop_id: str
    marketplace: str
    shared_shop: bool = Field(description="True on a provincial pavilion shared by several producers")
    state: ListingState
    state_text: str
    since: datetime | None = Field(default=None, description="pending review since / rejected at / first seen")
    reason: str = Field(default="", description="the marketplace's own words (rejection reason, error)")
    field: str = Field(default="", description="the listing field the marketplace objected to")
    inactive_reason_code: str = ""
    reason_text: str = Field(default="", description="why, in the report's language")
    catalog_price_vnd: int
    sent_price_vnd: int | None = None
    observed_price_vnd: int | None = None
    catalog_stock: int
    sent_stock: int | None = None
    observed_stock: int | None = None
    open_drift: list[str] = Field(default_factory=list)
    last_checked_at: datetime | None = None
    last_success_at: datetime | None = None
    next_step_code: str
    next_step: str


class ProducerInfo(_Model):
    """Who the report is for."""

    id: str
    name: str
    type: str
    province: str = ""


class ProducerReport(_Model):
    """A producer's listing status on every shop that sells their products."""

    schema_version: int = REPORT_SCHEMA_VERSION
    generated_at: datetime
    lang: Lang
    producer: ProducerInfo
    cert_warning_days: int
    summary: dict[str, int] = Field(description="count of listings per ListingState")
    products: list[ProductSummary]
    shops: list[str]
    listings: list[ListingLine]
    certificates: list[CertificateWarning]
    shop_problems: list[ShopProblem]


class DriftPoint(_Model):
    """Drift on one day: opened, resolved, and still open at the end of the day."""

    day: date
    opened: int = 0
    resolved: int = 0
    open_at_end: int = 0


class ResyncRequest(_Model):
    """Body of `POST /api/resync`."""

    shop_id: str | None = Field(default=None, max_length=64, description="None = every shop")
    kind: Literal["full", "incremental"] = "full"


class ResyncAccepted(_Model):
    """Answer of `POST /api/resync`: the request was recorded; the daemon picks it up."""

    request_id: int
    shop_id: str | None
    kind: str
    requested_at: datetime


REPORT_MODELS: tuple[type[BaseModel], ...] = (ProducerReport, DriftReport, RunsReport, ShopsReport, ResyncAccepted)


def report_json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every report, by model name (what docs/report-schema.md documents)."""
    return {model.__name__: model.model_json_schema(mode="serialization") for model in REPORT_MODELS}
