"""Cluster health as an operator needs it: every configured shop's health, plus who leads the scheduler.

Read straight from the store, so `ocop-sync status`, `/metrics`, the daemon's catch-up and any
worker see the same picture of the whole cluster. Each shop's health comes from the one query
in `connector.reports.health` (the shops report uses it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from connector.reports.health import (
    STALL_INTERVALS,
    SUCCESS_OUTCOMES,
    HealthState,
    ShopHealth,
    is_stalled,
    shop_health,
)
from connector.settings import Settings
from connector.store.leases import LEADER_LEASE, LeaseView, read_leases, shop_lease

__all__ = [
    "STALL_INTERVALS",
    "SUCCESS_OUTCOMES",
    "ClusterStatus",
    "HealthState",
    "ShopStatus",
    "is_stalled",
    "read_status",
]

ShopStatus = ShopHealth  # the name `status` callers have always used


@dataclass(frozen=True)
class ClusterStatus:
    """Every configured shop, plus who leads the scheduler."""

    shops: list[ShopHealth]
    leader: LeaseView | None
    now: datetime


def read_status(engine: Engine, settings: Settings, now: datetime) -> ClusterStatus:
    """The health of every shop in settings (with its live lease holder) and the live leader, from the store."""
    leases = read_leases(engine)
    ids = [shop.id for shop in settings.shops]
    holders = {}
    for shop_id in ids:
        lease = leases.get(shop_lease(shop_id))
        if lease is not None and lease.live(now):
            holders[shop_id] = lease.holder
    with Session(engine) as session:
        health = {h.shop_id: h for h in shop_health(session, settings, now, holders)}
    leader = leases.get(LEADER_LEASE)
    return ClusterStatus([health[i] for i in ids], leader if leader is not None and leader.live(now) else None, now)
