"""Connecting a shop: the seller-authorisation handshake, its single-use `state`, and storing what it yields.

Lazada (always) and Tiki partner apps (`options.grant = "authorization_code"`) connect through
the seller's browser: `begin_connect` builds the authorisation address with a random `state`
(and a PKCE pair where the marketplace supports it); `finish_connect` takes what the browser
was sent back to (the full address, or just the code), checks the state — unknown, wrong or
already used states are refused — exchanges the code and stores the tokens encrypted. Tiki
in-house apps and Voso connect with their credentials alone (`connect_with_credentials`).
No code, verifier or token is ever logged, printed or put in an error message.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.base import MarketplaceAdapter, TokenInfo
from adapters.oauth import Pkce, SellerAuthorization, read_redirect
from connector.engine.tokens import TokenVault, forget_tokens, store_connection

if TYPE_CHECKING:
    from connector.context import AppContext
    from connector.settings import ShopSettings

log = logging.getLogger("ocop_sync.connect")
STATE_TTL = timedelta(minutes=15)
DEFAULT_REDIRECT = "http://127.0.0.1:8000/oauth/{marketplace}/callback"


class ConnectError(RuntimeError):
    """The handshake cannot complete (bad state, no browser step, no vault); the message is safe to show."""


@dataclass
class _Issued:
    shop_id: str
    issued_at: datetime


@dataclass
class StateBook:
    """The `state` values handed out and not yet redeemed; each redeems once, for its own shop, within 15 min."""

    issued: dict[str, _Issued] = field(default_factory=dict)

    def issue(self, shop_id: str, now: datetime) -> str:
        """A new random state for `shop_id`."""
        state = secrets.token_urlsafe(24)
        self.issued[state] = _Issued(shop_id, now)
        return state

    def redeem(self, state: str, shop_id: str, now: datetime) -> None:
        """Accept `state` once for `shop_id`; ConnectError for an unknown, replayed, foreign or stale one."""
        entry = self.issued.pop(state, None)
        if entry is None:
            raise ConnectError("unknown or already used state: start `shop connect` again")
        if entry.shop_id != shop_id:
            raise ConnectError("the state was issued for another shop")
        if now - entry.issued_at > STATE_TTL:
            raise ConnectError("the authorisation took longer than 15 minutes: start again")


@dataclass(frozen=True)
class ConnectStart:
    """What the operator must do: open `url` (empty: no browser step), then hand back the redirect."""

    shop_id: str
    url: str
    state: str
    redirect_uri: str
    pkce: Pkce | None = None

    def __repr__(self) -> str:
        return f"ConnectStart(shop_id={self.shop_id!r}, browser={bool(self.url)})"


@dataclass(frozen=True)
class Connected:
    """A completed connection: the account (when the marketplace names it) and the token expiries."""

    shop_id: str
    account: str
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None


def redirect_uri_of(shop: ShopSettings) -> str:
    """The shop's registered redirect address (`options.redirect_uri`, else our local callback)."""
    return str(shop.options.get("redirect_uri") or DEFAULT_REDIRECT.format(marketplace=shop.marketplace))


def browser_flow(adapter: MarketplaceAdapter) -> SellerAuthorization | None:
    """The adapter's seller-authorisation side, or None when credentials alone connect the shop."""
    if isinstance(adapter, SellerAuthorization) and adapter.uses_browser_authorization():
        return adapter
    return None


def require_vault(vault: TokenVault | None) -> TokenVault:
    """The vault, or ConnectError: connected tokens must be stored encrypted."""
    if vault is None:
        raise ConnectError("OCOP_SYNC_SECRET_KEY is not set: tokens cannot be stored encrypted")
    return vault


async def begin_connect(ctx: AppContext, shop: ShopSettings, book: StateBook) -> ConnectStart:
    """Start connecting `shop`: the authorisation address (with state and PKCE) or an empty one."""
    async with ctx.http_client(shop) as http:
        flow = browser_flow(ctx.adapter(shop, http))
        if flow is None:
            return ConnectStart(shop.id, "", "", "")
        redirect_uri = redirect_uri_of(shop)
        state = book.issue(shop.id, ctx.clock())
        pkce = Pkce.new()
        url = flow.authorize_url(redirect_uri=redirect_uri, state=state, code_challenge=pkce.challenge)
    return ConnectStart(shop.id, url, state, redirect_uri, pkce)


async def finish_connect(
    ctx: AppContext, shop: ShopSettings, vault: TokenVault, start: ConnectStart, pasted: str, book: StateBook
) -> Connected:
    """Check the returned state, exchange the code and store the tokens encrypted."""
    redirect = read_redirect(pasted, marketplace=shop.marketplace)
    book.redeem(redirect.state if redirect.state is not None else start.state, shop.id, ctx.clock())
    async with ctx.http_client(shop) as http:
        adapter = ctx.adapter(shop, http)
        flow = browser_flow(adapter)
        if flow is None:
            raise ConnectError(f"shop {shop.id} does not connect through a browser")
        verifier = start.pkce.verifier if start.pkce else ""
        info = await flow.exchange_code(redirect.code, redirect_uri=start.redirect_uri, code_verifier=verifier)
        return await _store(ctx, shop, vault, adapter, info)


async def connect_with_credentials(ctx: AppContext, shop: ShopSettings, vault: TokenVault) -> Connected:
    """Log in with the shop's credentials (client credentials, Voso login) and store the token."""
    async with ctx.http_client(shop) as http:
        adapter = ctx.adapter(shop, http)
        info = await adapter.refresh_auth()
        return await _store(ctx, shop, vault, adapter, info)


async def _store(
    ctx: AppContext, shop: ShopSettings, vault: TokenVault, adapter: MarketplaceAdapter, info: TokenInfo
) -> Connected:
    tokens = adapter.export_tokens()
    await asyncio.to_thread(store_connection, ctx.engine, vault, shop, tokens, info, ctx.clock())
    log.info("shop %s connected / đã kết nối gian hàng (account %s)", shop.id, info.account or "-")
    return Connected(shop.id, info.account, info.access_expires_at, info.refresh_expires_at)


async def disconnect(ctx: AppContext, shop: ShopSettings) -> bool:
    """Remove the shop's stored tokens; True when there were any."""
    return await asyncio.to_thread(forget_tokens, ctx.engine, shop.id)
