"""The observation cost model: look a run's SKUs up one by one, or read the shop's listing pages.

A look-up costs at least one request per SKU; a complete read of the shop costs one request
per page of `page_size` listings, however many SKUs the run covers, and also shows what is
not there (a SKU the complete read did not find needs no look-up before its create). A run
therefore reads pages as soon as they are fewer than its look-ups (plus the change feed that
the look-ups would come with), so a large scope never turns into thousands of look-ups.

Pure functions only; the numbers are request counts, the unit the marketplace rate-limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LOOKUP_REQUESTS", "SCROLL_EXTRA_PAGES", "ObservationChoice", "choose_observation", "scroll_pages"]

LOOKUP_REQUESTS = 1  # at least one request per looked-up SKU (Tiki's costs two: the model errs towards look-ups)
SCROLL_EXTRA_PAGES = 1  # the short or empty page that ends a scroll


def scroll_pages(listings: int, page_size: int) -> int:
    """Requests a complete read of a shop holding `listings` listings costs at `page_size` per page."""
    return math.ceil(max(0, listings) / page_size) + SCROLL_EXTRA_PAGES


@dataclass(frozen=True)
class ObservationChoice:
    """How a run observes its scope, with the cost of each way in requests."""

    scroll: bool
    lookup_cost: int
    scroll_cost: int


def choose_observation(lookups: int, listings: int, page_size: int, *, feed_pages: int = 0) -> ObservationChoice:
    """Scroll the shop when that costs fewer requests than `lookups` look-ups plus the change feed read with them.

    `listings` is the shop's expected size (what the last read saw), `feed_pages` the pages of
    the since-feed the look-up path reads besides (a complete read makes the feed unnecessary).
    With nothing to look up the feed alone is always the cheaper way.
    """
    lookup_cost = lookups * LOOKUP_REQUESTS + feed_pages
    cost = scroll_pages(listings, page_size)
    return ObservationChoice(scroll=lookups > 0 and cost < lookup_cost, lookup_cost=lookup_cost, scroll_cost=cost)
