"""The long-running service (`ocop-sync run`): lifecycle, HTTP, signals and a bounded graceful stop.

Every daemon process is a *worker* (`connector.service.worker`): it claims due ticks (one shop
each) under the shop's lease and runs the engine's `sync_shop` with a fence that re-checks that
lease inside every write transaction. One process at a time is also the *leader*
(`connector.service.leader`): it holds the `scheduler` lease (epoch-fenced) and runs the
APScheduler jobs (`connector.service.jobs`) that enqueue ticks, dispatch manual resync requests,
watch the catalog, sweep stuck work and refresh tokens. On SQLite an OS file lock makes the
daemon the only one; on PostgreSQL any number can run.

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

import uvicorn
from fastapi import APIRouter, FastAPI
from sqlmodel import Session

from connector.context import AppContext
from connector.service.health import health_router
from connector.service.leader import Leadership
from connector.service.resync import RunShop, engine_run_shop
from connector.service.runner import EngineLoop
from connector.service.runtime import Runtime, worker_name
from connector.service.webhooks import webhook_router
from connector.service.worker import Worker
from connector.store import leases
from connector.store.leases import LEADER_LEASE, DaemonAlreadyRunning, DaemonFileLock, Lease, check_fence, shop_lease
from connector.web.app import build_api
from connector.web.binding import PublicBindError, check_bind

log = logging.getLogger("ocop_sync.daemon")

EXIT_OK = 0
EXIT_ALREADY_RUNNING = 3
EXIT_STARTUP_FAILED = 4
EXIT_LOOP_FAILED = 5

__all__ = ["Daemon", "DaemonOptions", "fence_for", "run_daemon", "worker_name"]


@dataclass(frozen=True)
class DaemonOptions:
    """How this daemon process runs, beyond settings (mostly for the demo and tests)."""

    concurrency: int = 4
    claim_poll_s: float = 0.5
    catalog_poll_s: float = 1.0
    feed_poll_s: float = 2.0  # marketplace event queues (Tiki) are pulled this often by the leader
    serve_http: bool = True
    demo_buyers_every_s: float = 0.0  # > 0: demo mode, simulated buyers on every sandbox shop
    log_interval_s: float = 30.0  # a failing loop, job or shop logs at most one line per interval
    # run shops on their own event loop thread, off the HTTP/scheduler loop (SQLite and PostgreSQL)
    engine_thread: bool = True
    # no automatic full garbage collection while runs go on (see connector.service.collector)
    quiet_collector: bool = True
    extra_routers: Sequence[APIRouter] = field(default=())


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
        leases.harden_postgres(ctx.engine, ctx.settings.daemon.lease_s)
        self.ctx = ctx
        self.settings = ctx.settings
        self.engine = ctx.engine
        self.options = options or DaemonOptions()
        self.rt = Runtime(ctx, log_interval_s=self.options.log_interval_s)
        self.worker = self.rt.worker
        self.metrics = self.rt.metrics
        self.shop_ids = self.rt.shop_ids
        self.leadership = Leadership(
            self.rt, catalog_poll_s=self.options.catalog_poll_s, feed_poll_s=self.options.feed_poll_s
        )
        self.workers = Worker(
            self.rt,
            run_shop or engine_run_shop(),
            concurrency=self.options.concurrency,
            claim_poll_s=self.options.claim_poll_s,
        )
        self.workers.after_sales = functools.partial(self.leadership.nudge, "catalog-watch")
        self._loops: list[asyncio.Task[None]] = []
        self._signals = 0
        self._server: _QuietServer | None = None
        self._http_task: asyncio.Task[None] | None = None
        self.port: int | None = None
        self.exit_code = EXIT_OK

    # -- what health and tests read ---------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True while this process holds the scheduler lease."""
        return self.leadership.lease is not None

    def scheduler_running(self) -> bool:
        """Ready: not stopping, every loop alive and none failing, and (as leader) APScheduler runs."""
        if self.rt.stopping.is_set() or not self._loops or any(t.done() for t in self._loops):
            return False
        if self.rt.health.failing():
            return False
        scheduler = self.leadership.scheduler
        return scheduler is None or bool(scheduler.running)

    def describe(self) -> dict[str, object]:
        """Worker name, leadership and what runs now."""
        return {
            "worker": self.worker,
            "leader": self.is_leader,
            "running": sorted(self.workers.running),
            "progress": dict(self.workers.progress),
            "failing": self.rt.health.failing(),
        }

    # -- lifecycle --------------------------------------------------------------------------

    async def serve(self) -> int:
        """Run until stopped by a signal (or `stop()`); the process exit code."""
        file_lock = self._file_lock()
        if file_lock is not None:
            file_lock.acquire()  # raises DaemonAlreadyRunning
        if self.options.quiet_collector:
            self.workers.collector.install()  # its one full collection happens before anything is served
        try:
            await self.rt.db(leases.ensure_rows, self.engine, [LEADER_LEASE, *map(shop_lease, self.shop_ids)])
            if self.options.engine_thread:
                self.workers.engine_loop = EngineLoop()
            self._install_signals()
            if self.options.serve_http:
                await self._start_http()
            self._loops = [
                asyncio.create_task(self.leadership.loop(), name="leadership"),
                asyncio.create_task(self.workers.loop(), name="worker"),
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
            await self._until_stopped_or_a_loop_ends()
            await self._drain()
            return self.exit_code
        finally:
            await self._stop_http()
            self.workers.collector.uninstall()
            if self.workers.engine_loop is not None:
                await asyncio.to_thread(self.workers.engine_loop.close)
                self.workers.engine_loop = None
            if file_lock is not None:
                file_lock.release()

    async def _until_stopped_or_a_loop_ends(self) -> None:
        """Wait for a stop; a loop that ends on its own (it failed) stops the daemon with a non-zero exit."""
        stopped = asyncio.create_task(self.rt.stopping.wait(), name="stopped")
        await asyncio.wait([stopped, *self._loops], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if self.rt.stopping.is_set():
            return
        for task in self._loops:
            if task.done():
                why = repr(task.exception()) if not task.cancelled() and task.exception() else "ended"
                log.error("the %s loop stopped (%s): exiting with code %d", task.get_name(), why, EXIT_LOOP_FAILED)
        self.exit_code = EXIT_LOOP_FAILED
        self.stop()

    def stop(self) -> None:
        """Begin a graceful stop (what the first SIGTERM/SIGINT does)."""
        self.rt.stopping.set()
        self.rt.wake.set()

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
        self.leadership.stop_scheduler()
        # the loops see `stopping` and end on their own (a claim in progress completes and is put back);
        # cancel only what has not ended within a few seconds
        _ended, lingering = await asyncio.wait(self._loops, timeout=5) if self._loops else (set(), set())
        for task in lingering:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        await self.workers.drain(self.settings.daemon.drain_s)
        await self.leadership.release()
        await self.leadership.jobs.feeds.close()
        log.info("daemon %s stopped cleanly / đã dừng", self.worker)

    # -- HTTP ---------------------------------------------------------------------------------

    def build_app(self) -> FastAPI:
        """The operator API and pages plus this daemon's health routes."""
        schedule = self.leadership.jobs.schedule_events
        routers = [health_router(self), webhook_router(self.ctx, schedule), *self.options.extra_routers]
        app: FastAPI = build_api(self.ctx, extra_routers=routers, resync=self.leadership.on_resync_request)
        return app

    async def _start_http(self) -> None:
        host, port = self.settings.daemon.host, self.settings.daemon.port
        check_bind(host, self.settings.web)  # a public address needs web.allow_public_bind (and TLS in front)
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

    # -- demo ---------------------------------------------------------------------------------

    async def _buyers_loop(self) -> None:
        """Demo: one simulated buyer per sandbox shop every few seconds."""
        shops = [s for s in self.settings.shops if s.enabled and s.base_url == "sandbox"]
        while not self.rt.stopping.is_set():
            await self.rt.sleep(self.options.demo_buyers_every_s)
            for shop in shops:
                sandbox = self.ctx.sandbox_hub.for_marketplace(shop.marketplace, list(self.settings.shops))
                orders = sandbox.simulate_buyers(shop.seller_id, 1)
                if orders:
                    log.info("demo: a buyer ordered on %s (%s)", shop.id, ", ".join(orders))


def fence_for(lease: Lease) -> Callable[[Session], None]:
    """The `fence(session)` callback for a write made under `lease`."""

    def fence(session: Session) -> None:
        check_fence(session, lease)

    return fence


def run_daemon(ctx: AppContext, *, run_shop: RunShop | None = None, options: DaemonOptions | None = None) -> int:
    """Run a daemon in this process until stopped; the exit code (3 when another owns the SQLite file)."""
    daemon = Daemon(ctx, run_shop=run_shop, options=options)
    try:
        return asyncio.run(daemon.serve())
    except DaemonAlreadyRunning as exc:
        log.error("%s", exc)
        return EXIT_ALREADY_RUNNING
    except (OSError, PublicBindError) as exc:
        log.error("daemon could not start / không khởi động được: %s", exc)
        return EXIT_STARTUP_FAILED
