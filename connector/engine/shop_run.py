"""One shop's run, stage by stage: start -> observe -> pull sales -> plan -> persist -> apply -> verify -> finish.

`run_shop` is the run boundary: the only place that turns any failure of a shop's run into
a recorded outcome (`sync_run` row, `shop.last_error`) instead of an exception, so one shop's
failure never stops the others. Cancellation is recorded as interrupted and re-raised.
Every write transaction calls `fence(session)` first (the daemon passes a lease check).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlmodel import Session, select

from adapters.errors import AdapterError, ConfigError
from connector.context import AppContext
from connector.engine.apply import Applier, PendingAction
from connector.engine.categories import run_requirements
from connector.engine.outbox import pending_actions, persist_plan, sync_drift
from connector.engine.plan import BindingView, PlanPolicy, plan_shop
from connector.engine.preflight import shop_preflight
from connector.engine.sales import SalesPolicy, SalesResult, pull_sales
from connector.engine.scope import Observation, max_updated, observe
from connector.engine.shop import Fence, OpenShop, Progress
from connector.engine.state import CatalogCache, Run, read_state, record_read
from connector.engine.tokens import TokenVault, save_tokens
from connector.engine.verify import reread, silent_failures
from connector.store import read_only, session_scope
from connector.store.models import ShopRow, SyncRunRow
from schemas.sync import ActionKind, Plan, RunKind, RunOutcome, RunSummary, RunTrigger

__all__ = ["policy", "pull", "run_shop"]

log = logging.getLogger("ocop_sync.sync")


def policy(run: Run, obs: Observation, bindings: dict[str, BindingView]) -> PlanPolicy:
    """The planning policy of this run: guard ratio, force, scope and the shop's review behaviour."""
    caps = type(run.shop.adapter).capabilities
    return PlanPolicy(
        max_deactivate_ratio=run.ctx.settings.sync.max_deactivate_ratio,
        force=run.force,
        full_observation=obs.full,
        scope=obs.scope,
        shop_size=sum(1 for b in bindings.values() if b.bound),
        reviewed_content_updates=caps.reviewed_content_updates,
        preflight=shop_preflight(caps.content_rules, run.shop.settings.options, run.required_by_set),
    )


def _start_run(
    ctx: AppContext, shop: OpenShop, kind: RunKind, trigger: RunTrigger, worker: str, fence: Fence | None
) -> tuple[int, datetime]:
    started = ctx.clock()
    with session_scope(ctx.engine) as session:
        if fence is not None:
            fence(session)
            # We hold the shop now: a run still marked running belongs to a holder that lost the lease.
            for stale in session.exec(
                select(SyncRunRow).where(SyncRunRow.shop_id == shop.settings.id, SyncRunRow.outcome == "running")
            ):
                stale.outcome, stale.finished_at = RunOutcome.INTERRUPTED.value, started
                stale.error = (stale.error or "shop lease lost; closed by the next holder")[:1000]
                session.add(stale)
        row = SyncRunRow(
            shop_id=shop.settings.id,
            marketplace=shop.settings.marketplace,
            kind=kind.value,
            trigger=trigger.value,
            worker=worker,
            started_at=started,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id, started


async def _reconcile(run: Run, skus: Collection[str] | None) -> tuple[RunOutcome, Observation]:
    run.required_by_set = await run_requirements(run.ctx, run.shop.settings, run.shop.adapter)
    desired, bindings, snapshot = read_state(run)
    obs = await observe(run, desired, bindings, snapshot, skus)
    # Every sale the listing read already reflects must lower canonical stock before desired
    # stock is recomputed below; otherwise the plan would push pre-sale stock back (oversell).
    late = await pull(run.ctx, run.shop, run.fence)
    run.counters.sales_recorded += late.recorded if late is not None else 0
    desired_skus = {d.seller_sku for d in desired}
    run.counters.skus_covered = len(obs.scope) if obs.scope is not None else len(desired_skus | set(obs.observed))
    record_read(run, obs.fresh, desired_skus)  # bind what the reads found before planning against the bindings
    desired, bindings, _ = read_state(run, snapshot=False)
    plan = plan_shop(run.shop.settings.id, desired, obs.observed, bindings, policy(run, obs, bindings))
    run.note("plan", len(plan.actions), len(plan.actions))
    with run.tx() as session:
        persisted = persist_plan(
            session, run.run_id, run.shop.settings.id, plan.actions, plan.drifts, obs.scope, run.ctx.clock()
        )
        _save_counters(session, run)
    run.counters.drift_opened += persisted.drift_opened
    run.counters.drift_closed += persisted.drift_closed
    if plan.guard_blocked:
        return RunOutcome.BLOCKED, obs
    with Session(read_only(run.ctx.engine)) as session:
        todo = [PendingAction.of(r) for r in pending_actions(session, persisted.pending_ids)]
    applier = Applier(
        run.ctx.engine, run.shop.settings.id, run.shop.adapter, run.shop.calls, run.ctx.clock, run.fence, run.progress
    )
    outcome = await applier.run(todo)
    run.counters.created, run.counters.updated = outcome.created, outcome.updated
    run.counters.deactivated, run.counters.reactivated = outcome.deactivated, outcome.reactivated
    run.counters.failed, run.counters.dead = outcome.failed, outcome.dead + persisted.dead
    final = await _verify(run, obs, outcome.done, desired_skus)
    if run.counters.dead:
        return RunOutcome.DEAD_ACTIONS, obs
    if run.counters.failed or run.counters.silent_failures or final.actions:
        return RunOutcome.PARTIAL, obs
    return RunOutcome.CONVERGED, obs


async def _verify(run: Run, obs: Observation, done: dict[str, set[ActionKind]], desired_skus: set[str]) -> Plan:
    since = max_updated(obs.observed.values(), None) or run.started_at - timedelta(minutes=1)
    run.note("verify", 0, len(done))
    unknown: set[str] = set()
    reread_now = await reread(run.shop.calls, run.shop.adapter, done, since, unknown)
    run.note("verify", len(done), len(done))
    record_read(run, reread_now, desired_skus)
    observed = dict(obs.observed)
    for sku, listing in reread_now.items():
        if listing is None:
            observed.pop(sku, None)
        else:
            observed[sku] = listing
    desired, bindings, _ = read_state(run, snapshot=False)
    final = plan_shop(run.shop.settings.id, desired, observed, bindings, policy(run, obs, bindings))
    silent = {(sku, kind) for sku, kind in silent_failures(done, final.drifts) if sku not in unknown}
    run.counters.silent_failures = len({sku for sku, _ in silent})
    with run.tx() as session:
        opened, closed = sync_drift(session, run.shop.settings.id, final.drifts, obs.scope, run.ctx.clock(), silent)
    run.counters.drift_opened += opened
    run.counters.drift_closed += closed
    obs.observed = observed
    return final


def _save_counters(session: Session, run: Run) -> None:
    counts = run.shop.calls.counts
    run.counters.reads, run.counters.writes = counts.reads, counts.writes
    run.counters.retries, run.counters.throttle_waits = counts.retries, counts.throttle_waits
    row = session.get(SyncRunRow, run.run_id)
    if row is not None:
        row.counters = run.counters.model_dump()
        session.add(row)


def _finish(run: Run, outcome: RunOutcome, error: str, obs: Observation | None) -> RunSummary:
    finished = run.ctx.clock()
    with run.tx() as session:
        _save_counters(session, run)
        row = session.get(SyncRunRow, run.run_id)
        assert row is not None
        row.finished_at, row.outcome, row.error = finished, outcome.value, error[:1000]
        session.add(row)
        shop = session.get(ShopRow, run.shop.settings.id)
        assert shop is not None
        _finish_shop(shop, run, outcome, error, obs, finished)
        session.add(shop)
        _store_tokens(session, run, finished)
    return RunSummary(
        run_id=run.run_id,
        shop_id=run.shop.settings.id,
        marketplace=run.shop.settings.marketplace,
        kind=run.kind,
        trigger=RunTrigger(row.trigger),
        started_at=run.started_at,
        finished_at=finished,
        outcome=outcome,
        error=error,
        counters=run.counters,
    )


def _finish_shop(
    shop: ShopRow, run: Run, outcome: RunOutcome, error: str, obs: Observation | None, now: datetime
) -> None:
    info = run.shop.adapter.token_info()
    shop.token_expires_at = info.access_expires_at or shop.token_expires_at
    shop.refresh_expires_at = info.refresh_expires_at or shop.refresh_expires_at
    shop.last_error = error[:1000]
    if outcome in (RunOutcome.FAILED, RunOutcome.INTERRUPTED, RunOutcome.BLOCKED):
        return
    shop.last_success_at = now
    if obs is not None:  # watermarks move only after the run's writes committed
        shop.listings_watermark = obs.listings_mark or shop.listings_watermark
        if obs.catalog_mark is not None:
            shop.catalog_position = obs.catalog_mark


def _store_tokens(session: Session, run: Run, now: datetime) -> None:
    if not run.shop.calls.counts.refreshes:
        return
    vault = TokenVault.from_env()
    tokens = run.shop.adapter.export_tokens()
    if vault is not None and tokens:
        save_tokens(session, vault, run.shop.settings.id, tokens, now)


async def run_shop(
    ctx: AppContext,
    shop: OpenShop,
    *,
    kind: RunKind,
    trigger: RunTrigger,
    force: bool,
    skus: Collection[str] | None,
    fence: Fence | None,
    progress: Progress | None,
    worker: str,
    sales: SalesResult | None,
    catalog: CatalogCache | None = None,
) -> RunSummary:
    """Run one opened shop once and record the run; never raises for the shop's own failure."""
    run_id, started = _start_run(ctx, shop, kind, trigger, worker, fence)
    run = Run(ctx, shop, run_id, kind, force, fence, progress, started, catalog=catalog or CatalogCache())
    obs: Observation | None = None
    try:
        run.counters.sales_recorded = sales.recorded if sales is not None else 0
        outcome, obs = await _reconcile(run, skus)
        return _finish(run, outcome, "", obs)
    except asyncio.CancelledError:
        _finish(run, RunOutcome.INTERRUPTED, "cancelled", None)
        raise
    except (AdapterError, ConfigError) as exc:
        log.warning("shop %s: run failed: %s", shop.settings.id, exc)
        return _finish(run, RunOutcome.FAILED, f"{type(exc).__name__}: {exc}", None)
    except Exception as exc:  # the documented run boundary: record it, never crash the other shops
        log.exception("shop %s: run failed unexpectedly", shop.settings.id)
        return _finish(run, RunOutcome.FAILED, f"{type(exc).__name__}: {exc}", None)


async def pull(ctx: AppContext, shop: OpenShop, fence: Fence | None) -> SalesResult | None:
    """Pull the shop's new orders into canonical stock (None when the marketplace has no order API)."""
    if not type(shop.adapter).capabilities.orders:
        return None
    policy = SalesPolicy(restock_on_return=shop.settings.restock_on_return)
    return await pull_sales(ctx.engine, shop.settings.id, shop.adapter, shop.calls, ctx.clock, fence, policy)
