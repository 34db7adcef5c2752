"""Marketplaces that already list the catalog: sandbox stores seeded as if another tool synced them.

The listings are written straight into each sandbox's store (no API call is counted), with
the content the catalog wants, so a full resync finds only what was deliberately drifted:
a share of listings with another price and/or stock, and a share not listed at all.
Update times are spread over the past 30 days, as on a shop edited over time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.sandbox import Sandbox
from adapters.sandbox.store import SandboxListing
from connector.settings import ShopSettings
from schemas.sync import DesiredListing

__all__ = ["Seeded", "seed_shop"]


@dataclass
class Seeded:
    """What was put on one marketplace: listed, drifted and missing SKUs."""

    marketplace: str
    listed: int = 0
    drifted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _listing(box: Sandbox, seller_id: str, d: DesiredListing, price: int, stock: int, when: datetime) -> SandboxListing:
    c = d.content
    return SandboxListing(
        seller_id=seller_id,
        seller_sku=d.seller_sku,
        item_id=box.store.next_id(),
        sku_id=box.store.next_id(),
        title=c.title,
        price=price,
        stock=stock,
        created_at=when - timedelta(days=1),
        updated_at=when,
        description=c.description,
        images=list(c.images),
        brand=c.brand,
        category=c.category_key,
        unit=c.unit,
        weight_g=c.weight_g,
        barcode=c.barcode,
        attributes=dict(c.attributes),
    )


def seed_shop(
    box: Sandbox,
    shop: ShopSettings,
    desired: Sequence[DesiredListing],
    now: datetime,
    *,
    drift: float = 0.02,
    missing: float = 0.005,
    seed: int = 7,
) -> Seeded:
    """List every active desired SKU on `shop`'s marketplace, drifting and leaving out the given shares."""
    rng = random.Random(f"{seed}:{shop.marketplace}")
    active = [d for d in desired if d.active]
    skus = [d.seller_sku for d in active]
    left_out = set(rng.sample(skus, round(missing * len(skus))))
    drifted = set(rng.sample([s for s in skus if s not in left_out], round(drift * len(skus))))
    out = Seeded(shop.marketplace)
    shelf = box.store.shop(shop.seller_id)
    created = sorted(rng.sample(range(60, 30 * 86_400), len(active)), reverse=True)
    for d, age_s in zip(active, created, strict=True):
        if d.seller_sku in left_out:
            out.missing.append(d.seller_sku)
            continue
        price, stock = d.price_vnd, d.stock
        if d.seller_sku in drifted:
            kind = rng.randrange(3)  # price, stock or both changed by hand / by the other tool
            price = price + 1_000 if kind != 1 else price
            stock = stock + 3 if kind != 0 else stock
            out.drifted.append(d.seller_sku)
        shelf[d.seller_sku] = _listing(box, shop.seller_id, d, price, stock, now - timedelta(seconds=age_s))
        out.listed += 1
    return out
