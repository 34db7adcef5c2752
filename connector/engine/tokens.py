"""Marketplace tokens: stored encrypted at rest, refreshed before they expire, warned about early.

Tokens (e.g. Tiki's rotating refresh token) come out of an adapter with `export_tokens()`
and go back in with `import_tokens()`. They are stored in `shop_secret` encrypted with
Fernet; the key comes only from the environment (`OCOP_SYNC_SECRET_KEY`, several keys
separated by commas to rotate: the first encrypts, every one decrypts). Token values are never
logged, printed or put in an exception message.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Engine
from sqlmodel import Session

from connector.clock import aware, expiring_soon
from connector.store import session_scope
from connector.store.models import ShopRow, ShopSecretRow

if TYPE_CHECKING:
    from adapters.base import MarketplaceAdapter, TokenInfo
    from connector.context import AppContext
    from connector.settings import ShopSettings

SECRET_KEY_ENV = "OCOP_SYNC_SECRET_KEY"
log = logging.getLogger("ocop_sync.tokens")


class SecretKeyError(RuntimeError):
    """The encryption key is missing or invalid, or a stored secret cannot be decrypted with it."""


class TokenVault:
    """Encrypts and decrypts a shop's token dictionary; never reveals the key or the values."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise SecretKeyError(f"{SECRET_KEY_ENV} is not set (see docs/operations.md, 'Marketplace tokens')")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except ValueError as exc:
            raise SecretKeyError(f"{SECRET_KEY_ENV} is not a valid Fernet key (32 url-safe base64 bytes)") from exc

    def __repr__(self) -> str:
        return "TokenVault(<keys hidden>)"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TokenVault | None:
        """The vault keyed by the environment, or None when no key is configured."""
        env = os.environ if env is None else env
        keys = env.get(SECRET_KEY_ENV, "")
        return cls(keys) if keys.strip() else None

    @staticmethod
    def generate_key() -> str:
        """A new random key for `OCOP_SYNC_SECRET_KEY`."""
        return Fernet.generate_key().decode()

    def encrypt(self, tokens: Mapping[str, str]) -> bytes:
        """Ciphertext of the token dictionary."""
        return self._fernet.encrypt(json.dumps(dict(tokens), sort_keys=True).encode())

    def decrypt(self, ciphertext: bytes) -> dict[str, str]:
        """The token dictionary back, or SecretKeyError when no configured key opens it."""
        try:
            data = json.loads(self._fernet.decrypt(ciphertext))
        except InvalidToken as exc:
            raise SecretKeyError(
                f"stored tokens cannot be decrypted with {SECRET_KEY_ENV} (wrong or rotated-out key)"
            ) from exc
        return {str(k): str(v) for k, v in data.items()}


def load_tokens(session: Session, vault: TokenVault, shop_id: str) -> dict[str, str] | None:
    """A shop's stored tokens, decrypted; None when none were stored."""
    row = session.get(ShopSecretRow, shop_id)
    return None if row is None else vault.decrypt(row.ciphertext)


def save_tokens(session: Session, vault: TokenVault, shop_id: str, tokens: Mapping[str, str], now: datetime) -> None:
    """Store a shop's tokens encrypted (in the caller's transaction, so a rotated pair lands atomically)."""
    row = session.get(ShopSecretRow, shop_id)
    if row is None:
        row = ShopSecretRow(shop_id=shop_id, ciphertext=vault.encrypt(tokens), updated_at=now)
    else:
        row.ciphertext, row.updated_at = vault.encrypt(tokens), now
    session.add(row)


@dataclass(frozen=True)
class TokenState:
    """One shop's token expiry as the refresher left it."""

    shop_id: str
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    refreshed: bool = False
    error: str = ""

    def expires_at(self) -> datetime | None:
        """When a person must act: the refresh token's expiry (None when access renews by itself)."""
        return self.refresh_expires_at


def needs_refresh(expires_at: datetime | None, now: datetime, margin: timedelta) -> bool:
    """True when the access token is unknown or expires within `margin`."""
    return expires_at is None or aware(expires_at) - now <= margin


async def refresh_shop_tokens(
    ctx: AppContext, shop: ShopSettings, vault: TokenVault | None, *, margin: timedelta
) -> TokenState:
    """Load stored tokens into the shop's adapter, refresh when near expiry, store the result encrypted."""
    import asyncio

    from adapters.errors import AdapterError

    now = ctx.clock()
    async with ctx.http_client(shop) as http:
        adapter = ctx.adapter(shop, http)
        if vault is not None:
            stored = await asyncio.to_thread(_load, ctx.engine, vault, shop.id)
            if stored:
                adapter.import_tokens(stored)
        info = adapter.token_info()
        refreshed = False
        if needs_refresh(info.access_expires_at, now, margin):
            try:
                info = await adapter.refresh_auth()
            except AdapterError as exc:
                log.error("shop %s: token refresh failed / làm mới token thất bại: %s", shop.id, exc)
                return TokenState(shop.id, info.access_expires_at, info.refresh_expires_at, error=str(exc))
            refreshed = True
        tokens = adapter.export_tokens()
    state = TokenState(shop.id, info.access_expires_at, info.refresh_expires_at, refreshed)
    await asyncio.to_thread(_persist, ctx.engine, vault, shop.id, tokens if refreshed else None, state, now)
    if expiring_soon(state.expires_at(), now):
        log.warning(
            "shop %s: marketplace authorisation expires %s, re-authorise within 7 days / "
            "ủy quyền gian hàng hết hạn %s, cần cấp lại trong 7 ngày",
            shop.id,
            state.expires_at(),
            state.expires_at(),
        )
    return state


def _load(engine: Engine, vault: TokenVault, shop_id: str) -> dict[str, str] | None:
    with Session(engine) as session:
        return load_tokens(session, vault, shop_id)


def _persist(
    engine: Engine,
    vault: TokenVault | None,
    shop_id: str,
    tokens: Mapping[str, str] | None,
    state: TokenState,
    now: datetime,
) -> None:
    with session_scope(engine) as session:
        shop = session.get(ShopRow, shop_id)
        if shop is None:
            return  # the engine mirrors shops from settings on its first run; nothing to record yet
        shop.token_expires_at, shop.refresh_expires_at = state.access_expires_at, state.refresh_expires_at
        session.add(shop)
        if vault is not None and tokens:
            save_tokens(session, vault, shop_id, tokens, now)


def store_connection(
    engine: Engine, vault: TokenVault, shop: ShopSettings, tokens: Mapping[str, str], info: TokenInfo, now: datetime
) -> None:
    """Store a newly connected shop's tokens encrypted and record their expiry on its shop row."""
    with session_scope(engine) as session:
        row = session.get(ShopRow, shop.id) or ShopRow(
            id=shop.id, marketplace=shop.marketplace, seller_id=shop.seller_id
        )
        row.token_expires_at, row.refresh_expires_at = info.access_expires_at, info.refresh_expires_at
        session.add(row)
        session.flush()
        save_tokens(session, vault, shop.id, tokens, now)


def forget_tokens(engine: Engine, shop_id: str) -> bool:
    """Delete a shop's stored tokens and their recorded expiry; True when tokens were stored."""
    with session_scope(engine) as session:
        row = session.get(ShopSecretRow, shop_id)
        if row is not None:
            session.delete(row)
        shop = session.get(ShopRow, shop_id)
        if shop is not None:
            shop.token_expires_at = shop.refresh_expires_at = None
            session.add(shop)
        return row is not None


@dataclass(frozen=True)
class Connection:
    """One shop as `shop list` shows it: whether tokens are stored and when they expire."""

    shop_id: str
    stored_tokens: bool
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None


def connections(engine: Engine, shop_ids: list[str]) -> list[Connection]:
    """The connection state of each shop (no token is decrypted or read)."""
    with Session(engine) as session:
        out = []
        for shop_id in shop_ids:
            secret_row = session.get(ShopSecretRow, shop_id)
            shop = session.get(ShopRow, shop_id)
            out.append(
                Connection(
                    shop_id,
                    secret_row is not None,
                    aware(shop.token_expires_at) if shop and shop.token_expires_at else None,
                    aware(shop.refresh_expires_at) if shop and shop.refresh_expires_at else None,
                )
            )
        return out


async def load_stored_tokens(ctx: AppContext, shop: ShopSettings, adapter: MarketplaceAdapter) -> bool:
    """Give the adapter the shop's stored tokens (when a key is configured and tokens exist); True when given."""
    import asyncio

    vault = TokenVault.from_env()
    if vault is None:
        return False
    stored = await asyncio.to_thread(_load, ctx.engine, vault, shop.id)
    if stored:
        adapter.import_tokens(stored)
    return bool(stored)
