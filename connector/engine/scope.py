"""What a run covers and what it saw: the catalog changes since the shop's position and the observation.

A full run scrolls the whole shop. An incremental run covers the SKUs whose catalog record
changed, the listings the marketplace reports changed, open actions and drift, and unresolved
create intents (or exactly the `skus` it was given). What it cannot know from the last
observation it either looks up SKU by SKU or reads in one complete scroll, whichever costs
fewer requests (`connector.engine.cost`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from adapters.errors import AdapterError
from connector.engine.cost import ObservationChoice, choose_observation
from connector.engine.observe import get_listings, read_listings, read_or_look_up
from connector.engine.outbox import open_action_skus, open_drift_skus
from connector.engine.plan import BindingView
from connector.engine.shop import today
from connector.engine.state import Run, Snapshot
from connector.store import read_only
from connector.store.changes import changes_after, latest_change
from connector.store.leases import LeaseFence
from connector.store.models import ProductRow, ShopRow
from schemas.listing import Listing
from schemas.sync import DesiredListing, RunKind

__all__ = ["Observation", "max_updated", "observe"]

log = logging.getLogger("ocop_sync.sync")


@dataclass
class Observation:
    """What a run knows of the shop's listings, and the part of the catalog it may plan for."""

    observed: dict[str, Listing]
    fresh: dict[str, Listing | None]  # what this run actually read (None = looked up, not found)
    scope: frozenset[str] | None
    full: bool
    listings_mark: datetime | None
    catalog_mark: int | None  # catalog change-log position
    unknown: set[str] = field(default_factory=set)  # look-ups that kept failing: left alone this run


def catalog_changes(session: Session, shop: ShopRow, today: date) -> tuple[set[str], set[str], int | None]:
    """SKUs the catalog change log shows changed since the shop's position, expired SKUs, and the new position.

    Read from the commit-ordered log (every change, no limit), so a row an import committed late
    is never behind the position; no position yet means every product.
    """
    mark = shop.catalog_position
    newest = latest_change(session)  # first: anything committed after this read is seen next run
    if mark is None:
        skus = set(session.exec(select(ProductRow.sku)))
    else:
        skus = {sku for _, sku in changes_after(session, mark)}
        newest = max(newest, mark)
    expired = set(session.exec(select(ProductRow.sku).where(ProductRow.cert_valid_until < today)))
    return skus, expired, newest


def max_updated(listings: Collection[Listing | None], default: datetime | None) -> datetime | None:
    """The newest update time among `listings` and `default` (None when there is none)."""
    stamps = [x.updated_at for x in listings if x is not None and x.updated_at is not None]
    if default is not None:
        stamps.append(default)
    return max(stamps) if stamps else None


async def _resolve_intents(run: Run, bindings: dict[str, BindingView], unknown: set[str]) -> dict[str, Listing | None]:
    """Look up every SKU whose create outcome is unknown, before anything else is planned."""
    skus = [s for s, b in bindings.items() if b.create_intent]
    if skus and isinstance(run.fence, LeaseFence):
        # Each intent was left by an earlier lease epoch: look only once its sender can no longer send.
        waited = await run.fence.wait_out_previous_holder()
        if waited:
            log.info("shop %s: waited %.1fs for an earlier holder's creates to settle", run.shop.settings.id, waited)
    return await get_listings(run.shop.calls, run.shop.adapter, skus, unknown) if skus else {}


async def observe(
    run: Run,
    desired: Sequence[DesiredListing],
    bindings: dict[str, BindingView],
    snapshot: Snapshot,
    skus: Collection[str] | None,
) -> Observation:
    """Read what the run needs of the shop's listings and decide the run's scope."""
    shop = run.shop
    with Session(read_only(run.ctx.engine)) as session:  # one snapshot, no write lock
        session_shop = session.get(ShopRow, shop.settings.id)
        assert session_shop is not None
        changed, expired, catalog_mark = catalog_changes(session, session_shop, today(run.ctx))
        listings_mark = session_shop.listings_watermark
        open_skus = open_action_skus(session, shop.settings.id) | open_drift_skus(session, shop.settings.id)
    live = snapshot.active()
    changed |= expired & live  # a certificate lapsed since the last run: its live listing must come down
    unknown: set[str] = set()
    fresh: dict[str, Listing | None] = dict(await _resolve_intents(run, bindings, unknown))
    full = run.kind is RunKind.FULL or (skus is None and listings_mark is None)
    if full:
        run.note("observe", 0, 1)
        wanted = {d.seller_sku for d in desired} | set(snapshot) | set(bindings)
        # A complete scroll saw every listing (review requests included), so it already binds by
        # seller SKU: what it did not show is not there. Only an incomplete scroll falls back to
        # looking the wanted SKUs up one by one; unresolved create intents were looked up above.
        listed, _complete = await read_or_look_up(shop.calls, shop.adapter, sorted(wanted - set(fresh)), None, unknown)
        fresh.update(listed)
        for sku in snapshot:
            fresh.setdefault(sku, None)
        observed = {k: v for k, v in fresh.items() if v is not None}
        mark = max_updated(listed.values(), listings_mark)
        everything = {d.seller_sku for d in desired} | set(observed) | set(bindings)
        full_scope = frozenset(everything - unknown) if unknown else None
        return Observation(observed, fresh, full_scope, True, mark, catalog_mark, unknown)
    base = set(skus) if skus is not None else changed | open_skus | {s for s in bindings if bindings[s].create_intent}
    # An inactive product a read already found absent needs no new look: there is nothing to take
    # down, and only someone else listing it could change that, which the since-feed shows (or, on a
    # marketplace without one, the nightly full run, as for any listing outside a run's scope).
    settled = {d.seller_sku for d in desired if not d.active} & snapshot.absent
    feed, scope = await _observe_scope(
        run, bindings, snapshot, base, fresh, unknown, listings_mark, skus is None, settled
    )
    known = {**snapshot, **feed}
    scope -= unknown
    observed = {**known, **{k: v for k, v in fresh.items() if v is not None}}
    for sku, listing in fresh.items():
        if listing is None:
            observed.pop(sku, None)
    mark = max_updated(feed.values(), listings_mark)
    # The catalog position moves when the run covered every change since it (a catalog tick's SKUs
    # usually are exactly those); unknown SKUs must be looked at again.
    covered = skus is None or changed <= set(skus)
    catalog = catalog_mark if covered and not unknown else None
    return Observation(observed, fresh, frozenset(scope), False, mark, catalog, unknown)


async def _observe_scope(
    run: Run,
    bindings: dict[str, BindingView],
    snapshot: Snapshot,
    base: set[str],
    fresh: dict[str, Listing | None],
    unknown: set[str],
    listings_mark: datetime | None,
    with_feed: bool,
    settled: set[str],
) -> tuple[dict[str, Listing], set[str]]:
    """Observe an incremental run's `base` SKUs into `fresh`, by look-ups or one complete read (the cheaper).

    Returns the since-feed (listings changed after `listings_mark`, which join the scope) and
    the scope. SKUs the last observation already shows are not looked up on a shop whose feed
    reports changes.
    """
    shop = run.shop
    caps = type(shop.adapter).capabilities
    reads_feed = with_feed and caps.listing_since
    pending = [s for s in base if s not in fresh and s not in settled and (s not in snapshot or not caps.listing_since)]
    size = max(len(snapshot), sum(1 for b in bindings.values() if b.bound))
    choice = choose_observation(len(pending), size, caps.page_size, feed_pages=1 if reads_feed else 0)
    everything = await _complete_read(run, choice) if choice.scroll else None
    feed: dict[str, Listing] = {}
    if everything is not None:
        # One complete read instead of the look-ups: it also shows what is not there, so a
        # SKU it did not find needs no look-up before its create (as in a full run).
        if reads_feed:
            feed = {sku: x for sku, x in everything.items() if _changed_since(x, listings_mark)}
        scope = base | set(feed)
        for sku in sorted(scope - set(fresh)):
            fresh[sku] = everything.get(sku)
        return feed, scope
    if reads_feed:
        feed = await read_listings(shop.calls, shop.adapter, since=listings_mark)
    scope = base | set(feed)
    lookup = sorted(
        s
        for s in scope
        if s not in fresh and s not in feed and s not in settled and (s not in snapshot or not caps.listing_since)
    )
    fresh.update(feed)
    fresh.update(await get_listings(shop.calls, shop.adapter, lookup, unknown))
    return feed, scope


def _changed_since(listing: Listing, mark: datetime | None) -> bool:
    """What the marketplace's since-feed would have shown: changed after `mark` (or of unknown age)."""
    return mark is None or listing.updated_at is None or listing.updated_at > mark


async def _complete_read(run: Run, choice: ObservationChoice) -> dict[str, Listing] | None:
    """Every listing of the shop, or None when the read cannot complete (the run then looks SKUs up)."""
    log.info(
        "shop %s: reading all listings (%d pages) instead of %d look-ups",
        run.shop.settings.id,
        choice.scroll_cost,
        choice.lookup_cost,
    )
    try:
        return await read_listings(run.shop.calls, run.shop.adapter)
    except AdapterError as exc:
        if not exc.retryable:
            raise
        log.warning("listing read failed (%s); looking SKUs up one by one instead", type(exc).__name__)
        return None
