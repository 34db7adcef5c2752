"""What runs when: the leader's APScheduler jobs, and the tick queue they feed.

Only the leader schedules. Its jobs are built in memory from settings (no persistent,
pickled job store) and each one only *enqueues* a `sync_tick` row per shop; every worker
(the leader included) claims ticks with `FOR UPDATE SKIP LOCKED` and takes the shop's lease
before running it. The unique (shop_id, tick) slot makes a tick idempotent even when two
leaders briefly overlap, and the shop lease keeps two workers off one shop.

Tick names: ``inc:<n>`` (n-th incremental interval since the Unix epoch), ``full:<scheduled
local time>``, ``req:<request id>`` (manual resync) and ``cat:<ms>`` (catalog change).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.settings import SchedulerSettings
from connector.store import session_scope
from connector.store.changes import changes_after, latest_change
from connector.store.leases import Lease, StaleLeaseError, check_fence, shop_lease, take
from connector.store.models import ActionRow, ResyncRequestRow, SyncRunRow, SyncTickRow
from connector.store.states import FAILED_TICK_OUTCOMES, TickOutcome, TickState, worst_outcome
from schemas.sync import RunTrigger

# -- tick names -----------------------------------------------------------------------------


def incremental_tick(now: datetime, interval_s: float) -> str:
    """The incremental slot `now` falls in (rounded, so a fire up to half an interval late keeps its slot)."""
    return f"inc:{round(now.timestamp() / interval_s)}"


def aligned_start(now: datetime, interval_s: float) -> datetime:
    """The next multiple of `interval_s` since the epoch: interval jobs fire on slot boundaries."""
    return datetime.fromtimestamp(math.ceil(now.timestamp() / interval_s) * interval_s, tz=UTC)


def full_tick(now: datetime, cron: str, tz: str, jitter_s: int, grace_s: float) -> str:
    """The full-resync slot: the un-jittered cron time this (jittered, maybe late) fire belongs to."""
    trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(tz))
    scheduled = trigger.get_next_fire_time(None, now - timedelta(seconds=jitter_s + grace_s + 1))
    when = scheduled if scheduled is not None and scheduled <= now else now
    return f"full:{when.astimezone(ZoneInfo(tz)):%Y-%m-%dT%H:%M}"


# -- the tick queue ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedTick:
    """A tick this worker claimed, with the shop lease it runs under."""

    id: int
    shop_id: str
    tick: str
    kind: str
    trigger: str
    skus: tuple[str, ...] | None
    request_ids: tuple[int, ...]
    lease: Lease


def _insert(engine: Engine) -> Callable[..., postgresql.Insert | sqlite.Insert]:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


def enqueue_tick(
    engine: Engine,
    leader: Lease,
    *,
    shop_id: str,
    tick: str,
    kind: str,
    trigger: str,
    now: datetime,
    skus: Collection[str] | None = None,
    request_ids: Sequence[int] = (),
) -> bool:
    """As the leader, add one shop's tick (idempotent per slot); False when the slot already exists.

    Raises StaleLeaseError when `leader` was taken over: a stale leader schedules nothing.
    """
    with session_scope(engine) as session:
        check_fence(session, leader)
        return _enqueue(session, engine, leader, shop_id, tick, kind, trigger, now, skus, request_ids)


def _enqueue(
    session: Session,
    engine: Engine,
    leader: Lease,
    shop_id: str,
    tick: str,
    kind: str,
    trigger: str,
    now: datetime,
    skus: Collection[str] | None,
    request_ids: Sequence[int],
) -> bool:
    values = {
        "shop_id": shop_id,
        "tick": tick,
        "kind": kind,
        "trigger": trigger,
        "skus": sorted(skus) if skus is not None else None,
        "request_ids": list(request_ids),
        "state": TickState.PENDING,
        "leader": leader.holder,
        "leader_epoch": leader.epoch,
        "due_at": now,
        "attempts": 0,
    }
    stmt = (
        _insert(engine)(SyncTickRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["shop_id", "tick"])
        .returning(SyncTickRow.id)  # type: ignore[call-overload]
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def enqueue_merged(
    engine: Engine,
    leader: Lease,
    *,
    shop_id: str,
    tick: str,
    kind: str,
    trigger: str,
    now: datetime,
    skus: Collection[str] | None = None,
    request_ids: Sequence[int] = (),
) -> int:
    """Add work to the shop's pending tick of the same trigger when there is one (coalescing), else a new tick.

    A merged full request upgrades the pending tick to a full run; merged SKUs are unioned.
    Returns the tick's id. Raises StaleLeaseError when `leader` is stale.
    """
    with session_scope(engine) as session:
        check_fence(session, leader)
        return merge_tick(session, engine, leader, shop_id, tick, kind, trigger, now, skus, request_ids)


def merge_tick(
    session: Session,
    engine: Engine,
    leader: Lease,
    shop_id: str,
    tick: str,
    kind: str,
    trigger: str,
    now: datetime,
    skus: Collection[str] | None,
    request_ids: Sequence[int],
) -> int:
    """Inside a fenced transaction: coalesce into the shop's pending tick of `trigger`, or add one."""
    pending = session.exec(
        select(SyncTickRow)
        .where(SyncTickRow.shop_id == shop_id, SyncTickRow.trigger == trigger, SyncTickRow.state == TickState.PENDING)
        .with_for_update()
    ).first()
    if pending is not None:
        if pending.skus is not None:
            pending.skus = None if skus is None else sorted({*pending.skus, *skus})
        if kind == "full":
            pending.kind = "full"
        pending.request_ids = sorted({*pending.request_ids, *request_ids})
        session.add(pending)
        session.flush()
        assert pending.id is not None
        return pending.id
    _enqueue(session, engine, leader, shop_id, tick, kind, trigger, now, skus, request_ids)
    row = session.exec(select(SyncTickRow).where(SyncTickRow.shop_id == shop_id, SyncTickRow.tick == tick)).one()
    assert row.id is not None
    return row.id


def claim_ticks(
    engine: Engine, worker: str, *, now: datetime, lease_s: float, limit: int, busy: Collection[str] = ()
) -> list[ClaimedTick]:
    """Claim up to `limit` due ticks for distinct shops whose lease this worker can take.

    Ticks left running by a dead worker (lease expired) are claimable again. Rows other
    workers are claiming right now are skipped (SKIP LOCKED), never waited for.
    """
    claimed: list[ClaimedTick] = []
    if limit <= 0:
        return claimed
    with session_scope(engine) as session:
        rows = session.exec(
            select(SyncTickRow)
            .where(
                or_(
                    SyncTickRow.state == TickState.PENDING,  # type: ignore[arg-type]
                    (SyncTickRow.state == TickState.RUNNING) & (SyncTickRow.lease_until < now),  # type: ignore[arg-type,operator]
                ),
                SyncTickRow.due_at <= now,
            )
            .order_by(SyncTickRow.due_at, SyncTickRow.id)  # type: ignore[arg-type]
            .limit(limit * 4 + 8)
            .with_for_update(skip_locked=True)
        ).all()
        taken = set(busy)
        for row in rows:
            if len(claimed) >= limit or row.shop_id in taken:
                continue
            lease = take(session, shop_lease(row.shop_id), worker, now=now, ttl_s=lease_s)
            if lease is None:
                continue
            taken.add(row.shop_id)
            row.state, row.claimed_by, row.claimed_at = TickState.RUNNING, worker, now
            row.lease_until = now + timedelta(seconds=lease_s)
            row.attempts += 1
            session.add(row)
            assert row.id is not None
            claimed.append(
                ClaimedTick(
                    row.id,
                    row.shop_id,
                    row.tick,
                    row.kind,
                    row.trigger,
                    tuple(row.skus) if row.skus is not None else None,
                    tuple(row.request_ids),
                    lease,
                )
            )
    return claimed


def heartbeat_tick(engine: Engine, claimed: ClaimedTick, *, now: datetime, lease_s: float) -> bool:
    """Extend a running tick and its shop lease; False when another worker took the shop over."""
    from connector.store.leases import renew

    if not renew(engine, claimed.lease, now=now, ttl_s=lease_s):
        return False
    with session_scope(engine) as session:
        row = session.get(SyncTickRow, claimed.id)
        if row is not None and row.claimed_by == claimed.lease.holder and row.state == TickState.RUNNING:
            row.lease_until = now + timedelta(seconds=lease_s)
            session.add(row)
    return True


def finish_tick(
    engine: Engine,
    claimed: ClaimedTick,
    *,
    now: datetime,
    outcome: str,
    run_id: int | None = None,
    error: str = "",
    requeue: bool = False,
) -> bool:
    """Record a tick's end (or put it back when `requeue`), fenced by the shop lease; False if stale."""
    try:
        with session_scope(engine) as session:
            check_fence(session, claimed.lease)
            row = session.get(SyncTickRow, claimed.id)
            if row is None:
                return False
            if requeue:
                row.state, row.claimed_by, row.lease_until = TickState.PENDING, "", None
            else:
                row.state = TickState.FAILED if outcome in FAILED_TICK_OUTCOMES else TickState.DONE
                row.finished_at, row.outcome, row.run_id, row.error = now, outcome, run_id, error[:500]
            session.add(row)
            session.flush()
            if not requeue and row.request_ids:
                settle_requests(session, row.request_ids, now)
    except StaleLeaseError:
        return False
    return True


def settle_requests(session: Session, request_ids: Collection[int], now: datetime) -> None:
    """Inside a transaction: finish each request whose ticks have all ended, with the worst outcome."""
    for request_id in request_ids:
        req = session.get(ResyncRequestRow, request_id)
        if req is None or req.finished_at is not None or req.claimed_at is None:
            continue
        since = req.claimed_at - timedelta(seconds=1)
        ticks = [
            t
            for t in session.exec(
                select(SyncTickRow).where(SyncTickRow.trigger == RunTrigger.MANUAL.value, SyncTickRow.due_at >= since)
            ).all()
            if request_id in t.request_ids
        ]
        if any(t.state in (TickState.PENDING, TickState.RUNNING) for t in ticks):
            continue
        req.finished_at = now
        ended = [t.outcome for t in ticks if t.state in (TickState.DONE, TickState.FAILED)]
        req.outcome = worst_outcome(ended) or TickOutcome.CONVERGED
        session.add(req)
        for t in ticks:
            run = session.get(SyncRunRow, t.run_id) if t.run_id is not None else None
            if run is not None and run.request_id is None:
                run.request_id = request_id
                session.add(run)


def pending_ticks(engine: Engine) -> int:
    """Ticks waiting for a worker."""
    with Session(engine) as session:
        return len(session.exec(select(SyncTickRow.id).where(SyncTickRow.state == TickState.PENDING)).all())


# -- leader-side periodic work ---------------------------------------------------------------


def changed_skus(engine: Engine, since: int, limit: int = 5000) -> tuple[list[str], int]:
    """SKUs of the catalog changes logged after position `since` (at most `limit` changes), and the new position.

    Positions come from the commit-ordered change log, so nothing committed late is skipped and a
    limit never splits a position; call again from the returned position until no SKU is left.
    """
    with Session(engine) as session:
        rows = changes_after(session, since, limit)
    if not rows:
        return [], since
    return sorted({sku for _, sku in rows}), rows[-1][0]


def catalog_watermark(engine: Engine) -> int:
    """The newest catalog change-log position: where the catalog watcher starts."""
    with Session(engine) as session:
        return latest_change(session)


def sweep_stuck_actions(engine: Engine, now: datetime) -> int:
    """Return outbox actions left in flight past their lease to pending; how many moved."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(ActionRow)
            .where(ActionRow.state == "in_flight", ActionRow.lease_until < now)  # type: ignore[operator]
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.state, row.lease_until, row.updated_at = "pending", None, now
            session.add(row)
        return len(rows)


# -- the APScheduler job table ---------------------------------------------------------------


class JobHost(Protocol):
    """What the scheduled jobs call; the daemon implements it (only the leader acts)."""

    async def enqueue_incremental(self, shop_id: str) -> None:
        """Enqueue this interval's incremental tick for one shop."""

    async def enqueue_full(self, shop_id: str) -> None:
        """Enqueue tonight's full-resync tick for one shop."""

    async def poll_requests(self) -> None:
        """Turn manual resync requests into ticks."""

    async def watch_catalog(self) -> None:
        """Turn catalog changes into ticks for the changed SKUs."""

    async def sweep(self) -> None:
        """Return stuck in-flight actions and abandoned ticks to pending."""

    async def refresh_tokens(self) -> None:
        """Refresh marketplace tokens nearing expiry."""

    async def deliver_reports(self) -> None:
        """Send the daily producer reports."""


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: an id, its trigger and what it calls."""

    id: str
    trigger: IntervalTrigger | CronTrigger
    func: Callable[[], Awaitable[None]]
    misfire_grace_s: int


@dataclass(frozen=True)
class JobPlan:
    """The full job table, and which optional jobs were left out and why."""

    jobs: tuple[JobSpec, ...]
    omitted: tuple[str, ...] = field(default=())


def _grace(interval_s: float) -> int:
    return max(1, int(interval_s / 2))


def plan_jobs(
    sched: SchedulerSettings,
    shop_ids: Sequence[str],
    host: JobHost,
    *,
    now: datetime,
    reports: bool,
    catalog_poll_s: float = 1.0,
    extra: Sequence[JobSpec] = (),
) -> JobPlan:
    """Build every job from settings: per-shop incremental and full resync, plus the housekeeping jobs."""
    tz = ZoneInfo(sched.timezone)
    inc = sched.incremental_interval_s
    jobs: list[JobSpec] = []
    for shop_id in shop_ids:
        jobs.append(
            JobSpec(
                f"incremental:{shop_id}",
                IntervalTrigger(seconds=inc, start_date=aligned_start(now, inc), timezone=UTC),
                _bind(host.enqueue_incremental, shop_id),
                _grace(inc),
            )
        )
        jobs.append(
            JobSpec(
                f"full:{shop_id}",
                CronTrigger(**_cron_fields(sched.full_cron), timezone=tz, jitter=sched.full_jitter_s or None),
                _bind(host.enqueue_full, shop_id),
                3600,
            )
        )

    def every(seconds: float) -> IntervalTrigger:
        return IntervalTrigger(seconds=seconds, timezone=UTC)

    jobs += [
        JobSpec("resync-requests", every(sched.resync_poll_s), host.poll_requests, _grace(sched.resync_poll_s)),
        JobSpec("catalog-watch", every(catalog_poll_s), host.watch_catalog, _grace(catalog_poll_s)),
        JobSpec("sweeper", every(sched.sweeper_interval_s), host.sweep, _grace(sched.sweeper_interval_s)),
        JobSpec(
            "token-refresh",
            every(sched.token_check_interval_s),
            host.refresh_tokens,
            _grace(sched.token_check_interval_s),
        ),
    ]
    omitted: list[str] = []
    if reports:
        jobs.append(
            JobSpec("reports", CronTrigger.from_crontab(sched.report_cron, timezone=tz), host.deliver_reports, 3600)
        )
    else:
        omitted.append("reports (connector.delivery.deliver_producer_reports is not available)")
    jobs += extra
    return JobPlan(tuple(jobs), tuple(omitted))


def _cron_fields(cron: str) -> dict[str, str]:
    minute, hour, day, month, day_of_week = cron.split()
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": day_of_week}


def _bind(func: Callable[[str], Awaitable[None]], arg: str) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        await func(arg)

    job.__name__ = f"{getattr(func, '__name__', 'job')}[{arg}]"
    return job


def build_scheduler(plan: JobPlan, *, deadline_s: float) -> AsyncIOScheduler:
    """An AsyncIOScheduler (memory job store) holding `plan`'s jobs, each with a hard deadline."""
    scheduler = AsyncIOScheduler(
        timezone=UTC, job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    )
    for spec in plan.jobs:
        scheduler.add_job(
            _with_deadline(spec.func, deadline_s),
            trigger=spec.trigger,
            id=spec.id,
            name=spec.id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=spec.misfire_grace_s,
            replace_existing=True,
        )
    return scheduler


def _with_deadline(func: Callable[[], Awaitable[None]], deadline_s: float) -> Callable[[], Awaitable[None]]:
    import asyncio

    async def job() -> None:
        async with asyncio.timeout(deadline_s):
            await func()

    job.__name__ = getattr(func, "__name__", "job")
    return job


def forget_ticks(engine: Engine, before: datetime) -> int:
    """Delete finished ticks older than `before` (their runs stay in sync_run); how many."""
    from sqlalchemy import delete

    with session_scope(engine) as session:
        result = session.execute(
            delete(SyncTickRow).where(
                SyncTickRow.state.in_([TickState.DONE, TickState.FAILED]),  # type: ignore[attr-defined]
                SyncTickRow.finished_at < before,  # type: ignore[arg-type,operator]
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
