"""A resumable read of a Lazada shop's products: update-time scrolls over independent time windows.

Lazada's `/products/get` is scrolled by update time (`scroll.Scroll`), so one scroll is a
chain: each page's request depends on the page before. To read side by side, the read splits
the time range into windows once the first page has shown where the shop's update times start
and how many products follow (at least `PAGES_PER_WINDOW` pages per window, so a short read stays
one scroll):
window j asks `update_after = b_j`, `update_before = b_(j+1)` (both to the second and
inclusive, so the windows overlap on the boundary instant and never leave a gap; a listing
seen twice is merged by seller SKU). The last window is open-ended and is read to its end
only after every other window ended: a listing updated while we read moves into it, so it
is seen even if its old window was not yet read. Every position is (window, pages absorbed);
a page's state changes only after its reply parsed, so a failed page is asked again as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from adapters.lazada.mapping import LzProduct, iso_filter
from adapters.lazada.scroll import Scroll
from adapters.paging import split_seconds
from schemas.listing import Listing, ListingsPage, PagePosition

__all__ = ["LazadaRead"]

Fetch = Callable[[dict[str, str]], Awaitable[tuple[list[LzProduct], int, str]]]
PAGES_PER_WINDOW = 8  # fewer pages than this per window and the windows' short last pages cost more than they save


@dataclass
class _Window:
    scroll: Scroll
    before_s: int | None = None  # inclusive upper bound; None for the open-ended last window
    steps: int = 0
    parked: bool = False  # the open-ended window reached its end while others were still open


class LazadaRead:
    """One read of a Lazada shop's products, split into up to `partitions` time windows."""

    def __init__(
        self,
        fetch: Fetch,
        to_listings: Callable[[LzProduct], Sequence[Listing]],
        *,
        since_s: int,
        limit: int,
        partitions: int,
        now_s: Callable[[], int],
    ) -> None:
        self.fetch, self.to_listings, self.limit = fetch, to_listings, limit
        self.partitions, self.now_s = max(1, partitions), now_s
        self.windows = [_Window(Scroll(limit=limit, since_s=since_s))]
        self.split = self.partitions == 1

    def start(self) -> list[PagePosition]:
        """The first page of the whole range."""
        return [self._position(0)]

    def _position(self, index: int) -> PagePosition:
        return PagePosition(kind="window", at=f"{index}:{self.windows[index].steps}", partition=index)

    async def page(self, at: PagePosition) -> ListingsPage:
        """One page of one window; the first page of the read also opens the other windows."""
        window = self.windows[at.partition]
        if at.at != f"{at.partition}:{window.steps}":
            raise ValueError(f"stale Lazada read position {at.at!r}")
        scroll = window.scroll
        offset = scroll.next_offset()
        params = {"filter": "all", "update_after": iso_filter(scroll.since_s), "limit": str(self.limit)}
        if window.before_s is not None:
            params["update_before"] = iso_filter(window.before_s)
        params["offset"] = str(offset)
        products, total, request_id = await self.fetch(params)
        # From here on nothing awaits: the read's state changes only once the page arrived.
        fresh = set(scroll.absorb(offset, [(str(p.item_id), p.updated_ms) for p in products]))
        window.steps += 1
        listings = tuple(x for p in products if str(p.item_id) in fresh for x in self.to_listings(p))
        follow = [] if scroll.done else [at.partition]
        if not self.split and not scroll.done:
            follow += self._open_windows(total - len(products))
        follow = self._after(at.partition, follow)
        return ListingsPage(
            listings=listings,
            request_id=request_id,
            position=at,
            follow=tuple(self._position(i) for i in follow),
        )

    def _open_windows(self, left: int) -> list[int]:
        """Cut what follows the first page (`left` products) into windows; return the indexes of the new ones."""
        self.split = True
        first = self.windows[0]
        parts = min(self.partitions, left // (self.limit * PAGES_PER_WINDOW))
        bounds = split_seconds(first.scroll.since_s, self.now_s() + 1, parts)
        if len(bounds) < 2:
            return []
        first.before_s = bounds[1]
        for j, low in enumerate(bounds[1:], start=1):
            high = bounds[j + 1] if j + 1 < len(bounds) else None
            self.windows.append(_Window(Scroll(limit=self.limit, since_s=low), before_s=high))
        return list(range(1, len(bounds)))

    def _after(self, index: int, follow: list[int]) -> list[int]:
        """Park the open-ended window at its end while others are open; re-open it once they ended."""
        last = len(self.windows) - 1
        if last == 0 or follow:
            return follow
        if index == last:
            if any(not w.scroll.done for w in self.windows[:last]):
                self.windows[last].parked = True
            return follow
        tail = self.windows[last]
        if tail.parked and all(w.scroll.done for w in self.windows[:last]):
            tail.parked = False
            tail.scroll.done = False  # read on from where it stood: what moved here meanwhile
            return [last]
        return follow
