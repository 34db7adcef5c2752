"""Cost-aware observation: a run looks its SKUs up one by one or reads the shop's pages, whichever costs fewer requests.

The choice itself is a pure function; the integration test counts the requests each sandbox
received for a small and a large catalog change on a synced shop.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.sandbox import Sandbox
from connector.catalog.store import upsert_catalog
from connector.context import AppContext
from connector.engine.cost import choose_observation, scroll_pages
from connector.engine.run import sync_shops
from connector.store import session_scope
from connector.testing.world import build_world, seed_synthetic, synthetic_catalog, world_mismatches, world_sandboxes
from schemas.sync import RunKind, RunOutcome


def test_scroll_pages_count_the_last_short_page() -> None:
    assert [scroll_pages(n, 50) for n in (0, 1, 50, 51, 10_000)] == [1, 2, 2, 3, 201]


@pytest.mark.parametrize(
    ("lookups", "listings", "page_size", "feed_pages", "scroll"),
    [
        (0, 10_000, 50, 1, False),  # nothing to look up: the feed alone
        (1, 10_000, 50, 1, False),
        (200, 10_000, 50, 1, False),  # 201 look-up requests vs 201 pages: a tie keeps the look-ups
        (201, 10_000, 50, 1, True),
        (5_000, 10_000, 50, 0, True),  # the reported catalog change: 201 pages, not 5,000 look-ups
        (15_000, 10_000, 100, 0, True),
        (3, 0, 50, 0, True),  # an empty shop: one page shows that none of them exists
        (1, 0, 50, 0, False),
    ],
)
def test_the_cheaper_way_is_chosen(lookups: int, listings: int, page_size: int, feed_pages: int, scroll: bool) -> None:
    choice = choose_observation(lookups, listings, page_size, feed_pages=feed_pages)
    assert choice.scroll is scroll
    assert choice.lookup_cost == lookups + feed_pages
    assert choice.scroll_cost == scroll_pages(listings, page_size)


def _reads(box: Sandbox, seller: str, since: int) -> int:
    return sum(1 for e in box.log[since:] if e.seller_id == seller and not e.is_write)


async def _run(ctx: AppContext, skus: list[str] | None) -> dict[str, int]:
    """One incremental run of every shop; the read requests each sandbox received for it."""
    boxes = world_sandboxes(ctx)
    marks = {m: len(b.log) for m, b in boxes.items()}
    summaries = await sync_shops(ctx, kind=RunKind.INCREMENTAL, skus=skus)
    ok = (RunOutcome.CONVERGED, RunOutcome.PARTIAL)  # PARTIAL: creates still in review
    assert all(s.outcome in ok and not s.counters.failed for s in summaries), [(s.shop_id, s.error) for s in summaries]
    return {
        shop.marketplace: _reads(boxes[shop.marketplace], shop.seller_id, marks[shop.marketplace])
        for shop in ctx.settings.shops
    }


def _add_products(ctx: AppContext, start: int, count: int, active: int) -> list[str]:
    """Add `count` new products after the first `start`; every `count // active`-th is active, the rest inactive."""
    _, products = synthetic_catalog(start + count)
    every = count // active if active else count + 1
    new = [p.model_copy(update={"active": (i + 1) % every == 0}) for i, p in enumerate(products[start:])]
    with session_scope(ctx.engine) as session:
        upsert_catalog(session, [], new, datetime.now(UTC))
    return [p.sku for p in new]


async def test_a_large_change_reads_pages_and_a_small_one_looks_up(tmp_path: Path) -> None:
    """300 listings per shop; 2 new SKUs are looked up, 400 new SKUs cost one read of the pages, not 400 look-ups."""
    ctx = build_world(f"sqlite:///{tmp_path / 'cost.db'}", tmp_path)
    seed_synthetic(ctx.engine, 300)
    await sync_shops(ctx, kind=RunKind.FULL)
    await sync_shops(ctx)  # settle what the first run's reviews left
    scroll = await _run_full(ctx)

    small = await _run(ctx, _add_products(ctx, 300, 2, active=0))  # 2 inactive: nothing to write
    for marketplace, reads in small.items():
        assert reads < scroll[marketplace], (marketplace, reads, scroll)

    new = _add_products(ctx, 302, 400, active=100)  # 100 to create, 300 inactive
    large = await _run(ctx, None)  # the catalog watermark finds them, as a daemon tick does
    for marketplace, reads in large.items():
        # the scroll and order feed, then the creates' verification read (a since-read of the
        # same pages at most); 400 look-ups before the cost model (800 requests on Tiki)
        assert reads <= 2 * scroll[marketplace], (marketplace, reads, scroll)
    await _run(ctx, None)  # reviews of the creates ended: they go live
    assert world_mismatches(ctx) == []
    boxes = world_sandboxes(ctx)
    for shop in ctx.settings.shops:
        listed = boxes[shop.marketplace].store.shop(shop.seller_id)
        assert sum(1 for sku in new if sku in listed) == 100, shop.marketplace


async def _run_full(ctx: AppContext) -> dict[str, int]:
    """The read requests of a zero-change full run: the shop's complete scroll plus the order feed."""
    boxes = world_sandboxes(ctx)
    marks = {m: len(b.log) for m, b in boxes.items()}
    summaries = await sync_shops(ctx, kind=RunKind.FULL)
    assert all(s.counters.writes == 0 for s in summaries)
    return {
        shop.marketplace: _reads(boxes[shop.marketplace], shop.seller_id, marks[shop.marketplace])
        for shop in ctx.settings.shops
    }


async def test_imported_inactive_products_found_absent_are_not_read_again(tmp_path: Path) -> None:
    """A catalog tick for 400 new inactive SKUs reads the pages once; the next scheduled run knows they are
    absent (and that the tick covered every catalog change) and reads no pages for them."""
    ctx = build_world(f"sqlite:///{tmp_path / 'absent.db'}", tmp_path)
    seed_synthetic(ctx.engine, 300)
    await sync_shops(ctx, kind=RunKind.FULL)
    await sync_shops(ctx)
    scroll = await _run_full(ctx)
    await asyncio.sleep(1.1)  # Tiki's update-time filter has one-second resolution: the seed's second is past
    new = _add_products(ctx, 300, 400, active=0)
    await _run(ctx, new)  # the catalog tick: exactly the changed SKUs, one complete read
    again = await _run(ctx, None)  # the scheduled run: catalog changes since its (unmoved) position
    for marketplace, reads in again.items():
        # the since-feed, the order feed, open reviews: less than one complete read (which alone is `scroll`)
        assert reads < scroll[marketplace], (marketplace, reads, scroll)
    await _run(ctx, None)
    assert world_mismatches(ctx) == []
