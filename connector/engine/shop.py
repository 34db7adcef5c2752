"""Opening one shop for a run: its settings, HTTP client, adapter, call policy and stored tokens.

Shared by real runs and dry runs. `Fence` is the check every write transaction of a run
makes first (the daemon passes a lease check); `Progress` receives (stage, done, total).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import Session

from adapters.base import MarketplaceAdapter
from adapters.errors import ConfigError
from connector.context import AppContext
from connector.engine.ratelimit import shop_limiter
from connector.engine.retry import CallPolicy
from connector.engine.tokens import TokenVault, load_tokens
from connector.settings import ShopSettings
from connector.store import session_scope
from connector.store.models import ShopRow

__all__ = ["Fence", "OpenShop", "Progress", "mirror_shop", "open_shop", "today"]

Fence = Callable[[Session], None]
Progress = Callable[[str, int, int], None]


@dataclass
class OpenShop:
    """One shop's open connection for a run: settings, HTTP client, adapter and call policy."""

    settings: ShopSettings
    http: httpx.AsyncClient
    adapter: MarketplaceAdapter
    calls: CallPolicy


def today(ctx: AppContext) -> date:
    """Today's date in the scheduler's time zone (certificate expiry is a local date)."""
    return ctx.clock().astimezone(ZoneInfo(ctx.settings.scheduler.timezone)).date()


def mirror_shop(session: Session, shop: ShopSettings) -> ShopRow:
    """The shop's row, created or updated from its settings."""
    row = session.get(ShopRow, shop.id) or ShopRow(id=shop.id, marketplace=shop.marketplace, seller_id=shop.seller_id)
    row.marketplace, row.seller_id, row.producer_id, row.enabled = (
        shop.marketplace,
        shop.seller_id,
        shop.producer_id,
        shop.enabled,
    )
    session.add(row)
    return row


def _load_tokens(ctx: AppContext, shop: ShopSettings, adapter: MarketplaceAdapter) -> None:
    vault = TokenVault.from_env()
    if vault is None:
        return  # no key configured: tokens live in memory for this run only
    with Session(ctx.engine) as session:
        stored = load_tokens(session, vault, shop.id)
    if stored:
        adapter.import_tokens(stored)


def open_shop(ctx: AppContext, shop_id: str, fence: Fence | None) -> OpenShop:
    """Connect to one shop (client, adapter, limiter, stored tokens) and mirror it into the store.

    Raises ConfigError for an unknown shop; the caller closes `OpenShop.http`.
    """
    try:
        settings = ctx.settings.shop(shop_id)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    http = ctx.http_client(settings)
    adapter = ctx.adapter(settings, http)
    caps = type(adapter).capabilities
    sync = ctx.settings.sync
    limiter = shop_limiter(
        caps.requests_per_second, sync.rate_limit_share, sync.rate_limit_max_share, settings.requests_per_second
    )
    limiter.install(http)  # one request, one token: auth and multi-request adapter calls included
    calls = CallPolicy(
        ctx.settings.retry, limiter, refresh=adapter.refresh_auth, concurrency=ctx.settings.sync.read_concurrency
    )
    _load_tokens(ctx, settings, adapter)
    with session_scope(ctx.engine) as session:
        if fence is not None:
            fence(session)
        mirror_shop(session, settings)
    return OpenShop(settings, http, adapter, calls)
