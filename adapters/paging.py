"""Resumable listing reads: the part of the adapter contract that says where each page is.

An adapter's `listing_read(since, partitions)` returns a `ListingRead`. Its `start()` gives
the first positions (several when the read is split into independent time windows); each
`page(at)` reads one page and returns it with the positions it made known (`follow`). A page
call is single-shot and changes the read's state only once its reply has arrived and parsed,
so the engine's one retry layer can call `page(at)` again after a transient failure and gets
that page, not the first one; and it may read positions it holds side by side.

`pages_in_order` reads every page one after another without retries, which is what
`list_listings` (tests, tools) does; the engine has its own concurrent driver.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from schemas.listing import ListingsPage, PagePosition

__all__ = ["ListingRead", "pages_in_order", "split_seconds"]


@runtime_checkable
class ListingRead(Protocol):
    """One read of a shop's listings, page by page, each page at a position that can be read again."""

    def start(self) -> Sequence[PagePosition]:
        """The positions the read begins with (one per independent partition)."""
        ...

    async def page(self, at: PagePosition) -> ListingsPage:
        """Read the page at `at` (one or a few requests); its `follow` holds the positions it made known."""
        ...


async def pages_in_order(read: ListingRead) -> AsyncIterator[ListingsPage]:
    """Every page of `read`, one after another in the order they became known, each SKU once (no retries)."""
    queue: deque[PagePosition] = deque(read.start())
    seen: set[str] = set()
    while queue:
        page = await read.page(queue.popleft())
        queue.extend(page.follow)
        fresh = tuple(x for x in page.listings if x.seller_sku not in seen)
        seen.update(x.seller_sku for x in fresh)
        if fresh or not queue:  # pages that only prepare the read (e.g. Tiki's request scans) stay inside
            yield page.model_copy(update={"listings": fresh, "next_cursor": queue[0].at if queue else None})


def split_seconds(low: int, high: int, parts: int) -> list[int]:
    """Boundaries cutting [low, high] into up to `parts` windows of whole seconds (first = low)."""
    parts = max(1, min(parts, high - low))
    return [low + (high - low) * i // parts for i in range(parts)]
