"""Fixtures of the engine tests: a seeded store and the marketplaces' sandboxes, in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from adapters.base import ENTRY_POINT_GROUP, AdapterFactory, AdapterRegistry
from adapters.sandbox import FaultSpec, Sandbox, SandboxOptions
from connector.catalog.demo_data import demo_catalog, seed_demo
from connector.catalog.store import upsert_catalog
from connector.clock import utcnow
from connector.context import AppContext, SandboxHub
from connector.settings import DatabaseSettings, RetrySettings, Settings, ShopSettings
from connector.store import session_scope

TODAY = date.today()


EXPECTED_MARKETPLACES = frozenset({"lazada", "tiki", "voso"})


def ready_factories() -> dict[str, AdapterFactory]:
    """Every registered adapter; one that fails to import fails the tests instead of being left out."""
    found: dict[str, AdapterFactory] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        factory = point.load()  # an ImportError here is a broken adapter: let it fail the test
        factory.sandbox_credentials("probe")
        found[point.name] = factory
    missing = EXPECTED_MARKETPLACES - set(found)
    assert not missing, f"adapters not registered under {ENTRY_POINT_GROUP}: {sorted(missing)}"
    return found


def seller(marketplace: str) -> str:
    """The sandbox seller id of a marketplace's test shop."""
    return f"AG-OCOP-{marketplace.upper()}"


def shop_id(marketplace: str) -> str:
    """Our shop id for a marketplace's test shop."""
    return f"{marketplace}-ag"


BuildCtx = Callable[..., AppContext]

REVIEW_DELAY_S = 60.0  # marketplaces review a create for a while; `settle_reviews` lets that time pass


@pytest.fixture
def build_ctx(tmp_path: Path) -> Iterator[BuildCtx]:
    """Build an AppContext over a fresh SQLite file, the demo catalog and one sandbox shop per marketplace."""
    built: list[AppContext] = []

    def build(
        *,
        faults: FaultSpec | None = None,
        seed_catalog: bool = True,
        retry: RetrySettings | None = None,
        sandbox: dict[str, Any] | None = None,
        db_url: str | None = None,
        shop_overrides: dict[str, Any] | None = None,
        catalog_size: int | None = None,
    ) -> AppContext:
        factories = ready_factories()
        registry = AdapterRegistry(factories)
        shops = tuple(
            ShopSettings(
                id=shop_id(m),
                marketplace=m,
                seller_id=seller(m),
                safety_stock=2,
                price_markup_pct=5.0,
                requests_per_second=2000,
                **(shop_overrides or {}),
            )
            for m in sorted(factories)
        )
        settings = Settings(
            database=DatabaseSettings(url=db_url or f"sqlite:///{tmp_path / 'engine.db'}", data_dir=tmp_path),
            retry=retry or RetrySettings(max_attempts=8, max_delay_s=20, backoff_base_s=0.01, backoff_cap_s=0.05),
            shops=shops,
        )
        options = {
            m: SandboxOptions(
                rate_limit_per_s=100_000,
                faults=faults or FaultSpec(),
                seed=3,
                **{"qc_delay_s": REVIEW_DELAY_S, **(sandbox or {})},
            )
            for m in factories
        }
        hub = SandboxHub(registry, options=options)
        ctx = AppContext.build(settings, registry=registry, sandbox_hub=hub)
        if seed_catalog:
            with session_scope(ctx.engine) as session:
                if catalog_size is None:
                    seed_demo(session, TODAY, utcnow())
                else:
                    catalog = demo_catalog(TODAY)
                    products = catalog.products[:catalog_size]
                    ids = {p.producer_id for p in products}
                    upsert_catalog(session, [p for p in catalog.producers if p.id in ids], products, utcnow())
        built.append(ctx)
        return ctx

    yield build
    for ctx in built:
        ctx.engine.dispose()


def sandboxes(ctx: AppContext) -> dict[str, Sandbox]:
    """Every marketplace's sandbox, created if no run touched it yet."""
    return {
        s.marketplace: ctx.sandbox_hub.for_marketplace(s.marketplace, list(ctx.settings.shops))
        for s in ctx.settings.shops
    }


def write_requests(sandbox: Sandbox) -> int:
    """Write requests the sandbox received."""
    return sum(1 for entry in sandbox.log if entry.is_write)


def settle_reviews(ctx: AppContext) -> None:
    """Let every pending marketplace review finish: move each sandbox's clock past the review delay."""
    for sandbox in sandboxes(ctx).values():
        sandbox.clock.advance(REVIEW_DELAY_S + 1)
        sandbox.tick_reviews()
