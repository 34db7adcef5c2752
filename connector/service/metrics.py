"""Prometheus metrics of one daemon process, in a registry the daemon object owns.

Counters (runs, API calls, throttles, retries, action results) count what *this* process
did, from each run's summary; Prometheus sums them across workers. Gauges describing the
whole cluster (open drift, outbox, last success, token expiry, stalled shops) are read from
the store at scrape time by `StoreCollector`, so every worker reports the same truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.reports.status import read_status
from connector.settings import Settings
from connector.store import read_only
from connector.store.models import ActionRow, SyncTickRow
from schemas.sync import RunSummary

ACTION_RESULTS = ("created", "updated", "deactivated", "reactivated", "failed", "dead")


class StoreCollector(Collector):
    """Gauges computed from the store on every scrape."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.engine, self.settings, self.clock = read_only(engine), settings, clock  # scrapes never wait for writers

    def collect(self) -> Iterator[Metric]:
        """Yield the store-backed gauges."""
        now = self.clock()
        status = read_status(self.engine, self.settings, now)
        drift = GaugeMetricFamily("ocop_sync_open_drift", "Open drift items", labels=["shop", "kind"])
        success = GaugeMetricFamily(
            "ocop_sync_last_success_timestamp_seconds",
            "Unix time of the last successful run",
            labels=["shop", "marketplace"],
        )
        token = GaugeMetricFamily(
            "ocop_sync_token_expiry_timestamp_seconds",
            "Unix time the shop's access token (kind=access) or authorisation (kind=refresh) expires",
            labels=["shop", "kind"],
        )
        warning = GaugeMetricFamily(
            "ocop_sync_token_expiring_soon", "1 when the shop's authorisation expires within 7 days", labels=["shop"]
        )
        stalled = GaugeMetricFamily(
            "ocop_sync_shop_stalled", "1 when a shop had no successful run for 3 intervals", labels=["shop"]
        )
        for shop in status.shops:
            for kind, n in shop.open_drift.items():
                drift.add_metric([shop.shop_id, kind], n)
            if shop.last_success_at is not None:
                success.add_metric([shop.shop_id, shop.marketplace], shop.last_success_at.timestamp())
            if shop.token_expires_at is not None:
                token.add_metric([shop.shop_id, "access"], shop.token_expires_at.timestamp())
            if shop.refresh_expires_at is not None:
                token.add_metric([shop.shop_id, "refresh"], shop.refresh_expires_at.timestamp())
            warning.add_metric([shop.shop_id], 1.0 if shop.token_warning else 0.0)
            stalled.add_metric([shop.shop_id], 1.0 if shop.stalled else 0.0)
        yield from (drift, success, token, warning, stalled)
        actions = GaugeMetricFamily("ocop_sync_actions", "Outbox actions by kind and state", labels=["kind", "state"])
        ticks = GaugeMetricFamily("ocop_sync_ticks", "Scheduled work items by state", labels=["state"])
        with Session(self.engine) as session:
            for kind, state, n in session.exec(
                select(ActionRow.kind, ActionRow.state, func.count()).group_by(ActionRow.kind, ActionRow.state)
            ).all():
                actions.add_metric([kind, state], int(n))
            for state, n in session.exec(select(SyncTickRow.state, func.count()).group_by(SyncTickRow.state)).all():
                ticks.add_metric([state], int(n))
        yield actions
        yield ticks


class DaemonMetrics:
    """Every metric one daemon exposes on `/metrics`."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "ocop_sync_runs",
            "Sync runs finished by this worker",
            ["shop", "marketplace", "kind", "outcome"],
            registry=r,
        )
        self.api_calls = Counter(
            "ocop_sync_api_calls", "Marketplace API calls (reads + writes)", ["marketplace"], registry=r
        )
        self.throttles = Counter(
            "ocop_sync_api_throttles", "Throttle responses waited out", ["marketplace"], registry=r
        )
        self.retries = Counter("ocop_sync_retries", "Retried marketplace calls", ["marketplace"], registry=r)
        self.action_results = Counter(
            "ocop_sync_action_results",
            "Outbox actions applied, by kind of result",
            ["marketplace", "result"],
            registry=r,
        )
        self.run_seconds = Histogram(
            "ocop_sync_run_duration_seconds",
            "Wall time of one shop's run",
            ["marketplace"],
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.tick_errors = Counter(
            "ocop_sync_tick_errors", "Ticks that ended in an error or deadline", ["reason"], registry=r
        )
        self.leader = Gauge("ocop_sync_leader", "1 while this process is the scheduler leader", registry=r)
        self.leader_epoch = Gauge("ocop_sync_leader_epoch", "Epoch of the leader lease this process holds", registry=r)
        self.swept = Counter(
            "ocop_sync_swept_actions", "In-flight actions returned to pending by the sweeper", registry=r
        )
        r.register(StoreCollector(engine, settings, clock))

    def record_run(self, summary: RunSummary) -> None:
        """Count one finished run from its summary."""
        m = summary.marketplace
        self.runs.labels(summary.shop_id, m, summary.kind.value, summary.outcome.value).inc()
        c = summary.counters
        self.api_calls.labels(m).inc(c.reads + c.writes)
        self.throttles.labels(m).inc(c.throttle_waits)
        self.retries.labels(m).inc(c.retries)
        for result in ACTION_RESULTS:
            value = getattr(c, result)
            if value:
                self.action_results.labels(m, result).inc(value)
        if summary.finished_at is not None:
            self.run_seconds.labels(m).observe(max(0.0, (summary.finished_at - summary.started_at).total_seconds()))

    def render(self) -> bytes:
        """The exposition text (reads the store: call off the event loop)."""
        return generate_latest(self.registry)
