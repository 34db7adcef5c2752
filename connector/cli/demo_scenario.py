"""The reconcile demo (`make demo`): sync the demo catalog to the in-process sandboxes, cause drift, fix it.

Reusable by the daemon's demo: `run_demo_sync(ctx)` needs an `AppContext` whose shops use
base_url "sandbox" and a seeded catalog. It runs a full sync, lets marketplace reviews
finish, then simulates three real-world drifts (a price edited by hand on Lazada, units sold
on Tiki, a product rejected by Voso's review), runs an incremental sync and returns what
drift was found and what was fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from connector.context import AppContext
from connector.engine.run import sync_shops
from connector.store.models import DriftRow
from schemas.sync import RunKind, RunSummary

__all__ = ["DemoResult", "run_demo_sync"]


@dataclass
class DemoResult:
    """What the demo did: the runs, the simulated drift, and the drift rows found and fixed."""

    first: list[RunSummary] = field(default_factory=list)
    second: list[RunSummary] = field(default_factory=list)
    simulated: list[str] = field(default_factory=list)
    found: list[DriftRow] = field(default_factory=list)
    fixed: list[DriftRow] = field(default_factory=list)


def _simulate(ctx: AppContext) -> list[str]:
    """Cause drift on the marketplaces the way people and buyers do."""
    notes: list[str] = []
    for shop in ctx.settings.shops:
        if shop.base_url != "sandbox":
            continue
        sandbox = ctx.sandbox_hub.for_marketplace(shop.marketplace, list(ctx.settings.shops))
        listings = sorted(
            (x for x in sandbox.store.shop(shop.seller_id).values() if x.status == "active" and x.stock > 3),
            key=lambda x: x.seller_sku,
        )
        if not listings:
            continue
        item = listings[0]
        now = sandbox.clock.now()
        if shop.marketplace == "lazada":
            item.price += 15_000
            item.updated_at = now
            notes.append(f"lazada: price of {item.seller_sku} edited by hand to {item.price:,} VND")
        elif shop.marketplace == "tiki":
            sandbox.store.place_order(shop.seller_id, item.seller_sku, 2, now)
            notes.append(f"tiki: a buyer ordered 2 x {item.seller_sku}")
        elif shop.marketplace == "voso":
            item.qc_status, item.status, item.qc_field = "rejected", "inactive", "images"
            item.qc_reason = "Hình ảnh sản phẩm không đạt yêu cầu (image below 500x500 px)"
            item.updated_at = now
            notes.append(f"voso: {item.seller_sku} rejected by marketplace review")
    return notes


def _settle_reviews(ctx: AppContext) -> None:
    for sandbox in ctx.sandbox_hub.sandboxes.values():
        sandbox.tick_reviews()


async def run_demo_sync(ctx: AppContext) -> DemoResult:
    """Full sync, simulated drift, incremental sync; return the drift found and fixed by the last run."""
    result = DemoResult()
    result.first = await sync_shops(ctx, kind=RunKind.FULL)
    _settle_reviews(ctx)
    result.first += await sync_shops(ctx, kind=RunKind.INCREMENTAL)  # listings approved by review go live
    result.simulated = _simulate(ctx)
    started = ctx.clock()
    result.second = await sync_shops(ctx, kind=RunKind.INCREMENTAL)
    with Session(ctx.engine) as session:
        rows = list(
            session.exec(select(DriftRow).where(col(DriftRow.last_seen) >= started).order_by(col(DriftRow.sku)))
        )
    result.found = rows
    result.fixed = [r for r in rows if r.resolved_at is not None]
    return result
