"""The harness the adapter contract suite runs every registered adapter through.

Each case builds the adapter's own sandbox (`factory.create_sandbox`), an HTTP client whose
transport delivers requests into it in-process (`SandboxTransport`), and the adapter from an
`AdapterConfig` holding the sandbox-only credentials. Tests then use only the adapter
protocol and the sandbox surface every simulator shares (store, clock, faults, log).

Adapters come from the `ocop_sync.adapters` entry points. An entry point whose package has
not been written yet (no `__init__.py`) is left out with a visible note; one that exists but
fails to import is kept, so its cases fail loudly instead of disappearing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import EntryPoint, entry_points

import httpx
from pydantic import SecretStr

from adapters.base import ENTRY_POINT_GROUP, AdapterConfig, AdapterFactory, AdapterRegistry, MarketplaceAdapter
from adapters.sandbox import Sandbox, SandboxListing
from schemas.listing import ListingContent, ListingDraft

SANDBOX_BASE_URL = "http://sandbox.local"
SELLER = "S1"
OTHER_SELLER = "S2"
REJECT_SKU = "OCOP-REJECT-1"
TOKEN_TTL_S = 3600
QC_DELAY_S = 600.0


def _written(point: EntryPoint) -> bool:
    """True when the entry point's module is a real (non-namespace) module on disk."""
    try:
        spec = importlib.util.find_spec(point.module)
    except ImportError:
        return False
    return spec is not None and spec.origin is not None


def contract_adapters() -> tuple[list[str], dict[str, str]]:
    """The adapter names the suite runs, and those left out because their package does not exist yet."""
    points = {p.name: p for p in entry_points(group=ENTRY_POINT_GROUP)}
    included = sorted(n for n, p in points.items() if _written(p))
    missing = {n: f"{p.value}: package not written yet" for n, p in sorted(points.items()) if not _written(p)}
    return included, missing


def load_factory(name: str) -> AdapterFactory:
    """Load one adapter through the registry (all of it when every adapter exists)."""
    _, missing = contract_adapters()
    if not missing:
        return AdapterRegistry.from_entry_points().get(name)
    point = next(p for p in entry_points(group=ENTRY_POINT_GROUP) if p.name == name)
    factory: AdapterFactory = point.load()
    return AdapterRegistry({name: factory}).get(name)


def draft(sku: str, *, price: int = 125_000, stock: int = 40, title: str = "Mật ong rừng U Minh 500ml") -> ListingDraft:
    """A complete, valid OCOP listing to create."""
    content = ListingContent(
        title=title,
        description="Sản phẩm OCOP 4 sao của Hợp tác xã Ong mật U Minh, An Giang.",
        images=(f"https://img.ocop.example.vn/{sku.lower()}-1.jpg",),
        brand="HTX Ong mật U Minh",
        category_key=3,
        unit="chai",
        weight_g=650,
        attributes={"ocop_stars": "4"},
    )
    return ListingDraft(seller_sku=sku, content=content, price_vnd=price, stock=stock, active=True)


def shop_config(name: str, credentials: dict[str, str], seller_id: str = SELLER) -> AdapterConfig:
    """The contract shop's config for `seller_id` with `credentials`."""
    return AdapterConfig(
        marketplace=name,
        shop_id=f"{name}-contract",
        seller_id=seller_id,
        base_url=SANDBOX_BASE_URL,
        credentials={k: SecretStr(v) for k, v in credentials.items()},
    )


@dataclass
class Harness:
    """One adapter wired to its own sandbox over in-process HTTP."""

    name: str
    factory: AdapterFactory
    sandbox: Sandbox
    http: httpx.AsyncClient
    adapter: MarketplaceAdapter

    def adapter_with(self, credentials: dict[str, str], seller_id: str = SELLER) -> MarketplaceAdapter:
        """Another adapter on the same client, e.g. with altered credentials."""
        return self.factory.from_config(shop_config(self.name, credentials, seller_id), self.http)

    def seed(self, count: int, *, prefix: str = "OCOP", seller_id: str = SELLER, stock: int = 50) -> list[str]:
        """Put `count` approved, active listings straight into the sandbox; their SKUs, oldest first."""
        now = self.sandbox.clock.now()
        shop = self.sandbox.store.shop(seller_id)
        skus: list[str] = []
        for i in range(count):
            sku = f"{prefix}-{i:04d}"
            at = now - timedelta(seconds=count - i + 60)
            shop[sku] = SandboxListing(
                seller_id=seller_id,
                seller_sku=sku,
                item_id=self.sandbox.store.next_id(),
                sku_id=self.sandbox.store.next_id(),
                title=f"Khô cá lóc An Giang loại {i}",
                price=50_000 + 1_000 * (i % 90),
                stock=stock,
                created_at=at,
                updated_at=at,
                description="Đặc sản OCOP 3 sao.",
                images=[f"https://img.ocop.example.vn/{sku.lower()}.jpg"],
                brand="HTX Khô cá Châu Đốc",
                category=2,
                unit="gói",
                weight_g=500,
            )
            skus.append(sku)
        return skus

    def touch(self, seller_sku: str, *, price: int | None = None, seller_id: str = SELLER) -> None:
        """Change a listing as its seller would in the marketplace's own portal."""
        listing = self.sandbox.store.find(seller_id, seller_sku)
        assert listing is not None, seller_sku
        if price is not None:
            listing.price = price
        listing.updated_at = self.sandbox.clock.now()


MakeHarness = Callable[..., Awaitable[Harness]]
