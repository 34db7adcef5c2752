"""One shop-health query: `ocop-sync status` (read_status), /metrics and the shops report tell the same story."""

from __future__ import annotations

from datetime import timedelta

from report_world import NOW
from sqlalchemy.engine import Engine

from connector.reports import queries as reports
from connector.reports.health import HealthState
from connector.reports.status import read_status
from connector.settings import Settings
from connector.store import session_scope
from connector.store.models import ActionRow, SyncRunRow


def test_status_and_shops_report_agree_on_the_same_world(world_engine: Engine, settings: Settings) -> None:
    with session_scope(world_engine) as s:
        s.add(  # an action being applied right now: in flight, not pending, in both views
            ActionRow(
                shop_id="voso-ag",
                sku="AG-0031",
                kind="set_price_stock",
                reason="test",
                idempotency_key="voso-ag:AG-0031:x",
                state="in_flight",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    status = {h.shop_id: h for h in read_status(world_engine, settings, NOW).shops}
    with session_scope(world_engine) as s:
        shops = {x.id: x for x in reports.shops_report(s, settings, now=NOW).shops}
    assert sorted(status) == sorted(shops) == ["lazada-ag", "lazada-b", "tiki-ag", "voso-ag"]
    for shop_id, h in status.items():
        r = shops[shop_id]
        assert (r.state, r.pending_actions, r.in_flight_actions, r.dead_actions, r.open_drift) == (
            h.state.value,
            h.pending_actions,
            h.in_flight_actions,
            h.dead_actions,
            h.open_drift_total,
        ), shop_id
        assert (r.last_success_at, r.last_run_outcome, r.stalled) == (h.last_success_at, h.last_outcome, h.stalled)
    # pending = waiting to be applied (pending + failed awaiting retry); in flight and dead are counted apart
    assert (status["voso-ag"].pending_actions, status["voso-ag"].in_flight_actions) == (1, 1)
    assert (status["tiki-ag"].pending_actions, status["tiki-ag"].dead_actions) == (1, 0)
    assert {k: v.state for k, v in status.items()} == {
        "voso-ag": HealthState.DEGRADED,  # converged, but a dead action waits for a person
        "lazada-ag": HealthState.FAILING,  # its latest run failed
        "tiki-ag": HealthState.DEGRADED,  # partial run, authorisation lapses in 3 days
        "lazada-b": HealthState.OK,
    }


def test_a_shop_whose_runs_fail_on_authorisation_needs_reconnecting(world_engine: Engine, settings: Settings) -> None:
    with session_scope(world_engine) as s:
        for minutes in (3, 2, 1):
            start = NOW - timedelta(minutes=minutes)
            s.add(
                SyncRunRow(
                    shop_id="voso-ag",
                    marketplace="voso",
                    kind="incremental",
                    trigger="schedule",
                    started_at=start,
                    finished_at=start + timedelta(seconds=1),
                    outcome="failed",
                    error="AuthFailed: voso/login: wrong password (http=401)",
                )
            )
    status = {h.shop_id: h for h in read_status(world_engine, settings, NOW).shops}
    assert (status["voso-ag"].state, status["voso-ag"].failing_runs) == (HealthState.NEEDS_RECONNECT, 3)
    with session_scope(world_engine) as s:
        shops = {x.id: x for x in reports.shops_report(s, settings, now=NOW).shops}
    assert shops["voso-ag"].state == "needs_reconnect"
