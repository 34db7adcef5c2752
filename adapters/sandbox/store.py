"""The simulators' in-memory marketplace state: sellers' listings, orders and counters.

Indexed so that a page costs O(page), not O(shop): every change to a listing or to a seller's
shelf bumps a version, and derived views (a sorted listing order, an id index) are rebuilt only
when the version they were built at is stale (`SandboxStore.view`). Ids (item, SKU id, seller SKU)
have their own version, so a batch of price writes does not rebuild the id indexes per item.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

_T = TypeVar("_T")
_IDS = frozenset({"seller_id", "seller_sku", "item_id", "sku_id"})


class _Versions:
    """Process-wide change counters: `data` moves on any listing or shelf change, `ids` on id or membership changes."""

    data = 0
    ids = 0


_NEXT_DATA = itertools.count(1)
_NEXT_IDS = itertools.count(1)


def _bump(ids: bool) -> None:
    # A fresh value from a counter (atomic under the GIL), never `+= 1`: two threads changing listings at
    # once must not both store the value a view was just built at.
    _Versions.data = next(_NEXT_DATA)
    if ids:
        _Versions.ids = next(_NEXT_IDS)


class Shelf(dict[str, "SandboxListing"]):
    """One seller's listings by seller SKU; adding or removing one moves the store's versions."""

    def __setitem__(self, key: str, value: SandboxListing) -> None:
        _bump(True)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        _bump(True)
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        """Remove and return a listing (see `dict.pop`)."""
        _bump(True)
        return super().pop(key, *default)

    def clear(self) -> None:
        """Remove every listing."""
        _bump(True)
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Add listings (see `dict.update`)."""
        _bump(True)
        super().update(*args, **kwargs)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """See `dict.setdefault`."""
        _bump(True)
        return super().setdefault(key, default)


class _Shelves(dict[str, dict[str, "SandboxListing"]]):
    """Sellers' shelves; replacing or removing one moves the store's versions."""

    def __setitem__(self, key: str, value: dict[str, SandboxListing]) -> None:
        _bump(True)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        _bump(True)
        super().__delitem__(key)


@dataclass
class SandboxListing:
    """One listing as the marketplace stores it (marketplace-neutral; each sandbox renders it)."""

    seller_id: str
    seller_sku: str
    item_id: str
    sku_id: str
    title: str
    price: int
    stock: int
    created_at: datetime
    updated_at: datetime
    description: str = ""
    images: list[str] = field(default_factory=list)
    brand: str = ""
    category: int = 1
    unit: str = ""
    weight_g: int = 0
    barcode: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    status: str = "active"  # active | inactive | deleted
    qc_status: str = "approved"  # approved | pending | rejected
    qc_reason: str = ""
    qc_field: str = ""
    qc_ready_at: datetime | None = None
    reserved: int = 0

    def __setattr__(self, name: str, value: Any) -> None:
        _bump(name in _IDS)
        object.__setattr__(self, name, value)


@dataclass
class SandboxOrder:
    """An order line placed by a simulated buyer."""

    seller_id: str
    order_id: str
    line_id: str
    seller_sku: str
    quantity: int
    created_at: datetime
    cancelled: bool = False
    returned: bool = False
    updated_at: datetime | None = None
    cancelled_units: int = 0  # units of the line cancelled so far (all of them once `cancelled`)

    @property
    def changed_at(self) -> datetime:
        """The order's update time (its creation time until a buyer changes it)."""
        return self.updated_at or self.created_at


@dataclass
class SandboxStore:
    """All sellers' listings and orders, plus counters tests inspect (creates per seller SKU)."""

    listings: dict[str, dict[str, SandboxListing]] = field(default_factory=_Shelves)
    orders: list[SandboxOrder] = field(default_factory=list)
    creates: Counter[tuple[str, str]] = field(default_factory=Counter)
    writes_applied: Counter[str] = field(default_factory=Counter)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100_001))
    _views: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)

    def next_id(self) -> str:
        """A fresh numeric id, as marketplaces hand out."""
        return str(next(self._ids))

    def shop(self, seller_id: str) -> dict[str, SandboxListing]:
        """The listings of one seller, keyed by seller SKU."""
        shelf = self.listings.get(seller_id)
        if shelf is None:
            shelf = self.listings[seller_id] = Shelf()
        elif not isinstance(shelf, Shelf):  # assigned as a plain dict: index it from now on
            shelf = self.listings[seller_id] = Shelf(shelf)
        return shelf

    def view(
        self, seller_id: str, name: str, build: Callable[[dict[str, SandboxListing]], _T], *, ids: bool = False
    ) -> _T:
        """A view of one seller's shelf derived by `build`, rebuilt only after a change (`ids`: only an id change)."""
        version = _Versions.ids if ids else _Versions.data
        cached = self._views.get((seller_id, name))
        if cached is not None and cached[0] == version:
            return cached[1]  # type: ignore[no-any-return]
        value = build(self.shop(seller_id))
        self._views[(seller_id, name)] = (_Versions.ids if ids else _Versions.data, value)
        return value

    def find(self, seller_id: str, seller_sku: str) -> SandboxListing | None:
        """One seller's listing by seller SKU, or None."""
        return self.shop(seller_id).get(seller_sku)

    def by_item(self, seller_id: str, item_id: str) -> list[SandboxListing]:
        """One seller's listings (SKUs) of a marketplace item id, in shelf order."""
        return self.view(seller_id, "by_item", _index_items, ids=True).get(item_id, [])

    def by_sku_id(self, seller_id: str, sku_id: str) -> SandboxListing | None:
        """One seller's listing by the marketplace's SKU id, or None."""
        return self.view(seller_id, "by_sku_id", _index_sku_ids, ids=True).get(sku_id)

    def find_by_item(self, seller_id: str, item_id: str) -> SandboxListing | None:
        """One seller's listing by the marketplace's item id, or None."""
        found = self.by_item(seller_id, item_id)
        return found[0] if found else None

    def record_create(self, listing: SandboxListing) -> None:
        """Store a newly created listing and count the create (duplicates show as counts > 1)."""
        self.shop(listing.seller_id)[listing.seller_sku] = listing
        self.creates[(listing.seller_id, listing.seller_sku)] += 1

    def duplicate_creates(self) -> dict[tuple[str, str], int]:
        """Seller SKUs created more than once, with their create counts."""
        return {key: count for key, count in self.creates.items() if count > 1}

    def place_order(self, seller_id: str, seller_sku: str, quantity: int, now: datetime) -> SandboxOrder:
        """A simulated buyer orders `quantity` units; stock drops by what was available."""
        listing = self.find(seller_id, seller_sku)
        if listing is None or listing.status != "active":
            raise KeyError(f"{seller_sku} is not on sale for seller {seller_id}")
        quantity = max(1, min(quantity, listing.stock)) if listing.stock > 0 else quantity
        listing.stock = max(0, listing.stock - quantity)
        listing.updated_at = now
        order = SandboxOrder(
            seller_id=seller_id,
            order_id=self.next_id(),
            line_id=self.next_id(),
            seller_sku=seller_sku,
            quantity=quantity,
            created_at=now,
        )
        self.orders.append(order)
        return order

    def orders_of(self, seller_id: str, since: datetime | None = None) -> list[SandboxOrder]:
        """One seller's order lines updated (or created) at or after `since`, in placing order."""
        return [o for o in self.orders if o.seller_id == seller_id and (since is None or o.changed_at >= since)]

    def change_order(
        self, seller_id: str, order_id: str, change: str, now: datetime, *, quantity: int | None = None
    ) -> list[SandboxOrder]:
        """A buyer cancels (`cancel`) or returns (`return`, goods received back) an order; moves its update time.

        Cancelling puts the units back on the listing (the marketplace releases them); a
        return does not (returned goods go back to the seller, not to the marketplace stock).
        `quantity` cancels only that many more units of each line (a partial cancel); the
        line is `cancelled` once all its units are. Raises KeyError for an unknown order or
        change, ValueError for a quantity that is not a positive whole number.
        """
        lines = [o for o in self.orders if o.seller_id == seller_id and o.order_id == order_id]
        if not lines or change not in ("cancel", "return"):
            raise KeyError(f"no order {order_id} for seller {seller_id} or unknown change {change!r}")
        if quantity is not None and quantity < 1:
            raise ValueError(f"quantity must be at least 1, not {quantity}")
        for line in lines:
            if change == "cancel" and not line.cancelled:
                units = min(quantity or line.quantity, line.quantity - line.cancelled_units)
                line.cancelled_units += units
                line.cancelled = line.cancelled_units >= line.quantity
                listing = self.find(seller_id, line.seller_sku)
                if listing is not None:
                    listing.stock += units
                    listing.updated_at = now
            elif change == "return":
                line.returned = True
            line.updated_at = now
        return lines


def _index_items(shelf: dict[str, SandboxListing]) -> dict[str, list[SandboxListing]]:
    items: dict[str, list[SandboxListing]] = {}
    for listing in shelf.values():
        items.setdefault(listing.item_id, []).append(listing)
    return items


def _index_sku_ids(shelf: dict[str, SandboxListing]) -> dict[str, SandboxListing]:
    index: dict[str, SandboxListing] = {}
    for listing in shelf.values():
        index.setdefault(listing.sku_id, listing)
    return index
