"""The dry run: the plan a run would carry out now, computed from real reads, with nothing written.

Only the shop's own row is mirrored from settings (as any run does first); no binding,
action, drift or run row is written and no marketplace write is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from connector.context import AppContext
from connector.engine.categories import run_requirements
from connector.engine.plan import BindingView, plan_shop
from connector.engine.scope import Observation, observe
from connector.engine.shop import open_shop
from connector.engine.shop_run import policy
from connector.engine.state import Run, read_state
from schemas.sync import Plan, RunKind, RunOutcome, RunSummary, RunTrigger

__all__ = ["dry_run_summary", "plan_for_shop", "plan_for_shop_async"]


async def dry_run_summary(
    ctx: AppContext, shop_id: str, *, kind: RunKind, trigger: RunTrigger, force: bool, skus: Collection[str] | None
) -> RunSummary:
    """A summary of what a run would do now (run id 0): converged, partial (work to do) or blocked."""
    started = ctx.clock()
    plan = await plan_for_shop_async(ctx, shop_id, kind=kind, force=force, skus=skus)
    settings = ctx.settings.shop(shop_id)
    outcome = (
        RunOutcome.BLOCKED if plan.guard_blocked else RunOutcome.CONVERGED if not plan.actions else RunOutcome.PARTIAL
    )
    return RunSummary(
        run_id=0,
        shop_id=shop_id,
        marketplace=settings.marketplace,
        kind=kind,
        trigger=trigger,
        started_at=started,
        finished_at=ctx.clock(),
        outcome=outcome,
        error=plan.guard_blocked,
    )


async def plan_for_shop_async(
    ctx: AppContext,
    shop_id: str,
    *,
    kind: RunKind = RunKind.FULL,
    force: bool = False,
    skus: Collection[str] | None = None,
) -> Plan:
    """The plan a run would carry out now, without writing anything (reads the marketplace)."""
    shop = open_shop(ctx, shop_id, None)
    try:
        run = Run(ctx, shop, 0, kind, force, None, None, ctx.clock())
        run.required_by_set = await run_requirements(ctx, shop.settings, shop.adapter)
        desired, bindings, snapshot = read_state(run)
        obs = await observe(run, desired, bindings, snapshot, skus)
        views = _dry_bindings(bindings, obs, {d.seller_sku for d in desired})
        return plan_shop(shop_id, desired, obs.observed, views, policy(run, obs, views))
    finally:
        await shop.http.aclose()


def _dry_bindings(bindings: dict[str, BindingView], obs: Observation, desired_skus: set[str]) -> dict[str, BindingView]:
    """Bindings as a real run would have them after binding what the reads found (nothing is written)."""
    views = dict(bindings)
    for sku, listing in obs.fresh.items():
        if listing is None or (sku not in views and sku not in desired_skus):
            continue
        ref = listing.ref
        base = views.get(sku, BindingView(sku=sku))
        views[sku] = BindingView(
            sku=sku,
            external_id=ref.external_id or base.external_id,
            external_sku_id=ref.external_sku_id or base.external_sku_id,
            request_id=ref.request_id or base.request_id,
            create_intent=False,
            qc_status=listing.qc_status.value,
            qc_reason=listing.qc_reason,
            qc_field=listing.qc_field,
            pushed_content_hash=base.pushed_content_hash,
        )
    return views


def plan_for_shop(ctx: AppContext, shop_id: str, **kwargs: object) -> Plan:
    """Synchronous `plan_for_shop_async` (for the CLI)."""
    return asyncio.run(plan_for_shop_async(ctx, shop_id, **kwargs))  # type: ignore[arg-type]
