"""The composition root: builds settings, the store engine, the adapter registry and clients.

Nothing here is global; every command, the daemon and the tests build an `AppContext` and
pass it down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy.engine import Engine

from adapters.base import AdapterConfig, AdapterRegistry, MarketplaceAdapter
from adapters.sandbox import Sandbox, SandboxOptions, SandboxTransport, SellerAccount
from adapters.sandbox.faults import FaultSpec
from connector.clock import utcnow
from connector.settings import SANDBOX_URL, Settings, ShopSettings
from connector.store import make_engine, upgrade


@dataclass
class SandboxHub:
    """One in-process simulator per marketplace, serving every sandbox shop of that marketplace."""

    registry: AdapterRegistry
    faults: FaultSpec = field(default_factory=FaultSpec)
    options: dict[str, SandboxOptions] = field(default_factory=dict)
    sandboxes: dict[str, Sandbox] = field(default_factory=dict)

    def for_marketplace(self, marketplace: str, shops: list[ShopSettings]) -> Sandbox:
        """The simulator for `marketplace`, created on first use with a seller per shop."""
        if marketplace not in self.sandboxes:
            factory = self.registry.get(marketplace)
            sellers = tuple(
                SellerAccount(seller_id=s.seller_id, credentials=factory.sandbox_credentials(s.seller_id))
                for s in shops
                if s.marketplace == marketplace
            )
            base = self.options.get(marketplace, SandboxOptions(faults=self.faults))
            self.sandboxes[marketplace] = factory.create_sandbox(base.model_copy(update={"sellers": sellers}))
        return self.sandboxes[marketplace]


@dataclass
class AppContext:
    """Everything a run needs, built once per process (or per test)."""

    settings: Settings
    engine: Engine
    registry: AdapterRegistry
    sandbox_hub: SandboxHub
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        registry: AdapterRegistry | None = None,
        engine: Engine | None = None,
        sandbox_hub: SandboxHub | None = None,
        migrate: bool = True,
        on_lock_wait: Callable[[float], None] | None = None,
    ) -> AppContext:
        """Wire settings, database (migrated) and adapters; fail early on an unknown marketplace.

        `on_lock_wait` is told when a transaction starts waiting for a busy SQLite database.
        """
        from connector.redact import install_log_redaction

        install_log_redaction()  # httpx logs request URLs, where Lazada carries tokens and signatures
        registry = registry or AdapterRegistry.from_entry_points()
        registry.require(s.marketplace for s in settings.shops)
        database = settings.database
        engine = engine or make_engine(
            database.effective_url(), lock_timeout_s=database.lock_timeout_s, on_lock_wait=on_lock_wait
        )
        if migrate:
            upgrade(engine)
        return cls(settings, engine, registry, sandbox_hub or SandboxHub(registry))

    def http_client(self, shop: ShopSettings) -> httpx.AsyncClient:
        """An HTTP client for one shop: over the network, or into its in-process sandbox."""
        timeout = httpx.Timeout(self.settings.http.timeout_s, connect=self.settings.http.connect_timeout_s)
        limits = httpx.Limits(max_connections=self.settings.http.max_connections)
        if shop.base_url == SANDBOX_URL:
            sandbox = self.sandbox_hub.for_marketplace(shop.marketplace, list(self.settings.shops))
            return httpx.AsyncClient(
                transport=SandboxTransport(sandbox.app), base_url="http://sandbox.local", timeout=timeout
            )
        return httpx.AsyncClient(base_url=shop.base_url, timeout=timeout, limits=limits)

    def adapter(self, shop: ShopSettings, http: httpx.AsyncClient) -> MarketplaceAdapter:
        """Build the adapter for one shop, with credentials from the environment (or the sandbox)."""
        factory = self.registry.get(shop.marketplace)
        if shop.base_url == SANDBOX_URL:
            from pydantic import SecretStr

            creds = {k: SecretStr(v) for k, v in factory.sandbox_credentials(shop.seller_id).items()}
        else:
            creds = shop.credentials(factory.credential_names)
        config = AdapterConfig(
            marketplace=shop.marketplace,
            shop_id=shop.id,
            seller_id=shop.seller_id,
            base_url=str(http.base_url),
            credentials=creds,
            options=shop.options,
        )
        return factory.from_config(config, http)
