"""The daemon's event loop (HTTP, scheduler) stays responsive while real runs of a catalog go on,
on the embedded SQLite store as on PostgreSQL: shop runs happen on the engine's own loop thread
(`connector.service.runner`), their reads never wait for the write lock, their writes come in
short transactions that queue fairly with the daemon's own (`connector.store.db.WriterGate`), and
no full garbage collection stops every thread in the middle of a run (`connector.service.collector`).

The scale figure (20,000 products, /healthz p99 against 100 ms) is bench scenario (j).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from daemon_kit import runs_of, wait_until

from bench.healthz import list_as_synced
from connector.service.daemon import Daemon, DaemonOptions
from connector.service.resync import submit_request
from connector.settings import DaemonSettings
from connector.testing.world import build_world, seed_synthetic

SKUS = 300
MAX_LAG_S = 0.5  # generous for a loaded machine: a blocked loop shows seconds, a free one milliseconds


async def _max_lag_while(done: asyncio.Event, step_s: float = 0.02) -> float:
    """Sleep in small steps until `done`; the worst overshoot of a step (how long the loop was blocked)."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not done.is_set():
        before = loop.time()
        await asyncio.sleep(step_s)
        worst = max(worst, loop.time() - before - step_s)
    return worst


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.slow
async def test_runs_do_not_block_the_daemon_loop_nor_starve_its_writes(any_db_url: str, tmp_path: Path) -> None:
    ctx = build_world(any_db_url, tmp_path)
    ctx.settings = ctx.settings.model_copy(update={"daemon": DaemonSettings(port=0, lease_s=6, drain_s=5)})
    seed_synthetic(ctx.engine, SKUS)
    list_as_synced(ctx)  # the marketplaces list the catalog (2 % drifted, 0.5 % missing): a nightly full resync
    submit_request(ctx.engine, shop_id=None, kind="full", requested_by="test", now=datetime.now(UTC))
    warnings = _Warnings()
    logging.getLogger("ocop_sync").addHandler(warnings)
    daemon = Daemon(ctx, options=DaemonOptions(claim_poll_s=0.1, serve_http=False))
    serving = asyncio.create_task(daemon.serve())
    finished = asyncio.Event()
    probe = asyncio.create_task(_max_lag_while(finished))
    try:
        # three full runs reading every listing, planning the catalog and writing what differs, with
        # heartbeats every 2 s that must get their turn at the database meanwhile
        await wait_until(lambda: len([r for r in runs_of(ctx, kind="full") if r.finished_at]) >= 3, 40, "3 runs")
    finally:
        finished.set()
        daemon.stop()
        try:
            assert await asyncio.wait_for(serving, 30) == 0
        finally:
            logging.getLogger("ocop_sync").removeHandler(warnings)
            ctx.engine.dispose()
    lag = await probe
    runs = runs_of(ctx, kind="full")
    assert {r.outcome for r in runs} <= {"converged", "partial"}, [(r.shop_id, r.outcome, r.error) for r in runs]
    assert lag < MAX_LAG_S, f"the daemon's loop was blocked for {lag:.2f}s during a run"
    # no heartbeat, claim or scheduler write timed out behind the runs' writes
    assert not [w for w in warnings.lines if "fail" in w or "lost" in w], warnings.lines
