"""The naive baseline: what a seller's own script would do, one SKU at a time.

For every SKU: GET the listing by seller SKU (`get_listing`), then PUT its price and stock
(`set_price_stock([one])`), or create it when the GET finds nothing. Sequential per shop,
the three shops side by side, each paced at the same share of the published rate as the
engine and retried by the same policy (a polite script, so the comparison is about the
algorithm, not about hammering the API). Same adapters, same sandboxes, same run.

It is measured on a sample of SKUs and extrapolated linearly to the full catalog: its cost
per SKU does not depend on the catalog size (no page reads, no batches).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from connector.catalog.store import read_producers, read_products
from connector.engine.desired import desired_listings
from connector.engine.ratelimit import ShopLimiter, shop_rate
from connector.engine.retry import CallPolicy
from schemas.listing import ListingDraft, PriceStockUpdate
from schemas.sync import DesiredListing

__all__ = ["naive_mode", "naive_shop"]


async def naive_shop(ctx: Any, shop_id: str, desired: list[DesiredListing]) -> dict[str, Any]:
    """Sync `desired` to one shop the naive way; return calls, writes and seconds."""
    settings = ctx.settings.shop(shop_id)
    http = ctx.http_client(settings)
    adapter = ctx.adapter(settings, http)
    caps = type(adapter).capabilities
    rate = shop_rate(caps.requests_per_second, ctx.settings.sync.rate_limit_share, settings.requests_per_second)
    calls = CallPolicy(ctx.settings.retry, ShopLimiter(rate), refresh=adapter.refresh_auth)
    t0 = time.perf_counter()
    created = updated = 0
    try:
        for d in desired:

            async def get(sku: str = d.seller_sku) -> Any:
                return await adapter.get_listing(sku)

            found = await calls.call(get)
            if found is None:
                draft = ListingDraft(
                    seller_sku=d.seller_sku, content=d.content, price_vnd=d.price_vnd, stock=d.stock, active=True
                )

                async def create(draft: ListingDraft = draft) -> Any:
                    return await adapter.create(draft)

                await calls.call(create, write=True)
                created += 1
                continue
            update = PriceStockUpdate(ref=found.ref, price_vnd=d.price_vnd, stock=d.stock)

            async def put(update: PriceStockUpdate = update) -> Any:
                return await adapter.set_price_stock([update])

            await calls.call(put, write=True)
            updated += 1
    finally:
        await http.aclose()
    return {
        "shop_id": shop_id,
        "skus": len(desired),
        "seconds": time.perf_counter() - t0,
        "created": created,
        "updated": updated,
        "throttle_waits": calls.counts.throttle_waits,
        "retries": calls.counts.retries,
    }


def naive_mode(args: dict[str, Any]) -> dict[str, Any]:
    """Child-process entry: run the naive sync of `args["sample"]` ({shop id: [SKU]}) on every shop at once."""
    from bench.child import counting_context

    ctx = counting_context()
    sample: dict[str, list[str]] = args["sample"]
    today = datetime.now(UTC).date()
    with Session(ctx.engine) as session:
        products, producers = read_products(session), read_producers(session)
    wanted: dict[str, list[DesiredListing]] = {}
    for shop_id, skus in sample.items():
        chosen = set(skus)
        shop = ctx.settings.shop(shop_id)
        wanted[shop_id] = [d for d in desired_listings(products, producers, shop, today) if d.seller_sku in chosen]

    async def go() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(naive_shop(ctx, s, wanted[s]) for s in sample)))

    t0 = time.perf_counter()
    shops = asyncio.run(go())
    seconds = time.perf_counter() - t0
    for row in shops:
        row["calls"] = ctx.calls[row["shop_id"]]
    ctx.engine.dispose()
    return {"seconds": seconds, "shops": shops}
