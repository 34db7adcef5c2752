"""The daemon's event loop (HTTP, scheduler) stays responsive while a real run of a large catalog
goes on: shop runs happen on the engine's own loop thread (`connector.service.runner`), which the
daemon uses on PostgreSQL (on SQLite, one writer, runs stay on the daemon's loop)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from daemon_kit import runs_of, wait_until

from connector.service.daemon import Daemon, DaemonOptions
from connector.settings import DaemonSettings
from connector.testing.world import build_world, seed_synthetic

SKUS = 200
MAX_LAG_S = 0.5  # generous: a blocked loop shows seconds, a free one a few milliseconds


async def _max_lag_while(done: asyncio.Event, step_s: float = 0.02) -> float:
    """Sleep in small steps until `done`; the worst overshoot of a step (how long the loop was blocked)."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not done.is_set():
        before = loop.time()
        await asyncio.sleep(step_s)
        worst = max(worst, loop.time() - before - step_s)
    return worst


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.xfail(
    strict=False,
    reason="not yet shown to pass: one run at load average ~10 on 2 cores saw a 1.18 s max lag (docs/service.md)",
)
async def test_a_large_run_does_not_block_the_daemon_loop(pg_url: str, tmp_path: Path) -> None:
    ctx = build_world(pg_url, tmp_path)
    ctx.settings = ctx.settings.model_copy(update={"daemon": DaemonSettings(port=0, lease_s=30, drain_s=5)})
    seed_synthetic(ctx.engine, SKUS)
    daemon = Daemon(ctx, options=DaemonOptions(claim_poll_s=0.1, serve_http=False))
    serving = asyncio.create_task(daemon.serve())
    finished = asyncio.Event()
    probe = asyncio.create_task(_max_lag_while(finished))
    try:
        # the leader's catch-up enqueues every (never synced) shop: three first runs creating 200 listings each
        await wait_until(lambda: len([r for r in runs_of(ctx) if r.finished_at]) >= 3, 240, "three runs")
    finally:
        finished.set()
        daemon.stop()
        assert await asyncio.wait_for(serving, 30) == 0
    lag = await probe
    runs = runs_of(ctx)
    assert {r.outcome for r in runs} <= {"converged", "partial"}, [(r.shop_id, r.outcome, r.error) for r in runs]
    assert lag < MAX_LAG_S, f"the daemon's loop was blocked for {lag:.2f}s during a run"
