"""The marketplace category cache: each shop's category tree and its mapped categories' required attributes.

Adapters that can read their category tree (`adapters.categories.CategoryReader`) are read at
most once per `sync.category_refresh_s`: the whole tree, and the attributes of every category
the shop's `options.category_map` names. What was read is kept in `market_category`, so
`shop categories`, the start-up check of `category_map` and the pre-flight of every run work
from the store. A failed read keeps the previous cache (and says so in the log).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from adapters.base import MarketplaceAdapter
from adapters.categories import Category, CategoryReader
from adapters.errors import AdapterError
from connector.clock import aware
from connector.store import session_scope
from connector.store.models import MarketCategoryRow

if TYPE_CHECKING:
    from connector.context import AppContext
    from connector.settings import ShopSettings

log = logging.getLogger("ocop_sync.categories")


class CategoryMapError(ValueError):
    """A shop's `category_map` names a category the marketplace's tree does not have (or one that takes no products)."""


def category_map_of(options: Mapping[str, Any]) -> dict[int, int]:
    """The shop's `options.category_map` as {OCOP product set: marketplace category id} (empty when unset)."""
    raw = options.get("category_map") or {}
    return {int(key): int(value) for key, value in dict(raw).items()}


@dataclass(frozen=True)
class CachedTree:
    """A shop's cached categories and when they were read (None: never)."""

    categories: tuple[Category, ...]
    required: Mapping[int, tuple[str, ...] | None]
    refreshed_at: datetime | None


def cached_tree(engine: Engine, shop_id: str) -> CachedTree:
    """What the cache holds for `shop_id`."""
    with Session(engine) as session:
        rows = session.exec(
            select(MarketCategoryRow).where(MarketCategoryRow.shop_id == shop_id).order_by(col(MarketCategoryRow.path))
        ).all()
    categories = tuple(Category(id=r.category_id, name=r.name, path=tuple(r.path), leaf=r.leaf) for r in rows)
    required = {r.category_id: (tuple(r.required) if r.required is not None else None) for r in rows}
    refreshed = min((aware(r.refreshed_at) for r in rows), default=None)
    return CachedTree(categories, required, refreshed)


def is_stale(tree: CachedTree, mapped: Sequence[int], now: datetime, max_age: timedelta) -> bool:
    """True when the cache is empty, older than `max_age`, or lacks the attributes of a mapped category."""
    if tree.refreshed_at is None or now - tree.refreshed_at >= max_age:
        return True
    known = {c.id for c in tree.categories if c.leaf}
    return any(cid in known and tree.required.get(cid) is None for cid in mapped)


def _store(
    engine: Engine, shop_id: str, tree: list[Category], required: dict[int, tuple[str, ...]], now: datetime
) -> None:
    with session_scope(engine) as session:
        session.exec(delete(MarketCategoryRow).where(col(MarketCategoryRow.shop_id) == shop_id))
        for category in {c.id: c for c in tree}.values():
            session.add(
                MarketCategoryRow(
                    shop_id=shop_id,
                    category_id=category.id,
                    name=category.name,
                    path=list(category.path),
                    leaf=category.leaf,
                    required=list(required[category.id]) if category.id in required else None,
                    refreshed_at=now,
                )
            )


async def read_categories(
    adapter: CategoryReader, mapped: Sequence[int]
) -> tuple[list[Category], dict[int, tuple[str, ...]]]:
    """The marketplace's tree and the mandatory attribute names of each mapped category it contains."""
    tree = await adapter.categories()
    known = {c.id for c in tree if c.leaf}
    required: dict[int, tuple[str, ...]] = {}
    for category_id in dict.fromkeys(mapped):
        if category_id in known:
            attributes = await adapter.category_attributes(category_id)
            required[category_id] = tuple(a.name for a in attributes if a.mandatory)
    return tree, required


async def refresh_categories(
    ctx: AppContext, shop: ShopSettings, adapter: MarketplaceAdapter, *, force: bool = False, strict: bool = False
) -> CachedTree | None:
    """The shop's cached tree, read again first when stale; None when the adapter cannot read categories.

    A failed read is logged and the previous cache (possibly empty) is returned; with `strict`
    it is raised when nothing was ever cached.
    """
    if not isinstance(adapter, CategoryReader):
        return None
    mapped = list(category_map_of(shop.options).values())
    now = ctx.clock()
    cached = await asyncio.to_thread(cached_tree, ctx.engine, shop.id)
    if not force and not is_stale(cached, mapped, now, timedelta(seconds=ctx.settings.sync.category_refresh_s)):
        return cached
    try:
        tree, required = await read_categories(adapter, mapped)
    except AdapterError as exc:
        if strict and cached.refreshed_at is None:
            raise
        log.warning(
            "shop %s: category tree not read, using the cached one / không đọc được ngành hàng: %s", shop.id, exc
        )
        return cached
    await asyncio.to_thread(_store, ctx.engine, shop.id, tree, required, now)
    log.info("shop %s: %d categories cached / đã lưu ngành hàng", shop.id, len(tree))
    return await asyncio.to_thread(cached_tree, ctx.engine, shop.id)


async def run_requirements(
    ctx: AppContext, shop: ShopSettings, adapter: MarketplaceAdapter
) -> dict[int, tuple[str, ...]]:
    """For a run's pre-flight: the required attributes by OCOP product set (refreshing a stale cache).

    Nothing is read for a shop without a `category_map`: its categories are placeholders.
    """
    if not category_map_of(shop.options):
        return {}
    return required_by_set(shop, await refresh_categories(ctx, shop, adapter))


def required_by_set(shop: ShopSettings, tree: CachedTree | None) -> dict[int, tuple[str, ...]]:
    """For each mapped OCOP product set, the attributes its category requires (as cached)."""
    if tree is None:
        return {}
    out: dict[int, tuple[str, ...]] = {}
    for key, category_id in category_map_of(shop.options).items():
        names = tree.required.get(category_id)
        if names:
            out[key] = names
    return out


def map_problems(shop: ShopSettings, tree: CachedTree) -> list[str]:
    """Each `category_map` entry naming a category the cached tree does not have, or one that takes no products."""
    by_id = {c.id: c for c in tree.categories}
    problems = []
    for key, category_id in category_map_of(shop.options).items():
        found = by_id.get(category_id)
        if found is None:
            problems.append(
                f'shop {shop.id}: options.category_map["{key}"] = {category_id}: '
                f"not a {shop.marketplace} category / không phải ngành hàng của sàn"
            )
        elif not found.leaf:
            problems.append(
                f'shop {shop.id}: options.category_map["{key}"] = {category_id} ({" / ".join(found.path)}): '
                "a branch, not a leaf category / là nhóm, không phải ngành hàng cuối"
            )
    return problems


async def check_category_maps(ctx: AppContext, shop_ids: Sequence[str] | None = None) -> list[str]:
    """Start-up check: every `category_map` entry of the shops must name a leaf of the (cached) tree.

    Reads the tree when the cache is stale (with the shop's stored tokens); a shop whose tree
    cannot be read and was never cached is logged and not checked.
    """
    from connector.engine.tokens import load_stored_tokens

    problems: list[str] = []
    for shop in ctx.settings.shops:
        if (shop_ids is not None and shop.id not in shop_ids) or not category_map_of(shop.options):
            continue
        async with ctx.http_client(shop) as http:
            adapter = ctx.adapter(shop, http)
            if not isinstance(adapter, CategoryReader):
                continue
            await load_stored_tokens(ctx, shop, adapter)
            tree = await refresh_categories(ctx, shop, adapter)
        if tree is None or tree.refreshed_at is None:
            log.warning(
                "shop %s: category_map not checked, no category tree / chưa kiểm tra được category_map", shop.id
            )
            continue
        problems += map_problems(shop, tree)
    return problems
