"""Scenario (g): many small shops on PostgreSQL, one incremental cycle with 1, 2 and 3 worker processes.

2,000 producer shops (one producer each, 10 SKUs, the three marketplaces in turn) are listed
on the loopback sandboxes (50 ms latency, published limits) and synced once. Then, per worker
count N, every shop is marked last synced two hours ago and N daemons (`ocop-sync run`, the
production path: the leader's catch-up enqueues one incremental tick per shop, every daemon
claims and runs ticks, 4 at a time) work through the cycle. Measured: shop-runs per second
from the first run's start to the last run's end, and the scaling against one worker.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from adapters.sandbox import FaultSpec, SandboxOptions
from bench.common import Figure
from bench.market import seed_shop
from bench.postgres import PG_ADMIN_URL
from bench.propagation import start_daemon
from bench.resync import LATENCY_MS, RATE_SHARE, child_env, drop_pg_schema, log_marks, log_since, pg_schema_url
from connector.catalog.store import upsert_catalog
from connector.engine.desired import ContentMemo, desired_listings
from connector.settings import ShopSettings
from connector.store import make_engine, session_scope, upgrade
from connector.testing.loopback import make_sandboxes, serve, settings_toml
from connector.testing.world import synthetic_catalog, today
from schemas.catalog import Producer, Product

__all__ = ["many_shops", "many_shops_figures"]

SHOPS = 2_000
SKUS_PER_SHOP = 10
WORKERS = (1, 2, 3)
MARKETPLACES = ("lazada", "tiki", "voso")


def _catalog(shops: int, per_shop: int) -> tuple[list[Producer], list[Product]]:
    """`shops` producers, each owning `per_shop` of the synthetic products."""
    templates, products = synthetic_catalog(shops * per_shop)
    producers = [templates[i % len(templates)].model_copy(update={"id": f"PG{i:05d}"}) for i in range(shops)]
    owned = [p.model_copy(update={"producer_id": producers[i // per_shop].id}) for i, p in enumerate(products)]
    return producers, owned


def _shops(producers: list[Producer]) -> tuple[ShopSettings, ...]:
    return tuple(
        ShopSettings(
            id=f"g{i:05d}",
            marketplace=MARKETPLACES[i % len(MARKETPLACES)],
            seller_id=f"G{i:05d}",
            producer_id=p.id,
        )
        for i, p in enumerate(producers)
    )


def _runs_since(engine: Any, mark: datetime) -> list[tuple[str, str, datetime, datetime | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT shop_id, outcome, started_at, finished_at, kind FROM sync_run WHERE started_at >= :mark"),
            {"mark": mark},
        ).all()
    return [tuple(r) for r in rows]


def _cycle(engine: Any, env: dict[str, str], tmp: Path, workers: int, shops: int, timeout_s: float) -> dict[str, Any]:
    """Mark every shop stale, start `workers` daemons, wait until each shop has finished a run; the figures."""
    with engine.begin() as conn:  # as if the last cycle ran two hours ago: the leader's catch-up takes every shop
        conn.execute(text("UPDATE shop SET last_success_at = last_success_at - interval '2 hours'"))
        conn.execute(
            text(
                "UPDATE sync_run SET started_at = started_at - interval '2 hours',"
                " finished_at = finished_at - interval '2 hours'"
            )
        )
    mark = datetime.now(UTC)
    daemons = [start_daemon(env, tmp / f"daemon-{workers}-{k}.log", settle_s=0.0) for k in range(workers)]
    try:
        done: dict[str, tuple[datetime, datetime, str]] = {}
        deadline = time.monotonic() + timeout_s
        while len(done) < shops and time.monotonic() < deadline:
            time.sleep(2.0)
            for shop_id, outcome, started, finished, _kind in _runs_since(engine, mark):
                if finished is not None and shop_id not in done:
                    done[shop_id] = (started, finished, outcome)
    finally:
        for d in daemons:
            d.send_signal(signal.SIGTERM)
        for d in daemons:
            try:
                d.wait(timeout=60)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait(timeout=10)
    if not done:
        return {"workers": workers, "runs": 0, "seconds": float("nan"), "runs_per_s": 0.0, "outcomes": {}}
    first = min(s for s, _, _ in done.values())
    last = max(f for _, f, _ in done.values())
    seconds = (last - first).total_seconds()
    outcomes: dict[str, int] = {}
    for _, _, outcome in done.values():
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {
        "workers": workers,
        "runs": len(done),
        "seconds": seconds,
        "runs_per_s": len(done) / seconds if seconds > 0 else float("nan"),
        "outcomes": outcomes,
        "complete": len(done) == shops,
    }


def many_shops(
    tmp: Path,
    *,
    shops: int = SHOPS,
    per_shop: int = SKUS_PER_SHOP,
    workers: tuple[int, ...] = WORKERS,
    timeout_s: float = 900.0,
) -> dict[str, Any]:
    """Seed, sync once, then one incremental cycle per worker count; shop-runs per second and scaling."""
    tmp.mkdir(parents=True, exist_ok=True)
    schema = f"bench_g_{uuid.uuid4().hex[:10]}"
    try:
        url = pg_schema_url(PG_ADMIN_URL, schema)
    except OperationalError as exc:
        raise RuntimeError(f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({exc.orig}); pass --skip-postgres") from exc
    try:
        engine = make_engine(url)
        upgrade(engine)
        producers, products = _catalog(shops, per_shop)
        now = datetime.now(UTC)
        with session_scope(engine) as session:
            upsert_catalog(session, producers, products, now)
        unplaced = _shops(producers)
        boxes = make_sandboxes(unplaced, SandboxOptions(faults=FaultSpec(latency_ms=LATENCY_MS), seed=11))
        by_producer: dict[str, list[Product]] = {}
        for p in products:
            by_producer.setdefault(p.producer_id, []).append(p)
        memo, day = ContentMemo(), today()
        for s in unplaced:
            assert s.producer_id is not None
            desired = desired_listings(by_producer[s.producer_id], producers, s, day, memo)
            seed_shop(boxes[s.marketplace], s, desired, now, drift=0.0, missing=0.0, seed=11)
        with serve(boxes) as served:
            placed = tuple(s.model_copy(update={"base_url": served.urls[s.marketplace]}) for s in unplaced)
            settings_file = tmp / "settings.toml"
            sections = {
                "sync": {"rate_limit_share": RATE_SHARE},
                "daemon": {"port": 0, "drain_s": 5.0},
                "scheduler": {"incremental_interval_s": 3600.0},
            }
            settings_file.write_text(settings_toml(url, tmp, placed, **sections), encoding="utf-8")
            env = child_env(placed, settings_file)
            t0 = time.perf_counter()
            warm = _cycle(engine, env, tmp, max(workers), shops, timeout_s)  # the first sync binds every shop
            warm["wall_s"] = time.perf_counter() - t0
            cycles = []
            for n in workers:
                marks = log_marks(boxes)
                cycle = _cycle(engine, env, tmp, n, shops, timeout_s)
                seen = log_since(boxes, marks)
                cycle["requests"] = sum(v["requests"] for v in seen.values())
                cycle["throttled"] = sum(v["throttled"] for v in seen.values())
                cycles.append(cycle)
        engine.dispose()
        base = cycles[0]["runs_per_s"] if cycles else float("nan")
        for c in cycles:
            c["speedup"] = c["runs_per_s"] / base if base else float("nan")
        return {
            "shops": shops,
            "skus_per_shop": per_shop,
            "warm_up": warm,
            "cycles": cycles,
            "at": datetime.now(UTC).isoformat(),
        }
    finally:
        drop_pg_schema(PG_ADMIN_URL, schema)


def many_shops_figures(r: dict[str, Any]) -> list[Figure]:
    """Shop-runs per second per worker count, and the 2-worker scaling (target >= 1.7x)."""
    label = f"(g) {r['shops']:,} shops x {r['skus_per_shop']} SKUs, PG"
    figs: list[Figure] = []
    for c in r["cycles"]:
        void = "" if c.get("complete") else f"only {c['runs']} of {r['shops']} shops ran"
        figs.append(
            Figure(
                f"g.runs_per_s_{c['workers']}",
                f"{label}: shop-runs/s, {c['workers']} worker(s)",
                c["runs_per_s"],
                "runs/s",
            ).unless(void)
        )
    by = {c["workers"]: c for c in r["cycles"]}
    if 2 in by:
        figs.append(Figure("g.speedup_2", "(g) 2 workers vs 1", by[2]["speedup"], "x", 1.7, "ge"))
    if 3 in by:
        figs.append(Figure("g.speedup_3", "(g) 3 workers vs 1 (2 cores)", by[3]["speedup"], "x"))
    return figs
