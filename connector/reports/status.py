"""Per-shop health as an operator needs it: last success, drift, outbox, token expiry, lease holder.

Read straight from the store, so `ocop-sync status`, `/metrics` and any worker see the same
picture of the whole cluster. A shop with no successful run for three incremental intervals is
*stalled*: the daemon is up but that shop is not getting synced.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.clock import aware, expiring_soon
from connector.settings import Settings
from connector.store.leases import LEADER_LEASE, LeaseView, read_leases, shop_lease
from connector.store.models import ActionRow, DriftRow, ShopRow, SyncRunRow

SUCCESS_OUTCOMES = ("converged", "partial", "dead_actions")
STALL_INTERVALS = 3


@dataclass(frozen=True)
class ShopStatus:
    """One shop's health."""

    shop_id: str
    marketplace: str
    enabled: bool
    last_success_at: datetime | None
    last_outcome: str
    last_run_at: datetime | None
    open_drift: dict[str, int] = field(default_factory=dict)
    pending_actions: int = 0
    in_flight_actions: int = 0
    dead_actions: int = 0
    token_expires_at: datetime | None = None  # the access token (renewed automatically)
    refresh_expires_at: datetime | None = None  # the authorisation a person must renew, when there is one
    token_warning: bool = False
    lease_holder: str = ""
    stalled: bool = False

    @property
    def open_drift_total(self) -> int:
        """Open drift items of every kind."""
        return sum(self.open_drift.values())


@dataclass(frozen=True)
class ClusterStatus:
    """Every shop, plus who leads the scheduler."""

    shops: list[ShopStatus]
    leader: LeaseView | None
    now: datetime


def is_stalled(reference: datetime | None, now: datetime, interval_s: float) -> bool:
    """True when nothing succeeded for `STALL_INTERVALS` intervals since `reference` (last success or first run)."""
    return reference is not None and now - reference > timedelta(seconds=STALL_INTERVALS * interval_s)


def read_status(engine: Engine, settings: Settings, now: datetime) -> ClusterStatus:
    """The health of every configured shop, from the store."""
    with Session(engine) as session:
        last_success = dict(
            session.exec(
                select(SyncRunRow.shop_id, func.max(SyncRunRow.finished_at))
                .where(SyncRunRow.outcome.in_(SUCCESS_OUTCOMES))  # type: ignore[attr-defined]
                .group_by(SyncRunRow.shop_id)
            ).all()
        )
        first_run = dict(
            session.exec(select(SyncRunRow.shop_id, func.min(SyncRunRow.started_at)).group_by(SyncRunRow.shop_id)).all()
        )
        last_ids = [i for i in session.exec(select(func.max(SyncRunRow.id)).group_by(SyncRunRow.shop_id)).all() if i]
        last_runs = {
            r.shop_id: r
            for r in session.exec(select(SyncRunRow).where(SyncRunRow.id.in_(last_ids)))  # type: ignore[union-attr]
        }
        drift: dict[str, dict[str, int]] = defaultdict(dict)
        for shop_id, kind, n in session.exec(
            select(DriftRow.shop_id, DriftRow.kind, func.count())
            .where(DriftRow.resolved_at == None)  # noqa: E711
            .group_by(DriftRow.shop_id, DriftRow.kind)
        ).all():
            drift[shop_id][kind] = int(n)
        actions: dict[str, dict[str, int]] = defaultdict(dict)
        for shop_id, state, n in session.exec(
            select(ActionRow.shop_id, ActionRow.state, func.count()).group_by(ActionRow.shop_id, ActionRow.state)
        ).all():
            actions[shop_id][state] = int(n)
        shop_rows = {r.id: r for r in session.exec(select(ShopRow)).all()}
    leases = read_leases(engine)
    interval = settings.scheduler.incremental_interval_s
    shops: list[ShopStatus] = []
    for shop in settings.shops:
        success = aware(last_success.get(shop.id))
        last = last_runs.get(shop.id)
        row = shop_rows.get(shop.id)
        token = aware(row.token_expires_at) if row is not None else None
        authorisation = aware(row.refresh_expires_at) if row is not None else None
        lease = leases.get(shop_lease(shop.id))
        shops.append(
            ShopStatus(
                shop_id=shop.id,
                marketplace=shop.marketplace,
                enabled=shop.enabled,
                last_success_at=success,
                last_outcome=last.outcome if last is not None else "",
                last_run_at=aware(last.started_at) if last is not None else None,
                open_drift=dict(sorted(drift.get(shop.id, {}).items())),
                pending_actions=actions[shop.id].get("pending", 0) + actions[shop.id].get("failed", 0),
                in_flight_actions=actions[shop.id].get("in_flight", 0),
                dead_actions=actions[shop.id].get("dead", 0),
                token_expires_at=token,
                refresh_expires_at=authorisation,
                token_warning=expiring_soon(authorisation, now),
                lease_holder=lease.holder if lease is not None and lease.live(now) else "",
                stalled=shop.enabled and is_stalled(success or aware(first_run.get(shop.id)), now, interval),
            )
        )
    leader = leases.get(LEADER_LEASE)
    return ClusterStatus(shops, leader if leader is not None and leader.live(now) else None, now)
