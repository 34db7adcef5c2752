"""Scenario (d): planning 100,000 SKUs x 3 shops with the pure core only (no I/O).

Timed, per shop: `desired_listings` over the whole catalog, then `plan_shop` against that
shop's observed listings (2 % drifted in price/stock, 0.2 % in title, 0.5 % missing, all
bound). As in the engine (`CatalogCache.contents`), the timed calls of the three shops share
one `ContentMemo`: the first shop builds every product's listing content, the others reuse it.
Building the synthetic catalog and the observed listings is set-up, not timed, but
it counts in the peak RSS, which is the whole child process's high-water mark.
"""

from __future__ import annotations

import cProfile
import random
import resource
import time
from datetime import UTC, datetime
from typing import Any

from connector.engine.desired import ContentMemo, desired_listings
from connector.engine.plan import BindingView, PlanPolicy, plan_shop
from connector.testing.world import shops, synthetic_catalog
from schemas.listing import Listing, ListingRef, ListingStatus
from schemas.sync import ActionKind, DesiredListing

__all__ = ["observed_for", "plan_mode"]


def observed_for(desired: list[DesiredListing], seed: int) -> tuple[dict[str, Listing], dict[str, BindingView]]:
    """What the marketplace shows for `desired`, with drift, and the bindings of what it shows."""
    rng = random.Random(seed)
    observed: dict[str, Listing] = {}
    bindings: dict[str, BindingView] = {}
    when = datetime(2026, 1, 1, tzinfo=UTC)
    for i, d in enumerate(desired):
        roll = rng.random()
        if roll < 0.005:
            continue  # missing: the plan creates it
        price, stock, content = d.price_vnd, d.stock, d.content
        if roll < 0.025:
            price, stock = price + 1_000, stock + (3 if roll < 0.015 else 0)
        elif roll < 0.027:
            content = content.model_copy(update={"title": content.title + " (sửa tay)"})
        ref = ListingRef(seller_sku=d.seller_sku, external_id=str(1_000_000 + i), external_sku_id=str(2_000_000 + i))
        observed[d.seller_sku] = Listing(
            ref=ref, content=content, price_vnd=price, stock=stock, status=ListingStatus.ACTIVE, updated_at=when
        )
        bindings[d.seller_sku] = BindingView(
            sku=d.seller_sku, external_id=ref.external_id, external_sku_id=ref.external_sku_id
        )
    return observed, bindings


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def plan_mode(args: dict[str, Any]) -> dict[str, Any]:
    """Child-process entry: time desired + plan for every shop; report seconds, peak RSS, a profile."""
    from bench.child import profile_top

    count = int(args.get("skus", 100_000))
    t0 = time.perf_counter()
    producers, products = synthetic_catalog(count)
    today = datetime.now(UTC).date()
    setup_s = time.perf_counter() - t0
    per_shop: list[dict[str, Any]] = []
    total = 0.0
    contents = ContentMemo()  # timed: shared by the shops as `CatalogCache.contents` is in the engine
    for n, shop in enumerate(shops()):
        t = time.perf_counter()
        observed, bindings = observed_for(desired_listings(products, producers, shop, today), seed=n)
        setup_s += time.perf_counter() - t
        t1 = time.perf_counter()
        desired = desired_listings(products, producers, shop, today, contents)
        t2 = time.perf_counter()
        plan = plan_shop(shop.id, desired, observed, bindings, PlanPolicy(shop_size=len(bindings)))
        t3 = time.perf_counter()
        total += t3 - t1
        kinds = {k.value: sum(1 for a in plan.actions if a.kind is k) for k in ActionKind}
        per_shop.append(
            {
                "shop_id": shop.id,
                "desired_s": t2 - t1,
                "plan_s": t3 - t2,
                "desired": len(desired),
                "observed": len(observed),
                "drifts": len(plan.drifts),
                "actions": kinds,
                "guard": plan.guard_blocked,
            }
        )
        del observed, bindings, desired, plan
    result: dict[str, Any] = {
        "skus": count,
        "shops": len(per_shop),
        "seconds": total,
        "setup_s": setup_s,
        "peak_rss_mb": _rss_mb(),
        "per_shop": per_shop,
    }
    if args.get("profile"):
        shop = shops()[0]
        observed, bindings = observed_for(desired_listings(products, producers, shop, today), seed=0)
        profiler = cProfile.Profile()
        profiler.enable()
        desired = desired_listings(products, producers, shop, today)
        plan_shop(shop.id, desired, observed, bindings, PlanPolicy(shop_size=len(bindings)))
        profiler.disable()
        result["profile"] = profile_top(profiler, 20, "tottime")
    return result
