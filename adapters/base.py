"""The contract between the engine and a marketplace adapter, and the adapter registry.

An adapter is a class satisfying `MarketplaceAdapter`, built by `from_config` with its own
`httpx.AsyncClient` (so tests can hand it an in-process transport). Adapters translate
between `schemas` models and their marketplace's HTTP API and raise `adapters.errors`; they
never retry, sleep, or touch the database. They register under the `ocop_sync.adapters`
entry-point group, and the engine finds them only through `AdapterRegistry`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from adapters.errors import ConfigError, ResponseShapeError
from adapters.paging import ListingRead
from schemas.listing import (
    CreateResult,
    EventBatch,
    ItemResult,
    Listing,
    ListingContent,
    ListingDraft,
    ListingRef,
    ListingsPage,
    OrdersPage,
    PriceStockUpdate,
)

if TYPE_CHECKING:
    from adapters.sandbox.app import Sandbox, SandboxOptions

ENTRY_POINT_GROUP = "ocop_sync.adapters"


class ContentRules(BaseModel):
    """A marketplace's published content rules, checked before any create or content update."""

    model_config = ConfigDict(frozen=True)

    title_max_chars: int = 255
    description_max_chars: int = 50_000
    images_min: int = 0
    images_max: int = 20
    images_https: bool = True
    price_min_vnd: int = 0
    price_max_vnd: int = 1_000_000_000
    required_attributes: tuple[str, ...] = Field(default=(), description="asked by every category")


class Capabilities(BaseModel):
    """What a marketplace API can do, and its published limits, as the engine needs them."""

    model_config = ConfigDict(frozen=True)

    page_size: int = Field(gt=0, description="listings per read page (maximum the API allows)")
    write_batch_size: int = Field(gt=0, description="SKUs per price/stock call")
    listing_since: bool = Field(description="the listing endpoint filters by update time")
    reviewed_creates: bool = Field(description="creates go through a review queue before going live")
    reviewed_content_updates: bool = False
    orders: bool = True
    requests_per_second: float = Field(gt=0, description="the published per-seller rate limit")
    content_rules: ContentRules = ContentRules()


class AdapterConfig(BaseModel):
    """One shop's connection: where the API is and the credentials (from the environment)."""

    model_config = ConfigDict(frozen=True)

    marketplace: str
    shop_id: str = Field(description="our id for the shop")
    seller_id: str = Field(description="the marketplace's id for the seller account")
    base_url: str
    credentials: Mapping[str, SecretStr] = Field(default_factory=dict)
    options: Mapping[str, Any] = Field(default_factory=dict)


class TokenInfo(BaseModel):
    """The state of a shop's access token; the secret itself never leaves the adapter."""

    model_config = ConfigDict(frozen=True)

    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    account: str = Field(default="", description="the seller account the tokens act for, when the marketplace says")


@runtime_checkable
class MarketplaceAdapter(Protocol):
    """What every marketplace adapter offers the engine. All calls are async and single-shot."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def list_listings(self, since: datetime | None = None) -> AsyncIterator[ListingsPage]:
        """Yield pages of the shop's listings, all of them or those updated since `since`."""
        ...

    def listing_read(self, since: datetime | None = None, partitions: int = 1) -> ListingRead:
        """A resumable read of the shop's listings (all, or those updated since `since`).

        `partitions` > 1 allows the read to split a scroll that must be read one page after
        another into up to that many independent time windows (`adapters.paging`).
        """
        ...

    async def get_listing(self, seller_sku: str) -> Listing | None:
        """Look one listing up by seller SKU; None when the marketplace has none."""
        ...

    async def create(self, draft: ListingDraft) -> CreateResult:
        """Create a listing (possibly only a review request); raises on failure."""
        ...

    async def update_content(self, ref: ListingRef, content: ListingContent) -> ItemResult:
        """Replace the content fields we own on one listing."""
        ...

    async def set_price_stock(self, batch: Sequence[PriceStockUpdate]) -> list[ItemResult]:
        """Set price and stock for up to `write_batch_size` SKUs; one result per SKU."""
        ...

    async def set_active(self, refs: Sequence[ListingRef], active: bool) -> list[ItemResult]:
        """Activate or deactivate listings; one result per SKU."""
        ...

    def list_orders(self, since: datetime | None = None) -> AsyncIterator[OrdersPage]:
        """Yield pages of order lines created since `since`."""
        ...

    async def refresh_auth(self) -> TokenInfo:
        """Obtain or refresh the access token; raises AuthFailed when a person must act."""
        ...

    def token_info(self) -> TokenInfo:
        """The current token's expiry, without any network call."""
        ...

    def export_tokens(self) -> dict[str, str]:
        """The current tokens (e.g. a rotated refresh token), for the engine to store encrypted."""
        ...

    def import_tokens(self, tokens: dict[str, str]) -> None:
        """Resume with tokens stored earlier by `export_tokens`."""
        ...


@runtime_checkable
class EventFeed(Protocol):
    """An adapter whose marketplace keeps an event queue we pull (Tiki): pull, then acknowledge.

    Delivery is at least once: an event pulled and not acknowledged comes back, possibly
    duplicated or out of order; the consumer records each `MarketEvent.message_id` once.
    """

    async def pull_events(self) -> EventBatch:
        """Pull the next events (setting up the queue and its subscriptions on first use)."""
        ...

    async def ack_events(self, batch: EventBatch) -> None:
        """Acknowledge a pulled batch, so it is not delivered again."""
        ...


class AdapterFactory(Protocol):
    """What the `ocop_sync.adapters` entry point resolves to (the adapter class)."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    credential_names: ClassVar[tuple[str, ...]]

    def from_config(self, config: AdapterConfig, http: httpx.AsyncClient) -> MarketplaceAdapter:
        """Build an adapter for one shop."""
        ...

    def create_sandbox(self, options: SandboxOptions) -> Sandbox:
        """Build this marketplace's HTTP simulator."""
        ...

    def sandbox_credentials(self, seller_id: str) -> dict[str, str]:
        """The sandbox-only credentials the simulator accepts for `seller_id` (not secrets)."""
        ...


@dataclass(frozen=True)
class AdapterRegistry:
    """The adapters available to this process, by name."""

    factories: Mapping[str, AdapterFactory]

    @classmethod
    def from_entry_points(cls) -> AdapterRegistry:
        """Load every adapter registered under the `ocop_sync.adapters` entry-point group."""
        found: dict[str, AdapterFactory] = {}
        for point in entry_points(group=ENTRY_POINT_GROUP):
            found[point.name] = point.load()
        return cls(found)

    def names(self) -> list[str]:
        """The registered adapter names, sorted."""
        return sorted(self.factories)

    def get(self, name: str) -> AdapterFactory:
        """The adapter called `name`, or a ConfigError listing the available ones."""
        try:
            return self.factories[name]
        except KeyError:
            raise ConfigError(
                f"unknown marketplace adapter {name!r}; available: {', '.join(self.names()) or 'none'}"
            ) from None

    def require(self, names: Iterable[str]) -> None:
        """Fail at start when any of `names` is not registered."""
        for name in names:
            self.get(name)


Model = TypeVar("Model", bound=BaseModel)


def parse_payload(model: type[Model], data: object, *, marketplace: str, operation: str, request_id: str = "") -> Model:
    """Validate a marketplace payload, turning validation errors into a ResponseShapeError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ResponseShapeError(
            f"unexpected response shape at {field or '<root>'}: {first['msg']}",
            field=field,
            marketplace=marketplace,
            operation=operation,
            request_id=request_id,
        ) from exc


def secret(config: AdapterConfig, name: str) -> str:
    """Read one credential from the config, raising ConfigError naming it when absent."""
    value = config.credentials.get(name)
    if value is None or not value.get_secret_value():
        raise ConfigError(f"{config.marketplace} shop {config.shop_id}: credential {name!r} is not set")
    return value.get_secret_value()


def optional_secret(config: AdapterConfig, name: str) -> str:
    """One credential from the config, or "" when absent (e.g. a token stored by `shop connect` instead)."""
    value = config.credentials.get(name)
    return value.get_secret_value() if value is not None else ""


Clock = Callable[[], datetime]
