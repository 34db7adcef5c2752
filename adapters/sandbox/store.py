"""The simulators' in-memory marketplace state: sellers' listings, orders and counters."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


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

    listings: dict[str, dict[str, SandboxListing]] = field(default_factory=dict)
    orders: list[SandboxOrder] = field(default_factory=list)
    creates: Counter[tuple[str, str]] = field(default_factory=Counter)
    writes_applied: Counter[str] = field(default_factory=Counter)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100_001))

    def next_id(self) -> str:
        """A fresh numeric id, as marketplaces hand out."""
        return str(next(self._ids))

    def shop(self, seller_id: str) -> dict[str, SandboxListing]:
        """The listings of one seller, keyed by seller SKU."""
        return self.listings.setdefault(seller_id, {})

    def find(self, seller_id: str, seller_sku: str) -> SandboxListing | None:
        """One seller's listing by seller SKU, or None."""
        return self.shop(seller_id).get(seller_sku)

    def find_by_item(self, seller_id: str, item_id: str) -> SandboxListing | None:
        """One seller's listing by the marketplace's item id, or None."""
        return next((x for x in self.shop(seller_id).values() if x.item_id == item_id), None)

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
