"""Leadership: hold the epoch-fenced `scheduler` lease, run the job table while holding it, step down on loss."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from connector.reports.status import read_status
from connector.service.jobs import LeaderJobs, build_scheduler, feed_job, plan_jobs
from connector.service.runtime import Runtime
from connector.service.supervise import supervised
from connector.store import leases
from connector.store.leases import LEADER_LEASE, Lease, StaleLeaseError

log = logging.getLogger("ocop_sync.daemon")


class Leadership:
    """The leader side of one daemon: the lease loop, the APScheduler it runs while leading, catch-up."""

    def __init__(self, rt: Runtime, *, catalog_poll_s: float, feed_poll_s: float = 2.0) -> None:
        self.rt = rt
        self.catalog_poll_s = catalog_poll_s
        self.feed_poll_s = feed_poll_s
        self.jobs = LeaderJobs(rt, self)
        self.scheduler: AsyncIOScheduler | None = None
        self.omitted_jobs: tuple[str, ...] = ()
        self._lease: Lease | None = None

    @property
    def lease(self) -> Lease | None:
        """The scheduler lease while this process leads, else None."""
        return self._lease

    async def loop(self) -> None:
        """Try to lead, or keep leading, every third of the lease (supervised: see `supervise`)."""
        rt = self.rt
        await supervised(
            "leadership",
            self._pass,
            stopping=rt.stopping.is_set,
            pause=rt.sleep,
            health=rt.health,
            cap_s=rt.settings.daemon.lease_s / 3,
        )

    async def _pass(self) -> float:
        """One look at the leader lease: take it when free, renew it when held; the pause until the next."""
        rt = self.rt
        ttl = rt.settings.daemon.lease_s
        if self._lease is None:
            lease = await rt.db(leases.try_acquire, rt.engine, LEADER_LEASE, rt.worker, now=rt.now(), ttl_s=ttl)
            if lease is not None:
                await self._become_leader(lease)
        elif not await rt.db(leases.renew, rt.engine, self._lease, now=rt.now(), ttl_s=ttl):
            self.step_down("lease renewal refused")
        return ttl / 3

    async def _become_leader(self, lease: Lease) -> None:
        rt = self.rt
        self._lease = lease
        rt.metrics.leader.set(1)
        rt.metrics.leader_epoch.set(lease.epoch)
        await self.jobs.start_watching()
        plan = plan_jobs(
            rt.settings.scheduler,
            rt.shop_ids,
            self.jobs,
            now=rt.now(),
            reports=True,
            catalog_poll_s=self.catalog_poll_s,
            extra=(feed_job(self.jobs, self.feed_poll_s),),
        )
        self.omitted_jobs = plan.omitted
        self.scheduler = build_scheduler(plan, deadline_s=rt.settings.scheduler.job_deadline_s, health=rt.health)
        self.scheduler.start()
        log.info(
            "leader now (epoch %d), %d jobs%s / trở thành leader",
            lease.epoch,
            len(plan.jobs),
            f"; left out: {'; '.join(plan.omitted)}" if plan.omitted else "",
        )
        await self._catch_up()

    def step_down(self, why: str) -> None:
        """Stop acting as leader (lease lost or refused): stop the scheduler."""
        if self._lease is not None:
            log.warning("no longer leader (epoch %d): %s / không còn là leader", self._lease.epoch, why)
        self._lease = None
        self.rt.metrics.leader.set(0)
        self.stop_scheduler()

    def nudge(self, job_id: str) -> None:
        """Run one scheduled job now instead of at its next interval (no-op when not leading).

        Used after a run moved canonical stock: the catalog watcher then carries the change to
        the other shops at once rather than up to `catalog_poll_s` later. APScheduler's
        one-instance rule still holds: a job already running is not started twice.
        """
        if self.scheduler is None or not self.scheduler.running:
            return
        job = self.scheduler.get_job(job_id)
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    def stop_scheduler(self) -> None:
        """Shut the APScheduler down (without waiting for running jobs)."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None

    async def release(self) -> None:
        """On a clean stop: give the scheduler lease back so another process leads at once."""
        if self._lease is not None:
            await self.rt.db(leases.release, self.rt.engine, self._lease)
            self._lease = None

    async def _catch_up(self) -> None:
        """On taking the lead: one incremental tick now for every shop not synced within an interval."""
        rt = self.rt
        status = await rt.db(read_status, rt.engine, rt.settings, rt.now())
        interval = timedelta(seconds=rt.settings.scheduler.incremental_interval_s)
        # Its own slot per leadership: the interval's slot may be used up by a run that failed before the
        # restart (e.g. on credentials just fixed), and the catch-up run must still happen.
        catch_up = f"catchup:{self._lease.epoch}" if self._lease is not None else None
        for shop in status.shops:
            if shop.enabled and (shop.last_success_at is None or rt.now() - shop.last_success_at > interval):
                await self.jobs.enqueue_incremental(shop.shop_id, tick=catch_up)

    async def as_leader(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a fenced leader write; a stale lease makes this process step down instead."""
        leader = self._lease
        if leader is None or self.rt.stopping.is_set():
            return None
        try:
            return await self.rt.db(func, self.rt.engine, leader, *args, **kwargs)
        except StaleLeaseError as exc:
            self.step_down(f"{what}: {exc}")
            return None

    async def on_resync_request(self, request_id: int) -> None:
        """The API recorded a resync request: dispatch it now rather than at the next poll (leader only)."""
        if self._lease is not None:
            await self.jobs.poll_requests()
