"""The engine's entry points: run one shop, or several shops together, once.

The stages of one shop's run live in `connector.engine.shop_run` (the run boundary), what a
run covers and reads in `connector.engine.scope`, the store view in `connector.engine.state`,
opening a shop in `connector.engine.shop` and the write-nothing path in `connector.engine.dry_run`.

Public API (the daemon and the CLI code against these names): `sync_shop`, `sync_shops`,
`plan_for_shop`, `plan_for_shop_async`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence

from sqlmodel import Session, col, select

from adapters.errors import AdapterError, ConfigError
from connector.context import AppContext
from connector.engine.dry_run import dry_run_summary, plan_for_shop, plan_for_shop_async
from connector.engine.sales import SalesResult
from connector.engine.shop import Fence, OpenShop, Progress, open_shop
from connector.engine.shop_run import pull, run_shop
from connector.engine.state import CatalogCache
from connector.store.models import ActionRow
from schemas.sync import ActionState, RunKind, RunSummary, RunTrigger

__all__ = ["dead_actions", "plan_for_shop", "plan_for_shop_async", "sync_shop", "sync_shops"]


async def sync_shop(
    ctx: AppContext,
    shop_id: str,
    *,
    kind: RunKind = RunKind.INCREMENTAL,
    trigger: RunTrigger = RunTrigger.MANUAL,
    force: bool = False,
    dry_run: bool = False,
    skus: Collection[str] | None = None,
    fence: Fence | None = None,
    progress: Progress | None = None,
    worker: str = "",
) -> RunSummary:
    """Run one shop once (observe, pull sales, plan, apply, verify) and return its recorded summary.

    With `dry_run` nothing is written anywhere: the plan is computed and summarised only.
    `skus` limits the run to those SKUs. Never raises for a failure of the shop's run (it is
    recorded); raises ConfigError for an unknown shop and re-raises cancellation.
    """
    if dry_run:
        return await dry_run_summary(ctx, shop_id, kind=kind, trigger=trigger, force=force, skus=skus)
    shop = open_shop(ctx, shop_id, fence)
    try:
        return await run_shop(
            ctx,
            shop,
            kind=kind,
            trigger=trigger,
            force=force,
            skus=skus,
            fence=fence,
            progress=progress,
            worker=worker,
            sales=None,
        )
    finally:
        await shop.http.aclose()


async def sync_shops(
    ctx: AppContext,
    shop_ids: Sequence[str] | None = None,
    *,
    kind: RunKind = RunKind.INCREMENTAL,
    trigger: RunTrigger = RunTrigger.MANUAL,
    force: bool = False,
    dry_run: bool = False,
    skus: Collection[str] | None = None,
    fence: Fence | None = None,
    progress: Callable[[str, str, int, int], None] | None = None,
    worker: str = "",
) -> list[RunSummary]:
    """Run several shops (default: every enabled one): orders of all shops first, then each shop concurrently.

    Pulling every shop's sales before any plan means a sale on one marketplace lowers the
    stock pushed to every other shop in this same run. `progress` also gets the shop id.
    """
    chosen = [s.id for s in ctx.settings.shops if s.enabled and (shop_ids is None or s.id in shop_ids)]
    if dry_run:
        return [await dry_run_summary(ctx, s, kind=kind, trigger=trigger, force=force, skus=skus) for s in chosen]
    shops = [open_shop(ctx, s, fence) for s in chosen]
    catalog = CatalogCache()  # parsed once for every shop of this call
    try:
        sales: dict[str, SalesResult | BaseException | None] = {}
        for shop in shops:
            try:
                sales[shop.settings.id] = await pull(ctx, shop, fence)
            except (AdapterError, ConfigError) as exc:
                sales[shop.settings.id] = exc

        async def one(shop: OpenShop) -> RunSummary:
            pulled = sales.get(shop.settings.id)
            shop_progress: Progress | None = None
            if progress is not None:
                shop_progress = lambda stage, done, total, sid=shop.settings.id: progress(sid, stage, done, total)  # noqa: E731
            return await run_shop(
                ctx,
                shop,
                kind=kind,
                trigger=trigger,
                force=force,
                skus=skus,
                fence=fence,
                progress=shop_progress,
                worker=worker,
                sales=pulled if isinstance(pulled, SalesResult) else None,  # a failed pull is retried in the run
                catalog=catalog,
            )

        return list(await asyncio.gather(*(one(s) for s in shops)))
    finally:
        for shop in shops:
            await shop.http.aclose()


def dead_actions(ctx: AppContext, shop_id: str | None = None) -> list[ActionRow]:
    """Outbox rows that failed permanently and wait for a person (for reports and the CLI)."""
    with Session(ctx.engine) as session:
        query = select(ActionRow).where(ActionRow.state == ActionState.DEAD.value)
        if shop_id is not None:
            query = query.where(ActionRow.shop_id == shop_id)
        return list(session.exec(query.order_by(col(ActionRow.shop_id), col(ActionRow.sku))))
