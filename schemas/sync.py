"""The reconcile loop's vocabulary: desired listings, drift, actions, plans and run summaries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.lean import LeanFrozenModel
from schemas.listing import ListingContent


class DesiredListing(LeanFrozenModel):
    """What one shop's listing of one SKU should be, computed from the catalog and shop rules."""

    model_config = ConfigDict(frozen=True)

    shop_id: str
    seller_sku: str
    producer_id: str
    content: ListingContent
    price_vnd: int = Field(ge=0)
    stock: int = Field(ge=0)
    active: bool
    inactive_reason: str = ""  # why active is False: product_inactive, certificate_expired
    cert_expired: bool = False
    content_hash: str = ""


class DriftKind(StrEnum):
    """How a listing differs from the catalog."""

    MISSING = "missing"
    ORPHAN = "orphan"
    PRICE = "price"
    STOCK = "stock"
    CONTENT = "content"
    STATUS = "status"
    QC_PENDING = "qc_pending"
    QC_REJECTED = "qc_rejected"
    CERT_EXPIRED = "cert_expired"
    INVALID = "invalid"  # pre-flight: the draft breaks the category's or marketplace's content rules; no call made


class Drift(LeanFrozenModel):
    """One observed difference, with what we expected and what the marketplace showed."""

    model_config = ConfigDict(frozen=True)

    shop_id: str
    seller_sku: str
    kind: DriftKind
    expected: str = ""
    observed: str = ""


class ActionKind(StrEnum):
    """What the engine does to close drift."""

    CREATE = "create"
    UPDATE_CONTENT = "update_content"
    SET_PRICE_STOCK = "set_price_stock"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"


class ActionState(StrEnum):
    """An outbox row's lifecycle."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"  # transient failure, will be retried by a later run
    DEAD = "dead"  # permanent failure, needs a human
    SUPERSEDED = "superseded"  # a newer plan no longer wanted this write (kept for history)


class Action(LeanFrozenModel):
    """One write the engine intends to make, with the reason a person can read."""

    model_config = ConfigDict(frozen=True)

    shop_id: str
    seller_sku: str
    kind: ActionKind
    reason: str
    payload: dict[str, object] = Field(default_factory=dict)


class Plan(BaseModel):
    """The pure result of comparing desired and observed state for one shop."""

    model_config = ConfigDict(frozen=True)

    shop_id: str
    drifts: tuple[Drift, ...] = ()
    actions: tuple[Action, ...] = ()
    guard_blocked: str = ""  # non-empty when a safety guard refused to act


class RunKind(StrEnum):
    """Incremental (changed since watermark) or full (everything)."""

    INCREMENTAL = "incremental"
    FULL = "full"


class RunTrigger(StrEnum):
    """What started a run."""

    SCHEDULE = "schedule"
    MANUAL = "manual"
    CATALOG_CHANGE = "catalog_change"
    EVENT = "event"  # a marketplace push or queue event (targeted incremental run)


class RunOutcome(StrEnum):
    """How a run ended."""

    RUNNING = "running"
    CONVERGED = "converged"  # nothing left to do
    PARTIAL = "partial"  # some actions failed transiently or await review
    DEAD_ACTIONS = "dead_actions"  # some actions failed permanently
    BLOCKED = "blocked"  # a safety guard refused to act
    FAILED = "failed"  # the run itself failed (auth, outage...)
    INTERRUPTED = "interrupted"


class RunCounters(BaseModel):
    """What one run did, counted."""

    reads: int = 0
    writes: int = 0
    retries: int = 0
    throttle_waits: int = 0
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    reactivated: int = 0
    failed: int = 0
    dead: int = 0
    silent_failures: int = 0
    drift_opened: int = 0
    drift_closed: int = 0
    sales_recorded: int = 0
    skus_covered: int = 0  # SKUs the run observed and planned (its scope)


class RunSummary(BaseModel):
    """The record of one sync run of one shop."""

    run_id: int
    shop_id: str
    marketplace: str
    kind: RunKind
    trigger: RunTrigger
    started_at: datetime
    finished_at: datetime | None = None
    outcome: RunOutcome = RunOutcome.RUNNING
    error: str = ""
    counters: RunCounters = Field(default_factory=RunCounters)
