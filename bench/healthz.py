"""Scenario (j): /healthz stays responsive while the daemon runs a full sync of 20,000 products.

The daemon runs in this process on PostgreSQL (a fresh schema of the `test` database; shop runs
then happen on the engine's own loop thread, `connector.service.runner`), with HTTP on a free
loopback port, the real engine and one in-process sandbox shop per marketplace; a manual full
resync of every shop is requested before it starts. A client thread calls GET /healthz every
50 ms until the three full runs end or the time budget is spent, and the latencies' p50/p99 are
reported; the target is p99 <= 100 ms.
Skipped (and said so) when PostgreSQL is unreachable.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, select

from bench.common import Figure
from bench.resync import drop_pg_schema, pg_schema_url
from connector.service.daemon import Daemon, DaemonOptions
from connector.service.resync import submit_request
from connector.settings import DaemonSettings
from connector.store.models import SyncRunRow
from connector.testing.world import build_world, seed_synthetic

SKUS = 20_000
BUDGET_S = 600.0
PROBE_EVERY_S = 0.05
P99_TARGET_MS = 100.0

__all__ = ["scenario_healthz"]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))]


def _full_runs_done(engine: Any) -> int:
    with Session(engine) as session:
        rows = session.exec(select(SyncRunRow).where(SyncRunRow.kind == "full")).all()
    return sum(1 for r in rows if r.finished_at is not None)


def _probe(port: int, stop: threading.Event, latencies: list[float], errors: list[str]) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                client.get("/healthz").raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
            stop.wait(PROBE_EVERY_S)


async def _measure(url: str, tmp: Path, skus: int, budget_s: float) -> dict[str, Any]:
    ctx = build_world(url, tmp)
    ctx.settings = ctx.settings.model_copy(update={"daemon": DaemonSettings(port=0, lease_s=30, drain_s=5)})
    seed_synthetic(ctx.engine, skus)
    submit_request(ctx.engine, shop_id=None, kind="full", requested_by="bench", now=datetime.now(UTC))
    daemon = Daemon(ctx, options=DaemonOptions(claim_poll_s=0.2))
    serving = asyncio.create_task(daemon.serve())
    latencies: list[float] = []
    errors: list[str] = []
    stop = threading.Event()
    started = time.monotonic()
    try:
        for _ in range(int(60 / 0.05)):  # HTTP is up within a minute
            if daemon.port is not None:
                break
            await asyncio.sleep(0.05)
        assert daemon.port is not None, "the daemon did not serve HTTP"
        probe = threading.Thread(target=_probe, args=(daemon.port, stop, latencies, errors), daemon=True)
        probe.start()
        shops = len(ctx.settings.shops)
        while time.monotonic() - started < budget_s:
            if await asyncio.to_thread(_full_runs_done, ctx.engine) >= shops:
                break
            await asyncio.sleep(1.0)
        finished = await asyncio.to_thread(_full_runs_done, ctx.engine)
    finally:
        stop.set()
        daemon.stop()
        await asyncio.wait_for(serving, 60)
        ctx.engine.dispose()
    return {
        "skus": skus,
        "seconds": time.monotonic() - started,
        "full_runs_finished": finished,
        "probes": len(latencies),
        "errors": errors[:10],
        "p50_ms": _percentile(latencies, 50),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
    }


def scenario_healthz(tmp: Path, skus: int = SKUS, budget_s: float = BUDGET_S) -> tuple[list[Figure], dict[str, Any]]:
    """(j) /healthz latency during a full sync: p50, p99 (target <= 100 ms)."""
    from bench.postgres import PG_ADMIN_URL
    from connector.store import make_engine

    tmp.mkdir(parents=True, exist_ok=True)
    try:
        engine = make_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", reported as such
        return [Figure("j.skipped", f"(j) skipped: PostgreSQL unreachable ({type(exc).__name__})", 0)], {}
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        r = asyncio.run(_measure(pg_schema_url(PG_ADMIN_URL, schema), tmp, skus, budget_s))
    finally:
        drop_pg_schema(PG_ADMIN_URL, schema)
    note = f"{r['full_runs_finished']}/3 full runs finished in {r['seconds']:.0f} s; {r['probes']} probes"
    figs = [
        Figure("j.p50_ms", f"(j) /healthz p50 during a full sync of {skus:,}", r["p50_ms"], "ms"),
        Figure(
            "j.p99_ms", f"(j) /healthz p99 during a full sync of {skus:,}", r["p99_ms"], "ms", P99_TARGET_MS, note=note
        ),
    ]
    return figs, {"h": r}


if __name__ == "__main__":  # python -m bench.healthz [skus]: this scenario alone
    import sys
    import tempfile

    figures, details = scenario_healthz(
        Path(tempfile.mkdtemp(prefix="ocop-healthz-")), int(sys.argv[1]) if len(sys.argv) > 1 else SKUS
    )
    for f in figures:
        print(f"{f.label}: {f.value:.1f} {f.unit} {f.verdict}")
    print(details["h"])
