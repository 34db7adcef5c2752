"""A synthetic world for reliability tests and benchmarks: a catalog of N valid products,
sandbox shops for every marketplace, and the check that marketplaces hold the desired state.

Shared by `tests/reliability` and `bench` (importable as `connector.testing.world`). The catalog
is the demo catalog's products cloned under new SKUs, so every record is valid by the real
schema; only SKU, price and stock vary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from adapters.base import AdapterRegistry
from adapters.sandbox import FaultSpec, Sandbox, SandboxOptions
from connector.catalog.demo_data import demo_catalog
from connector.catalog.store import read_producers, read_products, upsert_catalog
from connector.context import AppContext, SandboxHub
from connector.engine.desired import desired_listings
from connector.settings import DatabaseSettings, HttpSettings, RetrySettings, Settings, ShopSettings, SyncSettings
from connector.store import session_scope
from schemas.catalog import Producer, Product
from schemas.sync import DesiredListing

MARKETPLACES = ("lazada", "tiki", "voso")


def today() -> date:
    """The reference date of the synthetic catalog (certificate validity is computed against it)."""
    return datetime.now(UTC).date()


def synthetic_sku(i: int) -> str:
    """The SKU of the i-th synthetic product."""
    return f"SYN-{i:06d}"


def synthetic_catalog(count: int, reference: date | None = None) -> tuple[list[Producer], list[Product]]:
    """`count` valid, listable products (clones of the demo catalog's certified, in-date ones)."""
    demo = demo_catalog(reference or today())
    ref = reference or today()
    templates = [p for p in demo.products if p.shippable and p.active and p.certificate.state(ref).value != "expired"]
    products = []
    for i in range(count):
        t = templates[i % len(templates)]
        products.append(
            t.model_copy(
                update={
                    "sku": synthetic_sku(i),
                    "price_vnd": 20_000 + 1_000 * ((i * 37) % 400),
                    "stock": 10 + (i * 13) % 200,
                    "barcode": None,
                }
            )
        )
    used = {p.producer_id for p in products}
    return [p for p in demo.producers if p.id in used], products


def seed_synthetic(engine: Engine, count: int, now: datetime | None = None) -> list[Product]:
    """Insert a synthetic catalog of `count` products; return the products."""
    producers, products = synthetic_catalog(count)
    with session_scope(engine) as session:
        upsert_catalog(session, producers, products, now or datetime.now(UTC))
    return products


def seller(marketplace: str) -> str:
    """The sandbox seller id of a marketplace's test shop."""
    return f"REL-{marketplace.upper()}"


def shop_id(marketplace: str) -> str:
    """Our shop id for a marketplace's test shop."""
    return f"{marketplace}-rel"


def shops(
    base_urls: dict[str, str] | None = None, *, rps: float | None = 2000, marketplaces: Sequence[str] = MARKETPLACES
) -> tuple[ShopSettings, ...]:
    """One shop per marketplace; in-process sandboxes unless `base_urls` names where each is served."""
    return tuple(
        ShopSettings(
            id=shop_id(m),
            marketplace=m,
            seller_id=seller(m),
            safety_stock=2,
            price_markup_pct=5.0,
            requests_per_second=rps,
            **({"base_url": base_urls[m]} if base_urls else {}),
        )
        for m in marketplaces
    )


def settings_for(
    db_url: str,
    data_dir: Path,
    shop_list: tuple[ShopSettings, ...],
    *,
    retry: RetrySettings | None = None,
    timeout_s: float = 10.0,
    rate_limit_share: float = 0.8,
    max_deactivate_ratio: float = 0.2,
) -> Settings:
    """Settings for a reliability world: the given shops, fast retries, a short client timeout."""
    return Settings(
        database=DatabaseSettings(url=db_url, data_dir=data_dir),
        http=HttpSettings(timeout_s=timeout_s, connect_timeout_s=min(5.0, timeout_s)),
        retry=retry or RetrySettings(max_attempts=8, max_delay_s=20, backoff_base_s=0.01, backoff_cap_s=0.1),
        sync=SyncSettings(rate_limit_share=rate_limit_share, max_deactivate_ratio=max_deactivate_ratio),
        shops=shop_list,
    )


def build_world(
    db_url: str,
    data_dir: Path,
    *,
    faults: FaultSpec | None = None,
    sandbox_options: dict[str, Any] | None = None,
    retry: RetrySettings | None = None,
    timeout_s: float = 10.0,
    hub: SandboxHub | None = None,
    max_deactivate_ratio: float = 0.2,
) -> AppContext:
    """An AppContext over `db_url` with one in-process sandbox shop per marketplace (catalog not seeded)."""
    registry = AdapterRegistry.from_entry_points()
    options = {
        m: SandboxOptions(rate_limit_per_s=100_000, faults=faults or FaultSpec(), seed=11, **(sandbox_options or {}))
        for m in MARKETPLACES
    }
    hub = hub or SandboxHub(registry, options=options)
    settings = settings_for(
        db_url, data_dir, shops(), retry=retry, timeout_s=timeout_s, max_deactivate_ratio=max_deactivate_ratio
    )
    return AppContext.build(settings, registry=registry, sandbox_hub=hub)


def world_sandboxes(ctx: AppContext) -> dict[str, Sandbox]:
    """Every marketplace's in-process sandbox of a world, created if no run touched it yet."""
    return {
        s.marketplace: ctx.sandbox_hub.for_marketplace(s.marketplace, list(ctx.settings.shops))
        for s in ctx.settings.shops
    }


def desired_now(engine: Engine, shop: ShopSettings, day: date | None = None) -> list[DesiredListing]:
    """The desired listings of one shop computed from the catalog as it is now."""
    with Session(engine) as session:
        products, producers = read_products(session), read_producers(session)
    return desired_listings(products, producers, shop, day or today())


@dataclass(frozen=True)
class Mismatch:
    """One listing that does not hold its desired state."""

    marketplace: str
    sku: str
    field: str
    expected: object
    observed: object


def mismatches(
    marketplace: str, desired: Iterable[DesiredListing], listings: dict[str, Any], *, check_content: bool = True
) -> list[Mismatch]:
    """Where a marketplace's listings (sandbox store rows or `/_sandbox/listings` dicts) differ from desired.

    A desired-active listing must exist, be active and approved, with the desired price,
    stock and title; a desired-inactive one must be absent or inactive.
    """

    def get(item: Any, key: str) -> Any:
        return item[key] if isinstance(item, dict) else getattr(item, key)

    out: list[Mismatch] = []
    for d in desired:
        item = listings.get(d.seller_sku)
        if not d.active:
            if item is not None and get(item, "status") == "active":
                out.append(Mismatch(marketplace, d.seller_sku, "status", "inactive", "active"))
            continue
        if item is None:
            out.append(Mismatch(marketplace, d.seller_sku, "listing", "present", None))
            continue
        wanted = {"status": "active", "price": d.price_vnd, "stock": d.stock, "qc_status": "approved"}
        if check_content:
            wanted["title"] = d.content.title
        for key, value in wanted.items():
            if get(item, key) != value:
                out.append(Mismatch(marketplace, d.seller_sku, key, value, get(item, key)))
    return out


def world_mismatches(ctx: AppContext, boxes: dict[str, Sandbox] | None = None) -> list[Mismatch]:
    """Every listing of every shop of the world that differs from what the catalog wants now."""
    boxes = boxes or world_sandboxes(ctx)
    out: list[Mismatch] = []
    for shop in ctx.settings.shops:
        box = boxes[shop.marketplace]
        box.tick_reviews()
        out += mismatches(shop.marketplace, desired_now(ctx.engine, shop), box.store.shop(shop.seller_id))
    return out
