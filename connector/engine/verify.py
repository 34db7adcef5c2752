"""Verify: re-read what a run changed and find writes that were acknowledged but not applied.

Reads are kept near the floor: with a few changed SKUs, one `get_listing` each; with more
and an adapter that filters by update time, one "changed since" listing read (a write that
did not stick does not show up as changed, which is exactly what we look for), plus a
look-up for created SKUs the read did not show. Then the caller re-plans against the
fresh observation: drift an acknowledged action should have closed and did not is a
silent failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from adapters.base import MarketplaceAdapter
from connector.engine.observe import get_listings, read_or_look_up
from connector.engine.plan import CLOSES
from connector.engine.retry import CallPolicy
from schemas.listing import Listing
from schemas.sync import ActionKind, Drift

__all__ = ["FEED_MIN_SKUS", "reread", "silent_failures"]

FEED_MIN_SKUS = 4  # below this, a get per SKU is cheaper than a listing read
FEED_OVERLAP = timedelta(seconds=2)


async def reread(
    calls: CallPolicy,
    adapter: MarketplaceAdapter,
    done: Mapping[str, set[ActionKind]],
    since: datetime,
    unknown: set[str] | None = None,
) -> dict[str, Listing | None]:
    """The current listing of every SKU an acknowledged action touched (None = not found)."""
    skus = sorted(done)
    if not skus:
        return {}
    if len(skus) < FEED_MIN_SKUS or not type(adapter).capabilities.listing_since:
        return await get_listings(calls, adapter, skus, unknown)
    changed, complete = await read_or_look_up(calls, adapter, skus, since - FEED_OVERLAP, unknown)
    if not complete:
        return changed
    found: dict[str, Listing | None] = {sku: changed[sku] for sku in skus if sku in changed}
    created_unseen = [s for s in skus if s not in found and ActionKind.CREATE in done[s]]
    found.update(await get_listings(calls, adapter, created_unseen, unknown))
    return found


def silent_failures(done: Mapping[str, set[ActionKind]], drifts: Sequence[Drift]) -> set[tuple[str, str]]:
    """(SKU, drift kind) pairs an acknowledged action should have closed but that are still open."""
    left = {(d.seller_sku, d.kind) for d in drifts}
    return {
        (sku, kind.value)
        for sku, kinds in done.items()
        for action in kinds
        for kind in CLOSES[action]
        if (sku, kind) in left
    }
