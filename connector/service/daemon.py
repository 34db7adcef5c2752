"""The long-running service (`ocop-sync run`): leader election, scheduling, workers, HTTP, shutdown.

Every daemon process is a *worker*: it claims due ticks (one shop each) under the shop's
lease and runs the engine's `sync_shop` with a fence that re-checks that lease inside every
write transaction. One process at a time is also the *leader*: it holds the `scheduler`
lease (epoch-fenced), runs the APScheduler jobs that enqueue ticks, dispatches manual resync
requests, watches the catalog for changes, sweeps stuck work and refreshes tokens. On SQLite
an OS file lock makes the daemon the only one; on PostgreSQL any number can run.

SIGTERM/SIGINT: stop claiming, let running shops finish within `daemon.drain_s`, put back what
did not, release leases, exit 0. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from connector.context import AppContext
from connector.engine.tokens import TokenVault, refresh_shop_tokens
from connector.reports.delivery import deliver_producer_reports
from connector.reports.status import read_status
from connector.service import ticks as scheduler
from connector.service.events import drain_events
from connector.service.health import health_router
from connector.service.metrics import DaemonMetrics
from connector.service.resync import RunShop, dispatch_requests, engine_run_shop
from connector.service.ticks import ClaimedTick
from connector.service.webhooks import webhook_router
from connector.settings import Settings
from connector.store import leases
from connector.store.leases import LEADER_LEASE, DaemonFileLock, Lease, StaleLeaseError, check_fence, shop_lease
from connector.store.states import TickOutcome
from connector.web.api import build_api
from schemas.sync import RunKind, RunSummary, RunTrigger

log = logging.getLogger("ocop_sync.daemon")

EXIT_OK = 0
EXIT_ALREADY_RUNNING = 3
EXIT_STARTUP_FAILED = 4
TICK_RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class DaemonOptions:
    """How this daemon process runs, beyond settings (mostly for the demo and tests)."""

    concurrency: int = 4
    claim_poll_s: float = 0.5
    catalog_poll_s: float = 1.0
    serve_http: bool = True
    demo_buyers_every_s: float = 0.0  # > 0: demo mode, simulated buyers on every sandbox shop
    extra_routers: Sequence[APIRouter] = field(default=())


def worker_name(settings: Settings) -> str:
    """This process's name in leases and run records: settings, else host:pid."""
    return settings.daemon.worker_name or f"{socket.gethostname()}:{os.getpid()}"


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signal handling to the daemon."""
        yield


class Daemon:
    """One daemon process. Build it, then `await daemon.serve()` until a signal stops it."""

    def __init__(
        self,
        ctx: AppContext,
        *,
        run_shop: RunShop | None = None,
        options: DaemonOptions | None = None,
    ) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.engine = ctx.engine
        leases.harden_postgres(ctx.engine, ctx.settings.daemon.lease_s)
        self.options = options or DaemonOptions()
        self.worker = worker_name(ctx.settings)
        self.metrics = DaemonMetrics(ctx.engine, ctx.settings, ctx.clock)
        self._run_shop = run_shop
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._leader: Lease | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._catalog_seen: datetime | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._progress: dict[str, str] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._signals = 0
        self._server: _QuietServer | None = None
        self._http_task: asyncio.Task[None] | None = None
        self.port: int | None = None
        self.vault = TokenVault.from_env()
        self.shop_ids = [s.id for s in ctx.settings.shops if s.enabled]
        self.omitted_jobs: tuple[str, ...] = ()

    # -- what health and tests read ---------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True while this process holds the scheduler lease."""
        return self._leader is not None

    def scheduler_running(self) -> bool:
        """Ready: not stopping, the worker loop runs, and (as leader) APScheduler runs."""
        if self._stopping.is_set() or not self._loops or any(t.done() for t in self._loops):
            return False
        return self._scheduler is None or bool(self._scheduler.running)

    def describe(self) -> dict[str, object]:
        """Worker name, leadership and what runs now."""
        return {
            "worker": self.worker,
            "leader": self.is_leader,
            "running": sorted(self._running),
            "progress": dict(self._progress),
        }

    # -- lifecycle --------------------------------------------------------------------------

    async def serve(self) -> int:
        """Run until stopped by a signal (or `stop()`); the process exit code."""
        file_lock = self._file_lock()
        if file_lock is not None:
            file_lock.acquire()  # raises DaemonAlreadyRunning
        try:
            if self._run_shop is None:
                self._run_shop = engine_run_shop()
            await asyncio.to_thread(leases.ensure_rows, self.engine, [LEADER_LEASE, *map(shop_lease, self.shop_ids)])
            self._install_signals()
            if self.options.serve_http:
                await self._start_http()
            self._loops = [
                asyncio.create_task(self._leadership_loop(), name="leadership"),
                asyncio.create_task(self._worker_loop(), name="worker"),
            ]
            if self.options.demo_buyers_every_s > 0:
                self._loops.append(asyncio.create_task(self._buyers_loop(), name="demo-buyers"))
            log.info(
                "daemon %s started: %d shops, lease %.0fs, drain %.0fs / đã khởi động",
                self.worker,
                len(self.shop_ids),
                self.settings.daemon.lease_s,
                self.settings.daemon.drain_s,
            )
            await self._stopping.wait()
            await self._drain()
            return EXIT_OK
        finally:
            await self._stop_http()
            if file_lock is not None:
                file_lock.release()

    def stop(self) -> None:
        """Begin a graceful stop (what the first SIGTERM/SIGINT does)."""
        self._stopping.set()
        self._wake.set()

    def _file_lock(self) -> DaemonFileLock | None:
        path = leases.sqlite_path(self.settings.database.effective_url())
        return DaemonFileLock(path) if path is not None else None

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting now / nhận tín hiệu lần hai: thoát ngay")
            logging.shutdown()
            os._exit(128 + sig)
        log.info(
            "%s: stopping, draining up to %.0fs / đang dừng, chờ công việc đang chạy tối đa %.0f giây",
            signal.Signals(sig).name,
            self.settings.daemon.drain_s,
            self.settings.daemon.drain_s,
        )
        self.stop()

    async def _drain(self) -> None:
        """Stop scheduling, wait for running shops up to the drain budget, put back the rest, release leases."""
        self._stop_scheduler()
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        running = list(self._running.values())
        if running:
            log.info("waiting for %d running shop(s): %s", len(running), ", ".join(sorted(self._running)))
            _done, pending = await asyncio.wait(running, timeout=self.settings.daemon.drain_s)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("drain budget spent: %d run(s) interrupted, will resume on restart", len(pending))
                await asyncio.wait(pending, timeout=5)
        if self._leader is not None:
            await self._db(leases.release, self.engine, self._leader)
            self._leader = None
        log.info("daemon %s stopped cleanly / đã dừng", self.worker)

    # -- HTTP ---------------------------------------------------------------------------------

    def build_app(self) -> FastAPI:
        """The operator API and pages plus this daemon's health routes."""
        routers = [health_router(self), webhook_router(self.ctx, self.schedule_events), *self.options.extra_routers]
        app: FastAPI = build_api(self.ctx, extra_routers=routers, resync=self._on_resync_request)
        return app

    async def _start_http(self) -> None:
        host, port = self.settings.daemon.host, self.settings.daemon.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.build_app(), log_level="warning", lifespan="off", access_log=False)
        self._server = _QuietServer(config)
        self._http_task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http")
        log.info("HTTP on http://%s:%d (/healthz /readyz /metrics)", host, self.port)

    async def _stop_http(self) -> None:
        if self._server is not None and self._http_task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._http_task, timeout=5)
            self._server = None

    # -- leadership ---------------------------------------------------------------------------

    async def _leadership_loop(self) -> None:
        """Try to lead, or keep leading, every third of the lease."""
        ttl = self.settings.daemon.lease_s
        while not self._stopping.is_set():
            try:
                if self._leader is None:
                    lease = await self._db(
                        leases.try_acquire, self.engine, LEADER_LEASE, self.worker, now=self.now(), ttl_s=ttl
                    )
                    if lease is not None:
                        await self._become_leader(lease)
                elif not await self._db(leases.renew, self.engine, self._leader, now=self.now(), ttl_s=ttl):
                    self._step_down("lease renewal refused")
            except SQLAlchemyError as exc:
                log.warning("leader lease check failed (database): %s", type(exc).__name__)
            await self._sleep(ttl / 3)

    async def _become_leader(self, lease: Lease) -> None:
        self._leader = lease
        self.metrics.leader.set(1)
        self.metrics.leader_epoch.set(lease.epoch)
        self._catalog_seen = await self._db(scheduler.catalog_watermark, self.engine, self.now())
        plan = scheduler.plan_jobs(
            self.settings.scheduler,
            self.shop_ids,
            self,
            now=self.now(),
            reports=True,
            catalog_poll_s=self.options.catalog_poll_s,
        )
        self.omitted_jobs = plan.omitted
        self._scheduler = scheduler.build_scheduler(plan, deadline_s=self.settings.scheduler.job_deadline_s)
        self._scheduler.start()
        log.info(
            "leader now (epoch %d), %d jobs%s / trở thành leader",
            lease.epoch,
            len(plan.jobs),
            f"; left out: {'; '.join(plan.omitted)}" if plan.omitted else "",
        )
        await self._catch_up()

    def _step_down(self, why: str) -> None:
        if self._leader is not None:
            log.warning("no longer leader (epoch %d): %s / không còn là leader", self._leader.epoch, why)
        self._leader = None
        self.metrics.leader.set(0)
        self._stop_scheduler()

    def _stop_scheduler(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def _catch_up(self) -> None:
        """On taking the lead: one incremental tick now for every shop not synced within an interval."""
        status = await self._db(read_status, self.engine, self.settings, self.now())
        interval = timedelta(seconds=self.settings.scheduler.incremental_interval_s)
        for shop in status.shops:
            if shop.enabled and (shop.last_success_at is None or self.now() - shop.last_success_at > interval):
                await self.enqueue_incremental(shop.shop_id)

    async def _as_leader(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a fenced leader write; a stale lease makes this process step down instead."""
        leader = self._leader
        if leader is None or self._stopping.is_set():
            return None
        try:
            return await self._db(func, self.engine, leader, *args, **kwargs)
        except StaleLeaseError as exc:
            self._step_down(f"{what}: {exc}")
            return None

    # -- JobHost: what the leader's scheduled jobs do ----------------------------------------

    async def _on_resync_request(self, request_id: int) -> None:
        """The API recorded a resync request: dispatch it now rather than at the next poll (leader only)."""
        if self._leader is not None:
            await self.poll_requests()

    async def enqueue_incremental(self, shop_id: str) -> None:
        """Enqueue this interval's incremental tick for one shop."""
        tick = scheduler.incremental_tick(self.now(), self.settings.scheduler.incremental_interval_s)
        added = await self._as_leader(
            "enqueue",
            scheduler.enqueue_tick,
            shop_id=shop_id,
            tick=tick,
            kind=RunKind.INCREMENTAL.value,
            trigger=RunTrigger.SCHEDULE.value,
            now=self.now(),
        )
        if added:
            self._wake.set()

    async def enqueue_full(self, shop_id: str) -> None:
        """Enqueue the full resync tick of the current cron slot for one shop."""
        s = self.settings.scheduler
        tick = scheduler.full_tick(self.now(), s.full_cron, s.timezone, s.full_jitter_s, 3600)
        await self._as_leader(
            "enqueue",
            scheduler.enqueue_tick,
            shop_id=shop_id,
            tick=tick,
            kind=RunKind.FULL.value,
            trigger=RunTrigger.SCHEDULE.value,
            now=self.now(),
        )
        self._wake.set()

    async def poll_requests(self) -> None:
        """Turn manual resync requests into (coalesced) manual ticks."""
        ids = await self._as_leader("dispatch", dispatch_requests, self.shop_ids, now=self.now())
        if ids:
            log.info("manual resync request(s) %s dispatched / đã nhận yêu cầu đồng bộ lại", ids)
            self._wake.set()

    async def schedule_events(self) -> None:
        """Turn recorded marketplace events into targeted ticks now (leader only; others leave them pending)."""
        if self._leader is not None and await self._as_leader("events", drain_events, now=self.now()):
            self._wake.set()

    async def watch_catalog(self) -> None:
        """Catalog changed since last look: enqueue a catalog tick per shop for the changed SKUs."""
        if self._catalog_seen is None or self._leader is None:
            return
        await self.schedule_events()  # events recorded by another process, or while not leader
        skus, seen = await self._db(scheduler.changed_skus, self.engine, self._catalog_seen)
        if not skus:
            return
        tick = f"cat:{int(seen.timestamp() * 1000)}"
        for shop_id in self.shop_ids:
            await self._as_leader(
                "catalog",
                scheduler.enqueue_merged,
                shop_id=shop_id,
                tick=tick,
                kind=RunKind.INCREMENTAL.value,
                trigger=RunTrigger.CATALOG_CHANGE.value,
                now=self.now(),
                skus=skus,
            )
        self._catalog_seen = seen
        log.info("catalog change: %d SKU(s) → every shop / danh mục thay đổi: %s", len(skus), ", ".join(skus[:5]))
        self._wake.set()

    async def sweep(self) -> None:
        """Return stuck in-flight actions to pending and forget old finished ticks."""
        moved = await self._db(scheduler.sweep_stuck_actions, self.engine, self.now())
        if moved:
            self.metrics.swept.inc(moved)
            log.warning("sweeper: %d action(s) stuck in flight returned to pending", moved)
        await self._db(scheduler.forget_ticks, self.engine, self.now() - TICK_RETENTION)

    async def refresh_tokens(self) -> None:
        """Refresh each shop's marketplace token near expiry, under the shop lease (never during its sync)."""
        margin = timedelta(seconds=max(2 * self.settings.scheduler.token_check_interval_s, 3600))
        for shop_id in self.shop_ids:
            lease = await self._db(
                leases.try_acquire,
                self.engine,
                shop_lease(shop_id),
                self.worker,
                now=self.now(),
                ttl_s=self.settings.daemon.lease_s,
            )
            if lease is None:
                continue  # being synced right now; the next check gets it
            try:
                await refresh_shop_tokens(self.ctx, self.settings.shop(shop_id), self.vault, margin=margin)
            except Exception:  # run boundary: one shop's refresh must not stop the others
                log.exception("shop %s: token check failed", shop_id)
            finally:
                await self._db(leases.release, self.engine, lease)

    async def deliver_reports(self) -> None:
        """Send the daily producer reports through the reports module."""
        await asyncio.to_thread(deliver_producer_reports, self.ctx)

    # -- the worker -----------------------------------------------------------------------------

    async def _worker_loop(self) -> None:
        """Claim due ticks while there is capacity; run each as its own task."""
        while not self._stopping.is_set():
            free = self.options.concurrency - len(self._running)
            if free > 0:
                try:
                    claimed = await self._db(
                        scheduler.claim_ticks,
                        self.engine,
                        self.worker,
                        now=self.now(),
                        lease_s=self.settings.daemon.lease_s,
                        limit=free,
                        busy=set(self._running),
                    )
                except SQLAlchemyError as exc:
                    log.warning("claiming work failed (database): %s", type(exc).__name__)
                    claimed = []
                for tick in claimed:
                    if self._stopping.is_set():
                        await self._db(
                            scheduler.finish_tick, self.engine, tick, now=self.now(), outcome="", requeue=True
                        )
                        await self._db(leases.release, self.engine, tick.lease)
                        continue
                    task = asyncio.create_task(self._execute(tick), name=f"shop:{tick.shop_id}")
                    self._running[tick.shop_id] = task
                    task.add_done_callback(functools.partial(self._forget, tick.shop_id))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.options.claim_poll_s)

    def _forget(self, shop_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(shop_id, None)
        self._wake.set()

    async def _execute(self, tick: ClaimedTick) -> None:
        """Run one claimed tick under its shop lease, with the hard deadline; record how it ended."""
        assert self._run_shop is not None
        heartbeat = asyncio.create_task(self._tick_heartbeat(tick))
        started = asyncio.get_running_loop().time()
        outcome: str = TickOutcome.ERROR
        run_id, error, requeue = None, "", False
        try:
            async with asyncio.timeout(self.settings.scheduler.job_deadline_s):
                summary = await self._run_shop(
                    self.ctx,
                    tick.shop_id,
                    kind=RunKind(tick.kind),
                    trigger=RunTrigger(tick.trigger),
                    skus=tick.skus,
                    fence=lambda session: check_fence(session, tick.lease),
                    progress=lambda stage, done, total: self._note_progress(tick.shop_id, stage, done, total),
                    worker=self.worker,
                )
            outcome, run_id, error = summary.outcome.value, summary.run_id, summary.error
            self.metrics.record_run(summary)
            self._log_run(tick, summary, asyncio.get_running_loop().time() - started)
        except TimeoutError:
            outcome, error = TickOutcome.DEADLINE, f"exceeded job_deadline_s={self.settings.scheduler.job_deadline_s:g}"
            self.metrics.tick_errors.labels("deadline").inc()
            log.error("shop %s: run cancelled at its deadline (%s)", tick.shop_id, error)
        except StaleLeaseError as exc:
            outcome, error = TickOutcome.STALE, str(exc)
            log.warning("shop %s: lost the shop lease mid-run; writes refused: %s", tick.shop_id, exc)
        except asyncio.CancelledError:
            requeue = True
            raise
        except Exception as exc:  # run boundary: one shop's crash must not stop the daemon
            outcome, error = TickOutcome.ERROR, f"{type(exc).__name__}: {exc}"
            self.metrics.tick_errors.labels("error").inc()
            log.exception("shop %s: run crashed", tick.shop_id)
        finally:
            heartbeat.cancel()
            self._progress.pop(tick.shop_id, None)
            await asyncio.shield(self._settle(tick, outcome, run_id, error, requeue))

    async def _settle(self, tick: ClaimedTick, outcome: str, run_id: int | None, error: str, requeue: bool) -> None:
        try:
            await self._db(
                scheduler.finish_tick,
                self.engine,
                tick,
                now=self.now(),
                outcome=outcome,
                run_id=run_id,
                error=error,
                requeue=requeue,
            )
            await self._db(leases.release, self.engine, tick.lease)
        except SQLAlchemyError as exc:
            log.warning(
                "shop %s: could not record the tick's end (%s); its lease will expire", tick.shop_id, type(exc).__name__
            )

    async def _tick_heartbeat(self, tick: ClaimedTick) -> None:
        ttl = self.settings.daemon.lease_s
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                if not await self._db(scheduler.heartbeat_tick, self.engine, tick, now=self.now(), lease_s=ttl):
                    log.warning("shop %s: lease taken over by another worker", tick.shop_id)
                    return
            except SQLAlchemyError as exc:
                log.warning("shop %s: heartbeat failed (%s)", tick.shop_id, type(exc).__name__)

    def _note_progress(self, shop_id: str, stage: str, done: int, total: int) -> None:
        self._progress[shop_id] = f"{stage} {done}/{total}"

    def _log_run(self, tick: ClaimedTick, s: RunSummary, seconds: float) -> None:
        c = s.counters
        log.info(
            "%s %s/%s → %s in %.1fs: reads %d, writes %d, created %d, updated %d, deactivated %d, "
            "failed %d, dead %d, drift +%d/-%d, sales %d%s",
            s.shop_id,
            s.kind.value,
            s.trigger.value,
            s.outcome.value,
            seconds,
            c.reads,
            c.writes,
            c.created,
            c.updated,
            c.deactivated,
            c.failed,
            c.dead,
            c.drift_opened,
            c.drift_closed,
            c.sales_recorded,
            f" ({s.error})" if s.error else "",
        )

    # -- demo ---------------------------------------------------------------------------------

    async def _buyers_loop(self) -> None:
        """Demo: one simulated buyer per sandbox shop every few seconds."""
        shops = [s for s in self.settings.shops if s.enabled and s.base_url == "sandbox"]
        while not self._stopping.is_set():
            await self._sleep(self.options.demo_buyers_every_s)
            for shop in shops:
                sandbox = self.ctx.sandbox_hub.for_marketplace(shop.marketplace, list(self.settings.shops))
                orders = sandbox.simulate_buyers(shop.seller_id, 1)
                if orders:
                    log.info("demo: a buyer ordered on %s (%s)", shop.id, ", ".join(orders))

    # -- helpers --------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The app clock."""
        return self.ctx.clock()

    async def _db(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking store call off the event loop."""
        return await asyncio.to_thread(func, *args, **kwargs)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def fence_for(lease: Lease) -> Callable[[Session], None]:
    """The `fence(session)` callback for a write made under `lease`."""

    def fence(session: Session) -> None:
        check_fence(session, lease)

    return fence


def run_daemon(ctx: AppContext, *, run_shop: RunShop | None = None, options: DaemonOptions | None = None) -> int:
    """Run a daemon in this process until stopped; the exit code (3 when another owns the SQLite file)."""
    from connector.store.leases import DaemonAlreadyRunning

    daemon = Daemon(ctx, run_shop=run_shop, options=options)
    try:
        return asyncio.run(daemon.serve())
    except DaemonAlreadyRunning as exc:
        log.error("%s", exc)
        return EXIT_ALREADY_RUNNING
    except OSError as exc:
        log.error("daemon could not start / không khởi động được: %s", exc)
        return EXIT_STARTUP_FAILED
