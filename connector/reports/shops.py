"""The shops report: every shop with its health, from the one shop-health query (`reports.health`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from connector.reports.health import shop_health
from connector.settings import Settings
from schemas.report import ShopsReport, ShopStatus


def shops_report(session: Session, settings: Settings, *, now: datetime) -> ShopsReport:
    """Every shop with its state, last success, last error, token expiry, open drift and outbox counts."""
    shops = [
        ShopStatus(
            id=h.shop_id,
            marketplace=h.marketplace,
            seller_id=h.seller_id,
            producer_id=h.producer_id,
            enabled=h.enabled,
            last_success_at=h.last_success_at,
            last_error=h.last_error,
            token_expires_at=h.token_expires_at,
            refresh_expires_at=h.refresh_expires_at,
            open_drift=h.open_drift_total,
            pending_actions=h.pending_actions,
            in_flight_actions=h.in_flight_actions,
            dead_actions=h.dead_actions,
            last_run_outcome=h.last_outcome,
            failing_runs=h.failing_runs,
            stalled=h.stalled,
            state=h.state.value,
        )
        for h in shop_health(session, settings, now)
    ]
    return ShopsReport(generated_at=now, shops=shops)
