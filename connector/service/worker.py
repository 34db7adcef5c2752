"""The worker: claim due ticks, run each one's shop under its lease with a heartbeat, record how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable

from connector.service import ticks
from connector.service.collector import Collector
from connector.service.resync import RunShop
from connector.service.runner import EngineLoop
from connector.service.runtime import Runtime
from connector.service.supervise import TRANSIENT, backoff_s, supervised
from connector.service.ticks import ClaimedTick
from connector.store import leases
from connector.store.leases import StaleLeaseError
from connector.store.states import TickOutcome
from schemas.sync import RunKind, RunSummary, RunTrigger

log = logging.getLogger("ocop_sync.daemon")

SETTLE_ATTEMPTS = 3


class Worker:
    """Claims ticks while it has capacity and runs each as its own task (one shop at a time per shop)."""

    def __init__(self, rt: Runtime, run_shop: RunShop, *, concurrency: int, claim_poll_s: float) -> None:
        self.rt = rt
        self.run_shop = run_shop
        self.engine_loop: EngineLoop | None = None  # when set, runs happen there, off the daemon's loop
        self.collector = Collector()  # full garbage collections between runs (installed by the daemon)
        self.concurrency = concurrency
        self.claim_poll_s = claim_poll_s
        self.running: dict[str, asyncio.Task[None]] = {}
        self.progress: dict[str, str] = {}
        self.after_sales: Callable[[], None] | None = None  # a run recorded sales: carry them on now

    async def loop(self) -> None:
        """Claim due ticks while there is capacity; run each as its own task (supervised: see `supervise`)."""
        rt = self.rt
        await supervised(
            "worker", self._pass, stopping=rt.stopping.is_set, pause=self._wait_for_work, health=rt.health, cap_s=5.0
        )

    async def _pass(self) -> float:
        """One claim pass (after a full garbage collection if this is a quiet moment); the longest pause."""
        spent = self.collector.tick(idle=not self.running)
        if spent is not None and spent > 0.05:
            log.debug("full garbage collection between runs took %.0f ms", spent * 1000)
        free = self.concurrency - len(self.running)
        if free > 0:
            for tick in await self._claim(free):
                if self.rt.stopping.is_set():
                    await self._give_back(tick)
                    continue
                task = asyncio.create_task(self._execute(tick), name=f"shop:{tick.shop_id}")
                self.running[tick.shop_id] = task
                task.add_done_callback(functools.partial(self._forget, tick.shop_id))
        return self.claim_poll_s

    async def _wait_for_work(self, seconds: float) -> None:
        """Pause up to `seconds`, less when work is enqueued or a running shop ends."""
        self.rt.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.rt.wake.wait(), timeout=seconds)

    async def _claim(self, free: int) -> list[ClaimedTick]:
        """Claim up to `free` ticks. Cancelled mid-claim, the claim (already committing in its thread)
        is awaited and given back, so a stopping worker never leaves a tick claimed under its name."""
        rt = self.rt
        claiming = asyncio.ensure_future(
            rt.db(
                ticks.claim_ticks,
                rt.engine,
                rt.worker,
                now=rt.now(),
                lease_s=rt.settings.daemon.lease_s,
                limit=free,
                busy=set(self.running),
            )
        )
        try:
            claimed: list[ClaimedTick] = await asyncio.shield(claiming)
        except asyncio.CancelledError:
            with contextlib.suppress(*TRANSIENT):
                for tick in await claiming:
                    await self._give_back(tick)
            raise
        return claimed

    async def _give_back(self, tick: ClaimedTick) -> None:
        """Put a claimed tick back unrun and release its shop lease."""
        rt = self.rt
        await rt.db(ticks.finish_tick, rt.engine, tick, now=rt.now(), outcome="", requeue=True)
        await rt.db(leases.release, rt.engine, tick.lease)

    async def drain(self, budget_s: float) -> None:
        """Wait for running shops up to `budget_s`; cancel (and so put back) the rest."""
        running = list(self.running.values())
        if not running:
            return
        log.info("waiting for %d running shop(s): %s", len(running), ", ".join(sorted(self.running)))
        _done, pending = await asyncio.wait(running, timeout=budget_s)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("drain budget spent: %d run(s) interrupted, will resume on restart", len(pending))
            await asyncio.wait(pending, timeout=5)

    def _forget(self, shop_id: str, _task: asyncio.Task[None]) -> None:
        self.running.pop(shop_id, None)
        self.collector.ran()
        self.rt.wake.set()

    async def _execute(self, tick: ClaimedTick) -> None:
        """Run one claimed tick under its shop lease, with the hard deadline; record how it ended."""
        rt = self.rt
        deadline_s = rt.settings.scheduler.job_deadline_s
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(tick, lost, asyncio.current_task()))
        http = rt.settings.http
        fence = leases.LeaseFence(
            rt.engine,
            tick.lease,
            rt.now,
            ttl_s=rt.settings.daemon.lease_s,
            call_s=http.connect_timeout_s + 3 * http.timeout_s,  # pool + connect + write + read: the longest call
        )
        started = asyncio.get_running_loop().time()
        outcome: str = TickOutcome.ERROR
        run_id, error, requeue = None, "", False
        try:
            async with asyncio.timeout(deadline_s):
                run = self.run_shop(
                    rt.ctx,
                    tick.shop_id,
                    kind=RunKind(tick.kind),
                    trigger=RunTrigger(tick.trigger),
                    skus=tick.skus,
                    fence=fence,
                    progress=lambda stage, done, total: self._note_progress(tick.shop_id, stage, done, total),
                    worker=rt.worker,
                )
                summary = await (self.engine_loop.run(run) if self.engine_loop is not None else run)
            outcome, run_id, error = summary.outcome.value, summary.run_id, summary.error
            if summary.counters.sales_recorded and self.after_sales is not None:
                self.after_sales()
            rt.metrics.record_run(summary)
            self._log_run(summary, asyncio.get_running_loop().time() - started)
        except TimeoutError:
            outcome, error = TickOutcome.DEADLINE, f"exceeded job_deadline_s={deadline_s:g}"
            rt.metrics.tick_errors.labels("deadline").inc()
            log.error("shop %s: run cancelled at its deadline (%s)", tick.shop_id, error)
        except StaleLeaseError as exc:
            outcome, error = TickOutcome.STALE, str(exc)
            log.warning("shop %s: lost the shop lease mid-run; writes refused: %s", tick.shop_id, exc)
        except asyncio.CancelledError:
            if not lost.is_set():
                requeue = True
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            outcome, error = TickOutcome.STALE, "shop lease lost: run cancelled by the heartbeat"
            log.warning("shop %s: lost the shop lease mid-run; run cancelled", tick.shop_id)
        except Exception as exc:  # noqa: BLE001  # run boundary: logged (rate-limited); must not stop the daemon
            outcome, error = TickOutcome.ERROR, f"{type(exc).__name__}: {exc}"
            rt.metrics.tick_errors.labels("error").inc()
            rt.noise.failure(
                f"run:{tick.shop_id}", "shop %s: run crashed", tick.shop_id, level=logging.ERROR, exc_info=True
            )
        finally:
            heartbeat.cancel()
            self.progress.pop(tick.shop_id, None)
            await asyncio.shield(self._settle(tick, outcome, run_id, error, requeue))

    async def _settle(self, tick: ClaimedTick, outcome: str, run_id: int | None, error: str, requeue: bool) -> None:
        """Record the tick's end and release the shop lease, retrying a few times through a database hiccup.

        If it still cannot, the tick stays claimed under this worker's name: this worker's next claim
        pass takes it back at once (`claim_ticks` reclaims a worker's own idle claims), any other
        worker once the claim expires, and the sweeper closes the run row as interrupted.
        """
        rt = self.rt
        for attempt in range(1, SETTLE_ATTEMPTS + 1):
            try:
                await rt.db(
                    ticks.finish_tick,
                    rt.engine,
                    tick,
                    now=rt.now(),
                    outcome=outcome,
                    run_id=run_id,
                    error=error,
                    requeue=requeue,
                )
                await rt.db(leases.release, rt.engine, tick.lease)
                return
            except TRANSIENT as exc:
                rt.noise.failure(
                    f"settle:{tick.shop_id}",
                    "shop %s: could not record the tick's end (%s), attempt %d/%d",
                    tick.shop_id,
                    type(exc).__name__,
                    attempt,
                    SETTLE_ATTEMPTS,
                )
                if attempt < SETTLE_ATTEMPTS:
                    await asyncio.sleep(backoff_s(attempt))

    async def _heartbeat(self, tick: ClaimedTick, lost: asyncio.Event, run: asyncio.Task[None] | None) -> None:
        """Renew the shop lease; when it was taken over, or could not be renewed for a whole lease, cancel the run."""
        rt = self.rt
        ttl = rt.settings.daemon.lease_s
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                if not await rt.db(ticks.heartbeat_tick, rt.engine, tick, now=rt.now(), lease_s=ttl):
                    log.warning("shop %s: lease taken over by another worker; cancelling the run", tick.shop_id)
                    break
                renewed = loop.time()
            except TRANSIENT as exc:
                rt.noise.failure(
                    f"heartbeat:{tick.shop_id}", "shop %s: heartbeat failed (%s)", tick.shop_id, type(exc).__name__
                )
                if loop.time() - renewed >= ttl:
                    log.warning("shop %s: lease not renewed for %.0fs; cancelling the run", tick.shop_id, ttl)
                    break
            else:
                rt.noise.recovered(f"heartbeat:{tick.shop_id}", "shop %s: heartbeat works again", tick.shop_id)
        lost.set()
        if run is not None:
            run.cancel()

    def _note_progress(self, shop_id: str, stage: str, done: int, total: int) -> None:
        self.progress[shop_id] = f"{stage} {done}/{total}"

    def _log_run(self, s: RunSummary, seconds: float) -> None:
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
