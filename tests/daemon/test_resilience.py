"""The daemon never dies silently: bad schedules are refused at load, failing loops are retried (and
make /readyz fail meanwhile) or stop the process non-zero, orphaned runs are closed, a worker retries
its own crashed tick at once, and an outage writes a bounded number of log lines.

Failures are injected through real dependencies: a PostgreSQL reached through a TCP proxy that is
cut, APScheduler refusing a cron expression, rows a crashed worker left behind.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from daemon_kit import CuttableProxy, RecordingRun, cli, runs_of, short_settings, wait_until, write_settings
from sqlmodel import Session, select

from connector.context import AppContext
from connector.service import housekeeping
from connector.service import ticks as scheduler
from connector.service.daemon import EXIT_LOOP_FAILED, Daemon, DaemonOptions
from connector.settings import SchedulerSettings
from connector.store import leases, session_scope
from connector.store.leases import LEADER_LEASE
from connector.store.models import ShopRow, SyncRunRow, SyncTickRow

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "key"),
    [('full_cron = "61 2 * * *"', "scheduler.full_cron"), ('timezone = "Mars/Base"', "scheduler.timezone")],
)
def test_a_bad_cron_or_timezone_exits_2_naming_the_key(tmp_path: Path, line: str, key: str) -> None:
    settings = write_settings(tmp_path / "settings.toml", url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path)
    text = settings.read_text(encoding="utf-8").replace('full_cron = "0 3 * * *"', line)
    settings.write_text(text, encoding="utf-8")
    result = cli(settings, tmp_path, "run")
    assert result.returncode == 2, result.stdout + result.stderr
    assert key in (result.stdout + result.stderr).replace("\n", " ")
    assert "Traceback" not in result.stderr


async def test_a_loop_that_cannot_go_on_stops_the_daemon_non_zero(sqlite_url: str, tmp_path: Path) -> None:
    settings = short_settings(sqlite_url, tmp_path, interval_s=3600)
    # a bad cron that got past validation (built without it): APScheduler refuses it when the leader plans
    bad = SchedulerSettings.model_construct(**{**settings.scheduler.model_dump(), "full_cron": "61 2 * * *"})
    ctx = AppContext.build(settings.model_copy(update={"scheduler": bad}))
    daemon = Daemon(ctx, run_shop=RecordingRun(), options=DaemonOptions(claim_poll_s=0.1, serve_http=False))
    assert await asyncio.wait_for(daemon.serve(), 20) == EXIT_LOOP_FAILED
    assert leases.read_leases(ctx.engine)[LEADER_LEASE].holder == ""  # released on the way out


def test_the_sweeper_closes_an_orphaned_running_run_as_interrupted(any_db_url: str, tmp_path: Path) -> None:
    ctx = AppContext.build(short_settings(any_db_url, tmp_path))
    leader = leases.try_acquire(ctx.engine, LEADER_LEASE, "l", now=T0, ttl_s=30)
    assert leader is not None
    scheduler.enqueue_tick(
        ctx.engine, leader, shop_id="voso-ag", tick="inc:1", kind="incremental", trigger="schedule", now=T0
    )
    (tick,) = scheduler.claim_ticks(ctx.engine, "w1", now=T0, lease_s=30, limit=1)
    with session_scope(ctx.engine) as session:
        session.add(ShopRow(id="voso-ag", marketplace="voso", seller_id="S"))
        session.flush()
        for worker, started in (("w1", T0 + timedelta(seconds=1)), ("cli", T0)):  # "cli": a run outside any tick
            session.add(
                SyncRunRow(
                    shop_id="voso-ag", marketplace="voso", kind="incremental", trigger="schedule", worker=worker,
                    started_at=started,
                )
            )  # fmt: skip
    # the claim is live: the run is left alone
    assert housekeeping.close_orphaned_runs(ctx.engine, T0 + timedelta(seconds=10)) == []
    # the worker died: its claim ran out and nobody recorded the run's end
    later = T0 + timedelta(seconds=31)
    (closed,) = housekeeping.close_orphaned_runs(ctx.engine, later)
    with Session(ctx.engine) as session:
        runs = {r.worker: r for r in session.exec(select(SyncRunRow))}
    assert runs["w1"].id == closed and runs["w1"].outcome == "interrupted" and runs["w1"].finished_at is not None
    assert runs["cli"].outcome == "running"
    assert housekeeping.close_orphaned_runs(ctx.engine, later) == []
    del tick


async def test_a_worker_retries_its_own_crashed_tick_at_once(sqlite_url: str, tmp_path: Path) -> None:
    ctx = AppContext.build(short_settings(sqlite_url, tmp_path, interval_s=3600, lease_s=30.0, worker_name="w1"))
    now = datetime.now(UTC)
    leader = leases.try_acquire(ctx.engine, LEADER_LEASE, "old", now=now - timedelta(seconds=60), ttl_s=1)
    assert leader is not None
    scheduler.enqueue_tick(
        ctx.engine, leader, shop_id="voso-ag", tick="inc:1", kind="incremental", trigger="schedule", now=now
    )
    # w1's previous life claimed it (30 s lease) and crashed without a word
    (crashed,) = scheduler.claim_ticks(ctx.engine, "w1", now=now, lease_s=30, limit=1)
    daemon = Daemon(ctx, run_shop=RecordingRun(), options=DaemonOptions(claim_poll_s=0.1, serve_http=False))
    serving = asyncio.create_task(daemon.serve())
    try:

        def tick_state() -> str:
            with Session(ctx.engine) as session:
                row = session.get(SyncTickRow, crashed.id)
                return row.state if row is not None else ""

        await wait_until(lambda: tick_state() == "done", 10, "w1 to rerun its own tick well before its 30 s lease")
    finally:
        daemon.stop()
        assert await asyncio.wait_for(serving, 15) == 0


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_database_outage_is_retried_fails_readyz_and_logs_a_bounded_number_of_lines(
    pg_url: str, tmp_path: Path
) -> None:
    from urllib.parse import urlsplit

    upstream = urlsplit(pg_url)
    proxy = CuttableProxy(upstream.hostname or "127.0.0.1", upstream.port or 5432)
    records = _Records()
    root = logging.getLogger()
    root.addHandler(records)
    interval_s = 4.0
    ctx = AppContext.build(short_settings(proxy.url_for(pg_url), tmp_path, interval_s=1.0, lease_s=3.0))
    options = DaemonOptions(claim_poll_s=0.1, log_interval_s=interval_s, catalog_poll_s=0.3)
    daemon = Daemon(ctx, run_shop=RecordingRun(), options=options)
    serving = asyncio.create_task(daemon.serve())
    try:
        await wait_until(lambda: daemon.port is not None, 20, "HTTP")
        await wait_until(lambda: len(runs_of(ctx)) >= 3, 30, "runs before the outage")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.port}", timeout=10) as http:
            assert (await http.get("/readyz")).status_code == 200
            outage_s = 12.0
            proxy.cut()
            cut_at = len(records.records)
            loop = asyncio.get_running_loop()
            started = loop.time()
            statuses = []
            while loop.time() - started < outage_s:
                statuses.append((await http.get("/readyz")).status_code)
                await asyncio.sleep(0.5)
            during = records.records[cut_at:]
            proxy.restore()
            assert 503 in statuses and statuses[-1] == 503  # never green while the database is away
            assert all(not t.done() for t in daemon._loops), "a loop died instead of retrying"

            async def ready() -> bool:
                return (await http.get("/readyz")).status_code == 200

            deadline = loop.time() + 30
            while not await ready():
                assert loop.time() < deadline, "not ready 30 s after the database came back"
                await asyncio.sleep(0.5)
        before = len(runs_of(ctx))
        await wait_until(lambda: len(runs_of(ctx)) > before + 2, 30, "runs after the outage")
    finally:
        proxy.restore()
        daemon.stop()
        try:
            code = await asyncio.wait_for(serving, 30)
        finally:
            root.removeHandler(records)
            ctx.engine.dispose()
            proxy.close()
    assert code == 0
    ours = [r.getMessage() for r in during if r.levelno >= logging.WARNING]
    tracebacks = [r.getMessage() for r in during if r.levelno >= logging.WARNING and r.exc_info]
    # before: every pass of every loop and job logged (a 40 s outage wrote 11,046 lines, 166 tracebacks);
    # now: one line per failing component per interval, the repeats counted in the next line
    assert len(ours) <= 60, ours
    assert len(tracebacks) <= 6, tracebacks
    assert any("held back" in m for m in ours), ours
