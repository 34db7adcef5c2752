"""The one definition of a shop's health, shared by `ocop-sync status`, `/metrics`, the shops report and catch-up.

Counts, each defined once:
- *pending* actions: waiting to be applied, including failed ones awaiting their retry
  (outbox states `pending` and `failed`); actions being applied right now are *in flight*;
  actions that failed for good are *dead*.
- the *last success*: the latest end of a run that converged, partly converged or left dead
  actions (the shop's recorded `last_success_at` when later).
- *failing runs*: the finished runs since the last success that failed or were blocked
  (interrupted runs — a worker stopped mid-run — say nothing about the shop and are skipped).

The state, first match wins:
- `disabled`: switched off in settings;
- `needs_reconnect`: the latest finished run failed on authorisation (AuthFailed / AuthExpired),
  or the authorisation (refresh token) has lapsed — a person must reconnect the shop;
- `failing`: the latest finished run failed or was blocked by a safety guard;
- `stalled`: no success for `STALL_INTERVALS` incremental intervals since the last success (or
  the first run) although the shop is enabled;
- `never_run`: enabled, and no run yet;
- `degraded`: syncing, but the latest run left work undone (partial, dead actions), dead actions
  wait for a person, or the authorisation expires within 7 days;
- `ok`: the latest run converged and nothing waits for a person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from adapters.errors import AuthExpired, AuthFailed
from connector.clock import aware, expiring_soon
from connector.redact import redact_secrets
from connector.settings import Settings
from connector.store.models import ActionRow, DriftRow, ShopRow, SyncRunRow

SUCCESS_OUTCOMES = ("converged", "partial", "dead_actions")
FAILURE_OUTCOMES = ("failed", "blocked")
NEUTRAL_OUTCOMES = ("running", "interrupted")
PENDING_ACTION_STATES = ("pending", "failed")
AUTH_ERROR_NAMES = (AuthFailed.__name__, AuthExpired.__name__)
STALL_INTERVALS = 3
RECENT_RUNS = 20


class HealthState(StrEnum):
    """A shop's health in one word (see the module docstring for the rules)."""

    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"
    STALLED = "stalled"
    NEEDS_RECONNECT = "needs_reconnect"
    NEVER_RUN = "never_run"
    DISABLED = "disabled"


@dataclass(frozen=True)
class ShopView:
    """A shop as reports see it: identity from settings (or the store), health from the store."""

    id: str
    marketplace: str
    seller_id: str
    producer_id: str | None
    enabled: bool
    last_success_at: datetime | None = None
    last_error: str = ""
    token_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    configured: bool = True

    @property
    def shared(self) -> bool:
        """True for a provincial pavilion that sells every producer's products."""
        return self.producer_id is None


def _view(row: ShopRow | None, **identity: object) -> ShopView:
    return ShopView(
        **identity,  # type: ignore[arg-type]
        last_success_at=aware(row.last_success_at) if row else None,
        last_error=redact_secrets(row.last_error) if row else "",
        token_expires_at=aware(row.token_expires_at) if row else None,
        refresh_expires_at=aware(row.refresh_expires_at) if row else None,
    )


def shop_views(session: Session, settings: Settings) -> list[ShopView]:
    """Every shop known to settings or the store, sorted by id; settings decide identity and ownership."""
    rows = {row.id: row for row in session.exec(select(ShopRow))}
    views: dict[str, ShopView] = {}
    for s in settings.shops:
        views[s.id] = _view(
            rows.get(s.id),
            id=s.id,
            marketplace=s.marketplace,
            seller_id=s.seller_id,
            producer_id=s.producer_id,
            enabled=s.enabled,
        )
    for row in rows.values():
        if row.id not in views:
            views[row.id] = _view(
                row,
                id=row.id,
                marketplace=row.marketplace,
                seller_id=row.seller_id,
                producer_id=row.producer_id,
                enabled=row.enabled,
                configured=False,
            )
    return [views[k] for k in sorted(views)]


@dataclass(frozen=True)
class RunFacts:
    """What a shop's recent runs say: the latest run, the latest finished one, failures since the last success."""

    last_outcome: str = ""
    last_run_at: datetime | None = None
    first_run_at: datetime | None = None
    last_success_at: datetime | None = None
    finished_outcome: str = ""
    finished_error: str = ""
    failing_runs: int = 0


@dataclass(frozen=True)
class ShopHealth:
    """One shop's health: identity, last runs, outbox and drift counts, authorisation, lease, state."""

    shop_id: str
    marketplace: str
    seller_id: str
    producer_id: str | None
    enabled: bool
    configured: bool
    last_success_at: datetime | None
    last_outcome: str
    last_run_at: datetime | None
    last_error: str = ""
    failing_runs: int = 0
    open_drift: dict[str, int] = field(default_factory=dict)
    pending_actions: int = 0
    in_flight_actions: int = 0
    dead_actions: int = 0
    token_expires_at: datetime | None = None  # the access token (renewed automatically)
    refresh_expires_at: datetime | None = None  # the authorisation a person must renew, when there is one
    token_warning: bool = False
    lease_holder: str = ""
    stalled: bool = False
    state: HealthState = HealthState.OK

    @property
    def open_drift_total(self) -> int:
        """Open drift items of every kind."""
        return sum(self.open_drift.values())


def is_stalled(reference: datetime | None, now: datetime, interval_s: float) -> bool:
    """True when nothing succeeded for `STALL_INTERVALS` intervals since `reference` (last success or first run)."""
    return reference is not None and now - reference > timedelta(seconds=STALL_INTERVALS * interval_s)


def is_auth_error(error: str) -> bool:
    """True when a run's recorded error is an authorisation failure (`AuthFailed: ...`, `AuthExpired: ...`)."""
    return error.startswith(AUTH_ERROR_NAMES)


def classify(
    *,
    enabled: bool,
    runs: RunFacts,
    stalled: bool,
    dead_actions: int,
    refresh_expires_at: datetime | None,
    token_warning: bool,
    now: datetime,
) -> HealthState:
    """The one word for a shop's health, from what its runs, outbox and authorisation say (pure)."""
    if not enabled:
        return HealthState.DISABLED
    failed = runs.finished_outcome in FAILURE_OUTCOMES
    if (failed and is_auth_error(runs.finished_error)) or (
        refresh_expires_at is not None and refresh_expires_at <= now
    ):
        return HealthState.NEEDS_RECONNECT
    if failed:
        return HealthState.FAILING
    if stalled:
        return HealthState.STALLED
    if not runs.last_outcome and runs.last_success_at is None:
        return HealthState.NEVER_RUN
    if runs.finished_outcome in ("partial", "dead_actions") or dead_actions or token_warning:
        return HealthState.DEGRADED
    return HealthState.OK


def _run_facts(session: Session, shop_id: str, recorded_success: datetime | None) -> RunFacts:
    rows = list(
        session.exec(
            select(SyncRunRow)
            .where(SyncRunRow.shop_id == shop_id)
            .order_by(col(SyncRunRow.id).desc())
            .limit(RECENT_RUNS)
        )
    )
    if not rows:
        return RunFacts(last_success_at=recorded_success)
    first = session.exec(select(func.min(SyncRunRow.started_at)).where(SyncRunRow.shop_id == shop_id)).one()
    last_success = session.exec(
        select(func.max(SyncRunRow.finished_at)).where(
            SyncRunRow.shop_id == shop_id, col(SyncRunRow.outcome).in_(SUCCESS_OUTCOMES)
        )
    ).one()
    success = max((t for t in (aware(last_success), recorded_success) if t is not None), default=None)
    finished = [r for r in rows if r.outcome not in NEUTRAL_OUTCOMES]
    failing = 0
    for r in finished:
        if r.outcome not in FAILURE_OUTCOMES:
            break
        failing += 1
    return RunFacts(
        last_outcome=rows[0].outcome,
        last_run_at=aware(rows[0].started_at),
        first_run_at=aware(first),
        last_success_at=success,
        finished_outcome=finished[0].outcome if finished else "",
        finished_error=finished[0].error if finished else "",
        failing_runs=failing,
    )


def _open_drift(session: Session) -> dict[str, dict[str, int]]:
    drift: dict[str, dict[str, int]] = defaultdict(dict)
    for shop_id, kind, n in session.exec(
        select(DriftRow.shop_id, DriftRow.kind, func.count())
        .where(col(DriftRow.resolved_at).is_(None))
        .group_by(DriftRow.shop_id, DriftRow.kind)
    ).all():
        drift[shop_id][kind] = int(n)
    return drift


def _actions(session: Session) -> dict[str, dict[str, int]]:
    actions: dict[str, dict[str, int]] = defaultdict(dict)
    for shop_id, state, n in session.exec(
        select(ActionRow.shop_id, ActionRow.state, func.count()).group_by(ActionRow.shop_id, ActionRow.state)
    ).all():
        actions[shop_id][state] = int(n)
    return actions


def shop_health(
    session: Session, settings: Settings, now: datetime, lease_holders: Mapping[str, str] | None = None
) -> list[ShopHealth]:
    """The health of every shop known to settings or the store, sorted by id (`configured` tells them apart).

    `lease_holders` maps a shop id to the worker holding its live lease, when the caller knows it.
    """
    drift, actions = _open_drift(session), _actions(session)
    interval = settings.scheduler.incremental_interval_s
    result = []
    for view in shop_views(session, settings):
        runs = _run_facts(session, view.id, view.last_success_at)
        counts = actions.get(view.id, {})
        stalled = view.enabled and is_stalled(runs.last_success_at or runs.first_run_at, now, interval)
        warning = expiring_soon(view.refresh_expires_at, now)
        dead = counts.get("dead", 0)
        state = classify(
            enabled=view.enabled,
            runs=runs,
            stalled=stalled,
            dead_actions=dead,
            refresh_expires_at=view.refresh_expires_at,
            token_warning=warning,
            now=now,
        )
        result.append(
            ShopHealth(
                shop_id=view.id,
                marketplace=view.marketplace,
                seller_id=view.seller_id,
                producer_id=view.producer_id,
                enabled=view.enabled,
                configured=view.configured,
                last_success_at=runs.last_success_at,
                last_outcome=runs.last_outcome,
                last_run_at=runs.last_run_at,
                last_error=view.last_error,
                failing_runs=runs.failing_runs,
                open_drift=dict(sorted(drift.get(view.id, {}).items())),
                pending_actions=sum(counts.get(s, 0) for s in PENDING_ACTION_STATES),
                in_flight_actions=counts.get("in_flight", 0),
                dead_actions=dead,
                token_expires_at=view.token_expires_at,
                refresh_expires_at=view.refresh_expires_at,
                token_warning=warning,
                lease_holder=(lease_holders or {}).get(view.id, ""),
                stalled=stalled,
                state=state,
            )
        )
    return result
