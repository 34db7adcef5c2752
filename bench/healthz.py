"""Scenario (j): /healthz stays responsive while the daemon runs a full sync of 20,000 products.

The daemon runs in this process on the default embedded store, a SQLite file (`--postgres`: a
fresh schema of the `test` PostgreSQL database instead), with HTTP on a free loopback port, the
real engine and one in-process sandbox shop per marketplace. The marketplaces already list the
catalog (seeded as `bench.market` does: 2 % drifted, 0.5 % missing), so each shop's full sync
reads every listing, plans 20,000 SKUs and writes what differs; a manual full resync of every
shop is requested before the daemon starts. Shop runs happen on the engine's own loop thread
(`connector.service.runner`), their database work in the thread pool.

A probe in a *separate process* (so its own Python work does not compete with the daemon for
this process's interpreter lock) calls GET /healthz every 50 ms from when the daemon serves until
the three full runs end or the budget is spent; p50/p99/max are reported and p99 is judged
against 100 ms. The figure is void (FAIL) unless all three full runs finished.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bench.common import Figure
from bench.market import seed_shop
from connector.engine.shop import mirror_shop
from connector.service.daemon import Daemon, DaemonOptions
from connector.service.resync import submit_request
from connector.settings import DaemonSettings
from connector.store import session_scope
from connector.store.models import SyncRunRow
from connector.testing.world import build_world, desired_now, seed_synthetic, world_sandboxes

SKUS = 20_000
BUDGET_S = 900.0
PROBE_EVERY_S = 0.05
P99_TARGET_MS = 100.0

__all__ = ["list_as_synced", "scenario_healthz"]

# The probe: GET /healthz every PROBE_EVERY_S seconds, one latency (ms) per line, until stdin closes.
_PROBE = """
import sys, threading, time, httpx
port, every = int(sys.argv[1]), float(sys.argv[2])
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
    while not done.is_set():
        t0 = time.perf_counter()
        try:
            client.get("/healthz").raise_for_status()
            print(f"{(time.perf_counter() - t0) * 1000:.3f}", flush=True)
        except httpx.HTTPError as exc:
            print(f"error {type(exc).__name__}", flush=True)
        done.wait(every)
"""


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))]


def _full_runs(engine: Any) -> list[SyncRunRow]:
    with Session(engine) as session:
        return list(session.exec(select(SyncRunRow).where(SyncRunRow.kind == "full")).all())


def list_as_synced(ctx: Any) -> dict[str, int]:
    """List the catalog on every in-process sandbox as if already synced (2 % drifted, 0.5 % missing).

    The shops count as synced a moment ago (so the leader's catch-up leaves them alone): the runs
    measured are the requested full resyncs only, as a nightly one would be.
    """
    boxes = world_sandboxes(ctx)
    now = datetime.now(UTC)
    listed = {}
    for shop in ctx.settings.shops:
        seeded = seed_shop(boxes[shop.marketplace], shop, desired_now(ctx.engine, shop), now)
        listed[shop.marketplace] = seeded.listed
    with session_scope(ctx.engine) as session:
        for shop in ctx.settings.shops:
            mirror_shop(session, shop).last_success_at = now
    return listed


async def _measure(url: str, tmp: Path, skus: int, budget_s: float) -> dict[str, Any]:
    ctx = build_world(url, tmp)
    ctx.settings = ctx.settings.model_copy(update={"daemon": DaemonSettings(port=0, lease_s=30, drain_s=5)})
    seed_synthetic(ctx.engine, skus)
    listed = list_as_synced(ctx)
    submit_request(ctx.engine, shop_id=None, kind="full", requested_by="bench", now=datetime.now(UTC))
    daemon = Daemon(ctx, options=DaemonOptions(claim_poll_s=0.2))
    serving = asyncio.create_task(daemon.serve())
    started = time.monotonic()
    probe: asyncio.subprocess.Process | None = None
    out = b""
    try:
        for _ in range(int(60 / 0.05)):  # HTTP is up within a minute
            if daemon.port is not None:
                break
            await asyncio.sleep(0.05)
        assert daemon.port is not None, "the daemon did not serve HTTP within a minute"
        probe = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _PROBE,
            str(daemon.port),
            str(PROBE_EVERY_S),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        shops = len(ctx.settings.shops)
        while time.monotonic() - started < budget_s:
            runs = await asyncio.to_thread(_full_runs, ctx.engine)
            if sum(1 for r in runs if r.finished_at is not None) >= shops:
                break
            await asyncio.sleep(1.0)
        seconds = time.monotonic() - started
    finally:
        if probe is not None:
            out, _ = await asyncio.wait_for(probe.communicate(b""), 30)
        daemon.stop()
        await asyncio.wait_for(serving, 60)
    runs = await asyncio.to_thread(_full_runs, ctx.engine)
    ctx.engine.dispose()
    lines = out.decode().splitlines()
    latencies = [float(v) for v in lines if v.replace(".", "", 1).isdigit()]
    errors = [v for v in lines if v.startswith("error")]
    return {
        "store": url.split(":", 1)[0],
        "skus": skus,
        "listed": listed,
        "seconds": seconds,
        "full_runs": [
            {"shop": r.shop_id, "outcome": r.outcome, "seconds": _run_seconds(r), "error": r.error} for r in runs
        ],
        "probes": len(latencies),
        "errors": errors[:10],
        "p50_ms": _percentile(latencies, 50),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
    }


def _run_seconds(run: SyncRunRow) -> float | None:
    if run.finished_at is None:
        return None
    return (run.finished_at - run.started_at).total_seconds()


def _void(r: dict[str, Any]) -> str:
    finished = [x for x in r["full_runs"] if x["seconds"] is not None]
    if len(finished) < 3:
        return f"only {len(finished)}/3 full runs finished in {r['seconds']:.0f} s"
    bad = [f"{x['shop']} {x['outcome']}" for x in finished if x["outcome"] not in ("converged", "partial")]
    if bad:
        return "full runs did not succeed: " + ", ".join(bad)
    if r["errors"]:
        return f"{len(r['errors'])} probes failed ({r['errors'][0]})"
    return ""


def scenario_healthz(
    tmp: Path, skus: int = SKUS, budget_s: float = BUDGET_S, *, postgres: bool = False
) -> tuple[list[Figure], dict[str, Any]]:
    """(j) /healthz latency during a full sync of `skus` products: p50, p99 (target <= 100 ms), max."""
    tmp.mkdir(parents=True, exist_ok=True)
    if not postgres:
        r = asyncio.run(_measure(f"sqlite:///{tmp / 'healthz.db'}", tmp, skus, budget_s))
    else:
        from bench.postgres import PG_ADMIN_URL
        from bench.resync import drop_pg_schema, pg_schema_url

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        try:
            r = asyncio.run(_measure(pg_schema_url(PG_ADMIN_URL, schema), tmp, skus, budget_s))
        finally:
            drop_pg_schema(PG_ADMIN_URL, schema)
    runs = ", ".join(f"{x['shop']} {x['outcome']} {x['seconds'] or 0:.0f} s" for x in r["full_runs"])
    note = f"{r['store']}; full runs: {runs}; {r['probes']} probes every {PROBE_EVERY_S * 1000:.0f} ms"
    void = _void(r)
    label = f"(j) /healthz during a full sync of {skus:,} ({r['store']})"
    figs = [
        Figure("j.p50_ms", f"{label}: p50", r["p50_ms"], "ms"),
        Figure("j.p99_ms", f"{label}: p99", r["p99_ms"], "ms", P99_TARGET_MS, note=note).unless(void),
        Figure("j.max_ms", f"{label}: max", r["max_ms"], "ms"),
    ]
    return figs, {"j": r}


if __name__ == "__main__":  # python -m bench.healthz [skus] [--postgres]: this scenario alone
    import tempfile

    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    figures, details = scenario_healthz(
        Path(tempfile.mkdtemp(prefix="ocop-healthz-")),
        int(args[0]) if args else SKUS,
        postgres="--postgres" in sys.argv[1:],
    )
    for f in figures:
        print(f"{f.label}: {f.value:.1f} {f.unit} {f.verdict}{f' ({f.void})' if f.void else ''}")
    print(json.dumps(details["j"], indent=1, default=str))
