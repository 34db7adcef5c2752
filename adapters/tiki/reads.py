"""A resumable read of a Tiki shop's listings: request-state scans, product pages, pending creates.

Positions: `scan` (one request state, page n; the nine states are read side by side), then,
once every scan ended, `page` (segment s, page n), then one `tail` (create requests that have
no product yet). Page 1 of a segment tells how many pages it has; the others are read side
by side, up to the reported 10,000-row deep-paging cap, whose last page starts the next
segment (`created_to_date` = the oldest row seen). Tiki orders products by created_at desc,
so a product created while we read pushes rows one place later: read one after another that
only repeats a row, read side by side it could skip one. The paging total shows it: when the
totals of a segment's pages differ, the products are read again one page after another.
Every page changes the read's state only after all its requests answered, so a failed page
is asked again as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from adapters.errors import Rejected
from adapters.tiki.client import MARKETPLACE
from adapters.tiki.details import ProductDetails, oldest_created
from adapters.tiki.mapping import (
    SCANNED_REQUEST_STATES,
    UPDATE_REJECTED_STATE,
    listing_of,
    listing_of_request,
    newest_requests,
)
from adapters.tiki.replies import ProductRow, ProductsPage, RequestRow
from schemas.listing import Listing, ListingsPage, PagePosition

__all__ = ["TikiRead", "TikiSource"]


class TikiSource(Protocol):
    """What a read needs of the adapter (`TikiAdapter`): single requests and its settings."""

    @property
    def page_size(self) -> int: ...

    @property
    def deep_paging_cap(self) -> int: ...

    @property
    def category_ids(self) -> Mapping[int, int]: ...

    @property
    def details(self) -> ProductDetails: ...

    async def _requests_page(self, state: str, page: int, since: datetime | None) -> tuple[list[RequestRow], int]: ...

    async def _requests_for(self, seller_sku: str) -> list[RequestRow]: ...

    async def _product_page(
        self, page: int, created_to: str | None, since: datetime | None
    ) -> tuple[ProductsPage, str]: ...

    async def _product_for(self, seller_sku: str) -> tuple[ProductRow | None, str]: ...


@dataclass
class _Segment:
    created_to: str | None
    chain: bool  # one page after another (the re-read after a shift)
    totals: set[int] = field(default_factory=set)


class TikiRead:
    """One read of a Tiki shop's listings (all, or those updated since `since`)."""

    def __init__(self, adapter: TikiSource, since: datetime | None, partitions: int) -> None:
        self.adapter, self.since = adapter, since
        self.chain = partitions <= 1
        self.scan_rows: list[RequestRow] = []
        self.scans_open = set(SCANNED_REQUEST_STATES)
        self.creates: dict[str, RequestRow] = {}
        self.updates: dict[str, RequestRow] = {}
        self.segments: list[_Segment] = []
        self.open_pages: set[str] = set()
        self.seen: set[str] = set()
        self.reread = False

    def start(self) -> list[PagePosition]:
        """The first page of every request-state scan."""
        return [PagePosition(kind="scan", at=f"{state}:1") for state in SCANNED_REQUEST_STATES]

    async def page(self, at: PagePosition) -> ListingsPage:
        """The page at `at` (a scan page, a product page or the pending-create tail)."""
        if at.kind == "scan":
            return await self._scan(at)
        if at.kind == "page":
            return await self._products(at)
        return await self._tail(at)

    # -- request scans ------------------------------------------------------------------------

    async def _scan(self, at: PagePosition) -> ListingsPage:
        state, _, raw = at.at.rpartition(":")
        number = int(raw)
        rows, last_page = await self.adapter._requests_page(state, number, self.since)
        more = number < last_page and bool(rows)
        joined = None
        if not more and self.scans_open == {state}:
            joined = await self._join([*self.scan_rows, *rows])
        self.scan_rows.extend(rows)
        follow: list[PagePosition] = []
        if more:
            follow.append(PagePosition(kind="scan", at=f"{state}:{number + 1}"))
        else:
            self.scans_open.discard(state)
        if joined is not None:
            self.creates, self.updates = joined
            follow.append(self._new_segment(None, self.chain))
        return ListingsPage(listings=(), position=at, follow=tuple(follow))

    async def _join(self, rows: list[RequestRow]) -> tuple[dict[str, RequestRow], dict[str, RequestRow]]:
        """The newest open-or-rejected create and content-update request per SKU."""
        creates = newest_requests([r for r in rows if r.kind == "create_product"])
        updates = newest_requests([r for r in rows if r.kind != "create_product"])
        # A rejected update may have been superseded by a later approved one, which the state
        # scan does not return: confirm each (rare) rejection against the SKU's full history.
        for sku, row in list(updates.items()):
            if row.state == UPDATE_REJECTED_STATE:
                found = await self.adapter._requests_for(sku)
                latest = newest_requests([r for r in found if r.kind != "create_product"]).get(sku)
                if latest is not None and latest.request_id != row.request_id:
                    updates.pop(sku)
        return creates, updates

    # -- product pages ------------------------------------------------------------------------

    def _new_segment(self, created_to: str | None, chain: bool) -> PagePosition:
        self.segments.append(_Segment(created_to, chain))
        return self._page_at(len(self.segments) - 1, 1)

    def _page_at(self, segment: int, number: int) -> PagePosition:
        at = PagePosition(kind="page", at=f"{segment}:{number}", partition=segment)
        self.open_pages.add(at.at)
        return at

    async def _products(self, at: PagePosition) -> ListingsPage:
        segment = self.segments[at.partition]
        number = int(at.at.rpartition(":")[2])
        body, request_id = await self.adapter._product_page(number, segment.created_to, self.since)
        rows = [await self.adapter.details.complete(row, request_id) for row in body.data]
        cats = self.adapter.category_ids
        listings = [listing_of(r, self.updates.get(r.original_sku or ""), cats, request_id=request_id) for r in rows]
        cap_pages = max(1, self.adapter.deep_paging_cap // self.adapter.page_size)
        last = body.paging.last_page if body.data else number
        oldest = oldest_created(body.data, request_id) if body.data and number == cap_pages < last else None
        if oldest is not None and oldest == segment.created_to:
            raise Rejected(
                "more than the deep-paging cap of products share one created_at second",
                marketplace=MARKETPLACE,
                operation="list_products",
            )
        # The page answered: from here on the read's state changes, nothing awaits.
        segment.totals.add(body.paging.total)
        self.seen.update(x.seller_sku for x in listings)
        self.open_pages.discard(at.at)
        follow: list[PagePosition] = []
        if segment.chain and number < min(last, cap_pages):
            follow.append(self._page_at(at.partition, number + 1))
        elif not segment.chain and number == 1:
            follow += [self._page_at(at.partition, n) for n in range(2, min(last, cap_pages) + 1)]
        if oldest is not None:
            follow.append(self._new_segment(oldest, segment.chain))
        if not follow and not self.open_pages:
            follow.append(self._finish())
        return ListingsPage(listings=tuple(listings), request_id=request_id, position=at, follow=tuple(follow))

    def _finish(self) -> PagePosition:
        """After the last product page: read again one after another if rows shifted, else the tail."""
        if not self.reread and any(len(s.totals) > 1 for s in self.segments):
            self.reread = True
            return self._new_segment(None, True)
        return PagePosition(kind="tail", at="tail")

    # -- create requests without a product ----------------------------------------------------

    async def _tail(self, at: PagePosition) -> ListingsPage:
        leftovers: list[Listing] = []
        for sku, create in sorted(self.creates.items()):
            if sku in self.seen or create.state == "approved":
                continue
            if self.since is not None and (await self.adapter._product_for(sku))[0] is not None:
                continue  # the product exists but was not updated in the window
            pending = listing_of_request(create, self.adapter.category_ids)
            if pending is not None:
                leftovers.append(pending)
        return ListingsPage(listings=tuple(leftovers), position=at)
