"""Observe: read a shop's listings from its marketplace, paced and retried by the run's `CallPolicy`.

The page loops live here once. A listing read (`read_pages`) follows the adapter's resumable
positions (`adapters.paging`): every page is one call of the retry layer, so a page that fails
transiently is asked again on its own and the read goes on from there, never from the first
page; up to `CallPolicy.concurrency` pages are read side by side (the shop's limiter paces every
request, so that is as fast as the rate limit allows). A repeated position or more than
`MAX_PAGES` pages is an error (a marketplace looping on us). Order pages (`drive_pages`) are
still one iterator, retried as a whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime
from typing import Protocol, TypeVar

from adapters.base import MarketplaceAdapter
from adapters.errors import AdapterError, ResponseShapeError
from adapters.paging import ListingRead
from connector.engine.retry import CallPolicy
from schemas.listing import Listing, ListingsPage, PagePosition

__all__ = ["MAX_PAGES", "drive_pages", "get_listings", "read_listings", "read_or_look_up", "read_pages"]

MAX_PAGES = 10_000
log = logging.getLogger("ocop_sync.observe")


class _Paged(Protocol):
    @property
    def next_cursor(self) -> str | None: ...


P = TypeVar("P", bound=_Paged)


async def drive_pages(
    calls: CallPolicy, make_iter: Callable[[], AsyncIterator[P]], on_page: Callable[[P], Awaitable[None]]
) -> int:
    """Walk an adapter's page iterator, pacing and counting each page; return the number of pages."""
    iterator = make_iter()
    cursors: set[str] = set()
    pages = 0
    try:
        while True:
            try:
                page = await calls.paced(iterator.__anext__)
            except StopAsyncIteration:
                return pages
            pages += 1
            cursor = page.next_cursor
            if cursor is not None and (cursor in cursors or pages > MAX_PAGES):
                raise ResponseShapeError(f"the marketplace repeats page cursor {cursor!r} or pages without end")
            if cursor is not None:
                cursors.add(cursor)
            await on_page(page)
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()


def _newer(a: Listing, b: Listing) -> Listing:
    if a.updated_at is None or b.updated_at is None:
        return b
    return b if b.updated_at >= a.updated_at else a


async def read_pages(calls: CallPolicy, read: ListingRead, on_page: Callable[[ListingsPage], None]) -> int:
    """Read every page of `read`, up to `calls.concurrency` at once, each retried on its own; return the page count.

    A page that still fails after its retry budget cancels the pages in flight and raises.
    """
    frontier: deque[PagePosition] = deque(read.start())
    asked: set[tuple[int, str, str]] = set()
    running: dict[asyncio.Task[ListingsPage], PagePosition] = {}

    async def one(at: PagePosition) -> ListingsPage:
        return await calls.call(lambda: read.page(at))

    try:
        while frontier or running:
            # The first page goes alone: it obtains the token an adapter fetches lazily, once.
            width = max(1, calls.concurrency) if asked else 1
            while frontier and len(running) < width:
                at = frontier.popleft()
                key = (at.partition, at.kind, at.at)
                if key in asked or len(asked) >= MAX_PAGES:
                    raise ResponseShapeError(f"the marketplace repeats page position {at.at!r} or pages without end")
                asked.add(key)
                running[asyncio.create_task(one(at))] = at
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: (running[t].partition, running[t].at)):
                running.pop(task)
                page = task.result()
                on_page(page)
                frontier.extend(page.follow)
        return len(asked)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


def merge_page(found: dict[str, Listing], page: ListingsPage) -> None:
    """Add a page's listings to `found` by seller SKU, the newest of two copies winning."""
    for listing in page.listings:
        sku = listing.seller_sku
        found[sku] = _newer(found[sku], listing) if sku in found else listing


async def read_listings(
    calls: CallPolicy, adapter: MarketplaceAdapter, since: datetime | None = None
) -> dict[str, Listing]:
    """Every listing of the shop (or those changed since `since`), by seller SKU."""
    found: dict[str, Listing] = {}
    read = adapter.listing_read(since, partitions=max(1, calls.concurrency))
    await read_pages(calls, read, lambda page: merge_page(found, page))
    return found


async def get_listings(
    calls: CallPolicy, adapter: MarketplaceAdapter, skus: Iterable[str], unknown: set[str] | None = None
) -> dict[str, Listing | None]:
    """Look listings up one by one by seller SKU (None where the marketplace has none).

    With `unknown` given, a SKU whose look-up still fails after the retry budget is added to
    it and left out of the result (the run must then leave that SKU alone) instead of raising.
    """
    found: dict[str, Listing | None] = {}
    for sku in sorted(set(skus)):

        async def one(sku: str = sku) -> Listing | None:
            return await adapter.get_listing(sku)

        try:
            found[sku] = await calls.call(one)
        except AdapterError as exc:
            if unknown is None or not exc.retryable:
                raise
            unknown.add(sku)
    return found


async def read_or_look_up(
    calls: CallPolicy,
    adapter: MarketplaceAdapter,
    skus: Iterable[str],
    since: datetime | None = None,
    unknown: set[str] | None = None,
) -> tuple[dict[str, Listing | None], bool]:
    """Read the shop's listings; only if a page still fails after its own retries, look `skus` up one by one.

    A transient failure costs the retry of that one page (the read resumes there), so the
    look-ups are the answer to a sustained outage of the listing endpoint, not to a fault rate.
    Returns the listings and whether the read completed (False: only `skus` were observed,
    None where the marketplace has none).
    """
    try:
        return dict(await read_listings(calls, adapter, since=since)), True
    except AdapterError as exc:
        if not exc.retryable:
            raise
        log.warning("listing read failed after its retries (%s); looking SKUs up one by one", type(exc).__name__)
    return await get_listings(calls, adapter, skus, unknown), False
