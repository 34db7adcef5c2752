"""The leader's APScheduler jobs: the job table built from settings, and what each job does.

Only the leader schedules. Its jobs are built in memory from settings (no persistent, pickled
job store) and each one only *enqueues* ticks (`connector.service.ticks`) or does housekeeping
(`connector.service.housekeeping`); workers run the ticks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from connector.engine.tokens import TokenVault, refresh_shop_tokens
from connector.reports.delivery import deliver_producer_reports
from connector.service import housekeeping, ticks
from connector.service.events import drain_events
from connector.service.feeds import EventFeeds
from connector.service.ratelog import RateLimitedLog
from connector.service.resync import dispatch_requests
from connector.service.runtime import Runtime
from connector.service.supervise import TRANSIENT
from connector.settings import SchedulerSettings
from connector.store import leases
from connector.store.leases import Lease, shop_lease
from schemas.sync import RunKind, RunTrigger

log = logging.getLogger("ocop_sync.daemon")

TICK_RETENTION = timedelta(days=7)
CHANGE_RETENTION = timedelta(days=7)  # catalog change-log rows every shop has read are kept this long

# -- the job table ------------------------------------------------------------------------------


class JobHost(Protocol):
    """What the scheduled jobs call; the daemon implements it (only the leader acts)."""

    async def enqueue_incremental(self, shop_id: str, tick: str | None = None) -> None:
        """Enqueue this interval's incremental tick (or the named slot `tick`) for one shop."""

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
                IntervalTrigger(seconds=inc, start_date=ticks.aligned_start(now, inc), timezone=UTC),
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


def feed_job(jobs: LeaderJobs, every_s: float) -> JobSpec:
    """The job that pulls the marketplaces' event queues every `every_s` seconds."""
    return JobSpec("event-feeds", IntervalTrigger(seconds=every_s, timezone=UTC), jobs.poll_feeds, _grace(every_s))


def _cron_fields(cron: str) -> dict[str, str]:
    minute, hour, day, month, day_of_week = cron.split()
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": day_of_week}


def _bind(func: Callable[[str], Awaitable[None]], arg: str) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        await func(arg)

    job.__name__ = f"{getattr(func, '__name__', 'job')}[{arg}]"
    return job


def build_scheduler(plan: JobPlan, *, deadline_s: float, health: RateLimitedLog | None = None) -> AsyncIOScheduler:
    """An AsyncIOScheduler (memory job store) holding `plan`'s jobs, each with a hard deadline.

    A job that fails is logged through `health` (one line per job per interval, so an outage does
    not print a traceback per fire) and marks the job failing until it next succeeds.
    """
    scheduler = AsyncIOScheduler(
        timezone=UTC, job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
    )
    health = health or RateLimitedLog(log)
    for spec in plan.jobs:
        scheduler.add_job(
            _guarded(spec.id, spec.func, deadline_s, health),
            trigger=spec.trigger,
            id=spec.id,
            name=spec.id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=spec.misfire_grace_s,
            replace_existing=True,
        )
    return scheduler


def _guarded(
    job_id: str, func: Callable[[], Awaitable[None]], deadline_s: float, health: RateLimitedLog
) -> Callable[[], Awaitable[None]]:
    key = f"job {job_id}"

    async def job() -> None:
        try:
            async with asyncio.timeout(deadline_s):
                await func()
        except TRANSIENT as exc:
            health.failure(key, "%s failing (%s: %s)", key, type(exc).__name__, str(exc).splitlines()[0][:200])
        except Exception:  # noqa: BLE001  # job boundary: logged (rate-limited), makes /readyz fail
            health.failure(key, "%s raised", key, level=logging.ERROR, exc_info=True)
        else:
            health.recovered(key, "%s works again", key)

    job.__name__ = getattr(func, "__name__", "job")
    return job


# -- what the jobs do ---------------------------------------------------------------------------


class LeaderSeat(Protocol):
    """The leadership the jobs act under: the current lease and a fenced write that steps down when stale."""

    @property
    def lease(self) -> Lease | None:
        """The scheduler lease while this process leads, else None."""
        ...

    async def as_leader(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `func(engine, lease, ...)` fenced by the leader lease; None when not (or no longer) leader."""
        ...


class LeaderJobs:
    """The bodies of the leader's scheduled jobs (a `JobHost`)."""

    def __init__(self, rt: Runtime, seat: LeaderSeat) -> None:
        self.rt = rt
        self.seat = seat
        self.vault = TokenVault.from_env()
        self.catalog_seen: int | None = None  # catalog change-log position
        self.feeds = EventFeeds(rt, self.schedule_events)

    async def poll_feeds(self) -> None:
        """Pull the marketplaces' event queues (leader only); new events become targeted ticks."""
        if self.seat.lease is not None:
            await self.feeds.poll()

    async def start_watching(self) -> None:
        """Remember where the catalog stands now: the catalog watcher reports changes after this."""
        self.catalog_seen = await self.rt.db(housekeeping.catalog_watermark, self.rt.engine)

    async def enqueue_incremental(self, shop_id: str, tick: str | None = None) -> None:
        """Enqueue this interval's incremental tick (or the named slot `tick`) for one shop."""
        rt = self.rt
        tick = tick or ticks.incremental_tick(rt.now(), rt.settings.scheduler.incremental_interval_s)
        added = await self.seat.as_leader(
            "enqueue",
            ticks.enqueue_tick,
            shop_id=shop_id,
            tick=tick,
            kind=RunKind.INCREMENTAL.value,
            trigger=RunTrigger.SCHEDULE.value,
            now=rt.now(),
        )
        if added:
            rt.wake.set()

    async def enqueue_full(self, shop_id: str) -> None:
        """Enqueue the full resync tick of the current cron slot for one shop."""
        rt = self.rt
        s = rt.settings.scheduler
        tick = ticks.full_tick(rt.now(), s.full_cron, s.timezone, s.full_jitter_s, 3600)
        await self.seat.as_leader(
            "enqueue",
            ticks.enqueue_tick,
            shop_id=shop_id,
            tick=tick,
            kind=RunKind.FULL.value,
            trigger=RunTrigger.SCHEDULE.value,
            now=rt.now(),
        )
        rt.wake.set()

    async def poll_requests(self) -> None:
        """Turn manual resync requests into (coalesced) manual ticks."""
        ids = await self.seat.as_leader("dispatch", dispatch_requests, self.rt.shop_ids, now=self.rt.now())
        if ids:
            log.info("manual resync request(s) %s dispatched / đã nhận yêu cầu đồng bộ lại", ids)
            self.rt.wake.set()

    async def schedule_events(self) -> None:
        """Turn recorded marketplace events into targeted ticks now (leader only; others leave them pending)."""
        if self.seat.lease is not None and await self.seat.as_leader("events", drain_events, now=self.rt.now()):
            self.rt.wake.set()

    async def watch_catalog(self) -> None:
        """Enqueue catalog ticks for the SKUs changed since last look, batch by batch until none is left.

        Workers are woken once, after the last batch: woken earlier, one would claim the first batch
        alone and a big import would cost each shop one complete read per batch instead of one.
        """
        rt = self.rt
        if self.catalog_seen is not None and self.seat.lease is not None:
            await self.schedule_events()  # events recorded by another process, or while not leader
        enqueued = False
        try:
            while self.catalog_seen is not None and self.seat.lease is not None:
                skus, seen = await rt.db(housekeeping.changed_skus, rt.engine, self.catalog_seen)
                if not skus:
                    return
                for shop_id in rt.shop_ids:
                    await self.seat.as_leader(
                        "catalog",
                        ticks.enqueue_merged,
                        shop_id=shop_id,
                        tick=f"cat:{seen}",
                        kind=RunKind.INCREMENTAL.value,
                        trigger=RunTrigger.CATALOG_CHANGE.value,
                        now=rt.now(),
                        skus=skus,
                    )
                    enqueued = True
                if self.seat.lease is None:
                    return  # stepped down: the next leader starts from the log, the shops' own positions catch the rest
                self.catalog_seen = seen
                log.info(
                    "catalog change: %d SKU(s) → every shop / danh mục thay đổi: %s", len(skus), ", ".join(skus[:5])
                )
        finally:
            if enqueued:
                rt.wake.set()

    async def sweep(self) -> None:
        """Return stuck in-flight actions to pending, close orphaned runs, forget old ticks and read changes."""
        rt = self.rt
        moved = await rt.db(housekeeping.sweep_stuck_actions, rt.engine, rt.now())
        if moved:
            rt.metrics.swept.inc(moved)
            log.warning("sweeper: %d action(s) stuck in flight returned to pending", moved)
        closed = await rt.db(housekeeping.close_orphaned_runs, rt.engine, rt.now())
        if closed:
            log.warning("sweeper: run(s) %s closed as interrupted (their tick no longer runs under a claim)", closed)
        await rt.db(housekeeping.forget_ticks, rt.engine, rt.now() - TICK_RETENTION)
        pruned = await rt.db(housekeeping.prune_changes, rt.engine, rt.now() - CHANGE_RETENTION)
        if pruned:
            log.info("sweeper: %d catalog change(s) every shop has read pruned", pruned)

    async def refresh_tokens(self) -> None:
        """Refresh each shop's marketplace token near expiry, under the shop lease (never during its sync)."""
        rt = self.rt
        margin = timedelta(seconds=max(2 * rt.settings.scheduler.token_check_interval_s, 3600))
        for shop_id in rt.shop_ids:
            lease = await rt.db(
                leases.try_acquire,
                rt.engine,
                shop_lease(shop_id),
                rt.worker,
                now=rt.now(),
                ttl_s=rt.settings.daemon.lease_s,
            )
            if lease is None:
                continue  # being synced right now; the next check gets it
            try:
                await refresh_shop_tokens(rt.ctx, rt.settings.shop(shop_id), self.vault, margin=margin)
            except Exception:  # run boundary: one shop's refresh must not stop the others
                log.exception("shop %s: token check failed", shop_id)
            finally:
                await rt.db(leases.release, rt.engine, lease)

    async def deliver_reports(self) -> None:
        """Send the daily producer reports through the reports module."""
        await asyncio.to_thread(deliver_producer_reports, self.rt.ctx)
