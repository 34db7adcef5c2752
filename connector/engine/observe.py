"""Observe: read a shop's listings from its marketplace, paced and retried by the run's `CallPolicy`.

The page loop lives here once: every page is one paced, counted read; a repeated cursor or
more than `MAX_PAGES` pages is an error (a marketplace looping on us). A failure mid-scroll
restarts the read (pages carry no resumable cursor in the adapter contract).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime
from typing import Protocol, TypeVar

from adapters.base import MarketplaceAdapter
from adapters.errors import AdapterError, ResponseShapeError
from connector.engine.retry import CallPolicy
from schemas.listing import Listing, ListingsPage

__all__ = ["MAX_PAGES", "drive_pages", "get_listings", "read_listings", "read_or_look_up"]

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


async def read_listings(
    calls: CallPolicy, adapter: MarketplaceAdapter, since: datetime | None = None
) -> dict[str, Listing]:
    """Every listing of the shop (or those changed since `since`), by seller SKU."""

    async def attempt() -> dict[str, Listing]:
        found: dict[str, Listing] = {}

        async def keep(page: ListingsPage) -> None:
            for listing in page.listings:
                sku = listing.seller_sku
                found[sku] = _newer(found[sku], listing) if sku in found else listing

        await drive_pages(calls, lambda: adapter.list_listings(since=since), keep)
        return found

    return await calls.call(attempt, paced=False)


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
    """Read the shop's listings by scrolling; if the scroll cannot complete, look `skus` up one by one.

    A scroll restarts from its first page after any failure (pages carry no resumable
    cursor), so under a sustained fault rate a long scroll never completes while single
    look-ups, each retried on its own, still do. Returns the listings and whether the
    scroll completed (False: only `skus` were observed, None where the marketplace has none).
    """
    try:
        return dict(await read_listings(calls, adapter, since=since)), True
    except AdapterError as exc:
        if not exc.retryable:
            raise
        log.warning("listing scroll failed (%s); looking SKUs up one by one instead", type(exc).__name__)
    return await get_listings(calls, adapter, skus, unknown), False
