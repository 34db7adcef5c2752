"""The daemon's scheduling, lease, resync and health machinery, in-process on real databases.

The engine is stood in for by `RecordingRun` (injected), so these tests pin the daemon's own
behaviour: jobs fire, ticks are unique per slot, leases fence stale holders, requests coalesce.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from daemon_kit import RecordingRun, runs_of, short_settings, wait_until
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from connector.context import AppContext
from connector.engine.tokens import SecretKeyError, TokenVault, load_tokens, save_tokens
from connector.reports.status import is_stalled, read_status
from connector.service import housekeeping
from connector.service import ticks as scheduler
from connector.service.daemon import Daemon, DaemonOptions
from connector.service.resync import dispatch_requests, read_requests, submit_request
from connector.store import leases, session_scope
from connector.store.leases import LEADER_LEASE, DaemonAlreadyRunning, DaemonFileLock, StaleLeaseError, shop_lease
from connector.store.models import ActionRow, ShopRow, SyncTickRow, TickClaimRow
from connector.store.states import TickOutcome

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _ctx(url: str, tmp: Path, **kw: float) -> AppContext:
    return AppContext.build(short_settings(url, tmp, **kw))


async def test_jobs_fire_on_short_intervals_and_serve_health(sqlite_url: str, tmp_path: Path) -> None:
    ctx = _ctx(sqlite_url, tmp_path, interval_s=1.0)
    run = RecordingRun()
    daemon = Daemon(ctx, run_shop=run, options=DaemonOptions(claim_poll_s=0.1))
    serving = asyncio.create_task(daemon.serve())
    try:
        await wait_until(lambda: daemon.port is not None, 10, "HTTP to start")
        per_shop = {s.id: 0 for s in ctx.settings.shops}

        def three_each() -> bool:
            for shop in per_shop:
                per_shop[shop] = len(runs_of(ctx, shop_id=shop, trigger="schedule"))
            return min(per_shop.values()) >= 3

        await wait_until(three_each, 15, "three scheduled runs per shop")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.port}") as http:
            assert (await http.get("/healthz")).json()["leader"] is True
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            metrics = (await http.get("/metrics")).text
        for marketplace in ("voso", "lazada", "tiki"):
            assert (
                f'ocop_sync_runs_total{{kind="incremental",marketplace="{marketplace}",outcome="converged"' in metrics
            )
        assert "ocop_sync_last_success_timestamp_seconds" in metrics
    finally:
        daemon.stop()
        assert await asyncio.wait_for(serving, 15) == 0
    with Session(ctx.engine) as session:
        ticks = session.exec(select(SyncTickRow).where(SyncTickRow.trigger == "schedule")).all()
    # one run per tick that ran (a tick merged into another one's run has none), no tick left running
    ran = [t for t in ticks if t.state == "done" and t.outcome != TickOutcome.MERGED]
    assert len(runs_of(ctx, trigger="schedule")) == len(ran)
    assert not [t for t in ticks if t.state == "running"]
    assert leases.read_leases(ctx.engine)[LEADER_LEASE].holder == ""  # released on a clean stop


def test_a_tick_slot_exists_once_per_shop(any_db_url: str, tmp_path: Path) -> None:
    ctx = _ctx(any_db_url, tmp_path)
    leader = leases.try_acquire(ctx.engine, LEADER_LEASE, "w1", now=T0, ttl_s=30)
    assert leader is not None
    kw = {"kind": "incremental", "trigger": "schedule", "now": T0}
    assert scheduler.enqueue_tick(ctx.engine, leader, shop_id="voso-ag", tick="inc:7", **kw)  # type: ignore[arg-type]
    assert not scheduler.enqueue_tick(ctx.engine, leader, shop_id="voso-ag", tick="inc:7", **kw)  # type: ignore[arg-type]
    assert scheduler.enqueue_tick(ctx.engine, leader, shop_id="tiki-ag", tick="inc:7", **kw)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError), session_scope(ctx.engine) as session:  # the database itself refuses
        session.add(SyncTickRow(shop_id="voso-ag", tick="inc:7", due_at=T0))


def test_incremental_slots_tolerate_late_fires() -> None:
    start = scheduler.aligned_start(T0 + timedelta(seconds=1), 300)
    assert start.timestamp() % 300 == 0
    assert scheduler.incremental_tick(start, 300) == scheduler.incremental_tick(start + timedelta(seconds=149), 300)
    assert scheduler.incremental_tick(start, 300) != scheduler.incremental_tick(start + timedelta(seconds=300), 300)
    # a jittered, late full-resync fire still names its cron slot (02:30 Asia/Ho_Chi_Minh)
    fired = datetime(2026, 3, 1, 19, 37, tzinfo=UTC)  # 02:37 local, 7 minutes of jitter
    assert scheduler.full_tick(fired, "30 2 * * *", "Asia/Ho_Chi_Minh", 600, 60) == "full:2026-03-02T02:30"


def test_stale_leader_and_stale_shop_worker_are_fenced(any_db_url: str, tmp_path: Path) -> None:
    ctx = _ctx(any_db_url, tmp_path)
    old = leases.try_acquire(ctx.engine, LEADER_LEASE, "old", now=T0, ttl_s=3)
    assert old is not None
    assert leases.try_acquire(ctx.engine, LEADER_LEASE, "new", now=T0 + timedelta(seconds=1), ttl_s=3) is None
    new = leases.try_acquire(ctx.engine, LEADER_LEASE, "new", now=T0 + timedelta(seconds=4), ttl_s=3)
    assert new is not None and new.epoch == old.epoch + 1
    with pytest.raises(StaleLeaseError):
        scheduler.enqueue_tick(
            ctx.engine, old, shop_id="voso-ag", tick="inc:1", kind="incremental", trigger="schedule", now=T0
        )
    assert not leases.renew(ctx.engine, old, now=T0 + timedelta(seconds=5), ttl_s=3)
    assert scheduler.enqueue_tick(
        ctx.engine, new, shop_id="voso-ag", tick="inc:1", kind="incremental", trigger="schedule", now=T0
    )
    # a worker paused past its shop lease: another claims the tick; the first one's writes are refused
    later = T0 + timedelta(seconds=5)
    (first,) = scheduler.claim_ticks(ctx.engine, "w1", now=later, lease_s=3, limit=1)
    resumed = later + timedelta(seconds=10)
    (second,) = scheduler.claim_ticks(ctx.engine, "w2", now=resumed, lease_s=3, limit=1)
    assert second.id == first.id and second.lease.epoch == first.lease.epoch + 1
    with pytest.raises(StaleLeaseError), session_scope(ctx.engine) as session:
        leases.check_fence(session, first.lease)
    assert not scheduler.finish_tick(ctx.engine, first, now=resumed, outcome="converged")
    assert scheduler.finish_tick(ctx.engine, second, now=resumed, outcome="converged")


def test_one_shop_is_never_claimed_twice(any_db_url: str, tmp_path: Path) -> None:
    ctx = _ctx(any_db_url, tmp_path)
    leader = leases.try_acquire(ctx.engine, LEADER_LEASE, "l", now=T0, ttl_s=30)
    assert leader is not None
    for tick, kind in (("inc:1", "incremental"), ("full:1", "full")):
        scheduler.enqueue_tick(ctx.engine, leader, shop_id="voso-ag", tick=tick, kind=kind, trigger="schedule", now=T0)
    a = scheduler.claim_ticks(ctx.engine, "a", now=T0, lease_s=30, limit=4)
    b = scheduler.claim_ticks(ctx.engine, "b", now=T0, lease_s=30, limit=4)
    assert [t.tick for t in a] == ["inc:1"] and b == []  # the shop's lease is busy, full:1 waits
    assert scheduler.finish_tick(ctx.engine, a[0], now=T0, outcome="converged")
    leases.release(ctx.engine, a[0].lease)
    assert [t.tick for t in scheduler.claim_ticks(ctx.engine, "b", now=T0, lease_s=30, limit=4)] == ["full:1"]


def test_piled_up_incremental_ticks_of_a_shop_coalesce_into_one_run(any_db_url: str, tmp_path: Path) -> None:
    ctx = _ctx(any_db_url, tmp_path)
    leader = leases.try_acquire(ctx.engine, LEADER_LEASE, "l", now=T0, ttl_s=30)
    assert leader is not None
    for shop_id, tick, kind in (
        ("voso-ag", "inc:1", "incremental"),
        ("voso-ag", "inc:2", "incremental"),
        ("voso-ag", "inc:3", "incremental"),
        ("voso-ag", "full:1", "full"),  # not merged: a full run is different work
        ("tiki-ag", "inc:2", "incremental"),  # another shop's tick is its own
    ):
        scheduler.enqueue_tick(ctx.engine, leader, shop_id=shop_id, tick=tick, kind=kind, trigger="schedule", now=T0)
    claimed = scheduler.claim_ticks(ctx.engine, "w", now=T0, lease_s=30, limit=4)
    assert sorted((t.shop_id, t.tick) for t in claimed) == [("tiki-ag", "inc:2"), ("voso-ag", "inc:1")]
    with Session(ctx.engine) as session:
        rows = {(t.shop_id, t.tick): (t.state, t.outcome, t.error) for t in session.exec(select(SyncTickRow))}
    assert rows == {
        ("voso-ag", "inc:1"): ("running", "", ""),
        ("voso-ag", "inc:2"): ("done", "merged", "merged into inc:1"),
        ("voso-ag", "inc:3"): ("done", "merged", "merged into inc:1"),
        ("voso-ag", "full:1"): ("pending", "", ""),
        ("tiki-ag", "inc:2"): ("running", "", ""),
    }


def test_two_requests_for_one_shop_coalesce_into_one_run(any_db_url: str, tmp_path: Path) -> None:
    ctx = _ctx(any_db_url, tmp_path)
    leader = leases.try_acquire(ctx.engine, LEADER_LEASE, "l", now=T0, ttl_s=30)
    assert leader is not None
    shops = [s.id for s in ctx.settings.shops]
    first = submit_request(ctx.engine, shop_id="tiki-ag", kind="incremental", requested_by="t", now=T0)
    second = submit_request(ctx.engine, shop_id="tiki-ag", kind="full", requested_by="t", now=T0)
    assert dispatch_requests(ctx.engine, leader, shops, now=T0) == [first, second]
    third = submit_request(ctx.engine, shop_id="tiki-ag", kind="incremental", requested_by="t", now=T0)
    dispatch_requests(ctx.engine, leader, shops, now=T0)  # merges into the still-pending tick
    (tick,) = scheduler.claim_ticks(ctx.engine, "w", now=T0, lease_s=30, limit=4)
    assert tick.kind == "full" and tick.request_ids == (first, second, third)
    assert {r.state for r in read_requests(ctx.engine)} == {"running"}
    scheduler.finish_tick(ctx.engine, tick, now=T0, outcome="converged")
    assert {(r.state, r.outcome) for r in read_requests(ctx.engine)} == {("finished", "converged")}


async def test_running_daemon_picks_up_a_request_and_catalog_changes(sqlite_url: str, tmp_path: Path) -> None:
    from connector.cli.demo_cmd import seed
    from connector.store.models import ProductRow

    ctx = _ctx(sqlite_url, tmp_path, interval_s=3600)
    seed(ctx.settings, T0.date(), T0)
    run = RecordingRun()
    daemon = Daemon(ctx, run_shop=run, options=DaemonOptions(claim_poll_s=0.1, serve_http=False))
    serving = asyncio.create_task(daemon.serve())
    try:
        await wait_until(lambda: len(runs_of(ctx)) >= 3, 10, "the catch-up runs at start")
        request = submit_request(ctx.engine, shop_id="lazada-ag", kind="full", requested_by="t", now=ctx.clock())
        await wait_until(lambda: read_requests(ctx.engine, ids=[request])[0].state == "finished", 5, "the request")
        assert ("lazada-ag", "full", "manual", None) in run.calls
        with session_scope(ctx.engine) as session:
            product = session.exec(select(ProductRow).order_by(ProductRow.sku)).first()
            assert product is not None
            product.stock, product.updated_at, sku = product.stock + 1, datetime.now(UTC), product.sku
            session.add(product)
        await wait_until(lambda: len(runs_of(ctx, trigger="catalog_change")) == 3, 5, "the catalog fast path")
        assert {c[3] for c in run.calls if c[2] == "catalog_change"} == {(sku,)}
    finally:
        daemon.stop()
        assert await asyncio.wait_for(serving, 15) == 0


async def test_drain_finishes_a_running_shop_and_then_exits(sqlite_url: str, tmp_path: Path) -> None:
    ctx = _ctx(sqlite_url, tmp_path, interval_s=3600)
    run = RecordingRun(delay_s=1.0)
    daemon = Daemon(ctx, run_shop=run, options=DaemonOptions(claim_poll_s=0.1, serve_http=False))
    serving = asyncio.create_task(daemon.serve())
    await wait_until(lambda: len(run.calls) >= 1, 10, "a run to start")
    daemon.stop()
    assert await asyncio.wait_for(serving, 10) == 0
    started = {c[0] for c in run.calls}
    assert {r.shop_id for r in runs_of(ctx)} == started  # every started run finished and was recorded
    with Session(ctx.engine) as session:
        assert not session.exec(select(SyncTickRow).where(SyncTickRow.state == "running")).all()


def test_a_second_daemon_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    first = DaemonFileLock(tmp_path / "ocop-sync.db")
    first.acquire()
    try:
        with pytest.raises(DaemonAlreadyRunning, match="another daemon"):
            DaemonFileLock(tmp_path / "ocop-sync.db").acquire()
        assert DaemonFileLock(tmp_path / "ocop-sync.db").held_by_other()
    finally:
        first.release()
    assert not DaemonFileLock(tmp_path / "ocop-sync.db").held_by_other()


def test_sweeper_returns_stuck_actions_to_pending(db_engine: object, tmp_path: Path, sqlite_url: str) -> None:
    ctx = _ctx(sqlite_url, tmp_path)
    with session_scope(ctx.engine) as session:
        session.add(ShopRow(id="voso-ag", marketplace="voso", seller_id="S"))
        session.flush()
        for i, lease_until in enumerate((T0 - timedelta(minutes=1), T0 + timedelta(minutes=1))):
            session.add(
                ActionRow(
                    shop_id="voso-ag",
                    sku=f"SKU{i}",
                    kind="set_price_stock",
                    idempotency_key=f"k{i}",
                    state="in_flight",
                    lease_until=lease_until,
                    created_at=T0,
                    updated_at=T0,
                )
            )
    assert housekeeping.sweep_stuck_actions(ctx.engine, T0) == 1
    with Session(ctx.engine) as session:
        states = {a.sku: a.state for a in session.exec(select(ActionRow))}
    assert states == {"SKU0": "pending", "SKU1": "in_flight"}


def test_status_flags_a_shop_without_success_for_three_intervals(sqlite_url: str, tmp_path: Path) -> None:
    assert is_stalled(T0, T0 + timedelta(seconds=301), 100)
    assert not is_stalled(T0, T0 + timedelta(seconds=299), 100)
    assert not is_stalled(None, T0, 100)
    ctx = _ctx(sqlite_url, tmp_path, interval_s=100)
    lease = leases.try_acquire(ctx.engine, shop_lease("tiki-ag"), "w9", now=datetime.now(UTC), ttl_s=30)
    assert lease is not None
    now = datetime.now(UTC)
    with session_scope(ctx.engine) as session:
        session.add(
            ShopRow(id="lazada-ag", marketplace="lazada", seller_id="L", refresh_expires_at=now + timedelta(days=3))
        )
        session.add(ShopRow(id="tiki-ag", marketplace="tiki", seller_id="T", token_expires_at=now + timedelta(days=3)))
    status = {s.shop_id: s for s in read_status(ctx.engine, ctx.settings, now).shops}
    assert status["tiki-ag"].lease_holder == "w9"
    # a person must act only on an authorisation (refresh token) about to expire, not on a self-renewing access token
    assert status["lazada-ag"].token_warning and not status["tiki-ag"].token_warning


def test_tokens_are_encrypted_at_rest(sqlite_url: str, tmp_path: Path) -> None:
    ctx = _ctx(sqlite_url, tmp_path)
    vault = TokenVault(TokenVault.generate_key())
    tokens = {"access_token": "AT-very-secret", "refresh_token": "RT-very-secret"}
    with session_scope(ctx.engine) as session:
        session.add(ShopRow(id="tiki-ag", marketplace="tiki", seller_id="S"))
        session.flush()
        save_tokens(session, vault, "tiki-ag", tokens, T0)
    raw = ctx.engine.raw_connection()
    try:
        stored = bytes(raw.cursor().execute("SELECT ciphertext FROM shop_secret").fetchone()[0])
    finally:
        raw.close()
    assert b"very-secret" not in stored
    with Session(ctx.engine) as session:
        assert load_tokens(session, vault, "tiki-ag") == tokens
        rotated = TokenVault(f"{TokenVault.generate_key()},{TokenVault.generate_key()}")
        with pytest.raises(SecretKeyError):
            load_tokens(session, rotated, "tiki-ag")
    assert "very-secret" not in repr(vault)
    with pytest.raises(SecretKeyError):
        TokenVault("not-a-key")


def test_a_tick_is_put_back_even_after_its_shop_lease_moved(any_db_url: str, tmp_path: Path) -> None:
    """The known defect: a drain's requeue was fenced by the shop lease, so it silently left the tick
    `running` under the stopped worker's live claim. Putting back one's own claim is now unconditional."""
    ctx = _ctx(any_db_url, tmp_path)
    leader = leases.try_acquire(ctx.engine, LEADER_LEASE, "l", now=T0, ttl_s=30)
    assert leader is not None
    scheduler.enqueue_tick(
        ctx.engine, leader, shop_id="voso-ag", tick="inc:1", kind="incremental", trigger="schedule", now=T0
    )

    def move_shop_lease(lease: leases.Lease) -> leases.Lease:
        leases.release(ctx.engine, lease)  # e.g. a token refresh took and gave the shop lease meanwhile
        moved = leases.try_acquire(ctx.engine, shop_lease("voso-ag"), "w2", now=T0, ttl_s=30)
        assert moved is not None
        return moved

    def state() -> tuple[str, str]:
        with Session(ctx.engine) as session:
            (row,) = session.exec(select(SyncTickRow)).all()
            return row.state, row.claimed_by

    (tick,) = scheduler.claim_ticks(ctx.engine, "w1", now=T0, lease_s=30, limit=1)
    other = move_shop_lease(tick.lease)
    assert scheduler.finish_tick(ctx.engine, tick, now=T0, outcome="", requeue=True)  # drain: put back
    assert state() == ("pending", "")
    leases.release(ctx.engine, other)
    # an end refused by the fence puts the tick back too (run again now, not after the claim expires)
    (again,) = scheduler.claim_ticks(ctx.engine, "w1", now=T0, lease_s=30, limit=1)
    other = move_shop_lease(again.lease)
    assert not scheduler.finish_tick(ctx.engine, again, now=T0, outcome="converged")
    assert state() == ("pending", "")
    # a claim that is no longer this one's is left alone
    leases.release(ctx.engine, other)
    (third,) = scheduler.claim_ticks(ctx.engine, "w3", now=T0, lease_s=30, limit=1)
    assert not scheduler.finish_tick(ctx.engine, again, now=T0, outcome="", requeue=True)
    assert state() == ("running", "w3")
    with Session(ctx.engine) as session:
        claims = session.exec(select(TickClaimRow).order_by(TickClaimRow.id)).all()  # type: ignore[arg-type]
    assert [(c.worker, c.lease_epoch, c.outcome) for c in claims] == [
        ("w1", tick.lease.epoch, "requeued"),
        ("w1", again.lease.epoch, "converged"),
        ("w3", third.lease.epoch, ""),
    ]
