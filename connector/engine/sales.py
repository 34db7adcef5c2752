"""Sales -> stock: pull a shop's order lines since its watermark and decrement canonical stock once per line.

Each page is recorded in one transaction: the `sale` rows (unique per shop, order and line,
so a line re-read after a crash or an overlapping window counts once), the stock moves
(`catalog_store.adjust_stock`, never below zero; a line that could not be covered is flagged
oversold) and the watermark advance. A failed pull restarts from the last committed page.

The first pull of a shop counts no history: on-hand stock in the catalog is taken to
already reflect earlier sales, so the watermark starts at that moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from adapters.base import MarketplaceAdapter
from connector.catalog.store import UnknownSkuError, adjust_stock
from connector.engine.observe import drive_pages
from connector.engine.retry import CallPolicy
from connector.store import session_scope
from connector.store.models import SaleRow, ShopRow
from schemas.listing import OrderLine, OrdersPage

__all__ = ["SalesResult", "pull_sales", "record_lines"]

Fence = Callable[[Session], None]


@dataclass
class SalesResult:
    """What one pull recorded."""

    recorded: int = 0
    oversold: int = 0
    skus: set[str] = field(default_factory=set)


def _record_line(session: Session, shop_id: str, line: OrderLine, now: datetime, result: SalesResult) -> None:
    exists = session.exec(
        select(SaleRow.id).where(
            SaleRow.shop_id == shop_id, SaleRow.order_id == line.order_id, SaleRow.line_id == line.line_id
        )
    ).first()
    if exists is not None or line.cancelled:
        return  # counted already, or cancelled before we ever counted it
    try:
        applied, _ = adjust_stock(session, line.seller_sku, -line.quantity, now)
    except UnknownSkuError:
        applied = 0
    taken = -applied
    sale = SaleRow(
        shop_id=shop_id,
        order_id=line.order_id,
        line_id=line.line_id,
        sku=line.seller_sku,
        quantity=line.quantity,
        applied_quantity=taken,
        oversold=taken < line.quantity,
        ordered_at=line.created_at,
        recorded_at=now,
    )
    session.add(sale)
    session.flush()
    result.recorded += 1
    result.oversold += int(sale.oversold)
    if taken:
        result.skus.add(line.seller_sku)


def record_lines(
    session: Session, shop_id: str, lines: tuple[OrderLine, ...], now: datetime, result: SalesResult
) -> datetime | None:
    """Record one page of order lines in the caller's transaction; return the page's newest line time."""
    newest: datetime | None = None
    for line in lines:
        _record_line(session, shop_id, line, now, result)
        newest = line.created_at if newest is None or line.created_at > newest else newest
    return newest


async def pull_sales(
    engine: Engine,
    shop_id: str,
    adapter: MarketplaceAdapter,
    calls: CallPolicy,
    clock: Callable[[], datetime],
    fence: Fence | None = None,
) -> SalesResult:
    """Pull new order lines of one shop and apply them to canonical stock; return what was recorded."""
    result = SalesResult()
    with session_scope(engine) as session:
        shop = session.get(ShopRow, shop_id)
        if shop is None:
            raise KeyError(shop_id)
        if shop.orders_watermark is None:
            if fence is not None:
                fence(session)
            shop.orders_watermark = clock()
            session.add(shop)
            return result

    async def on_page(page: OrdersPage) -> None:
        with session_scope(engine) as session:
            if fence is not None:
                fence(session)
            newest = record_lines(session, shop_id, page.lines, clock(), result)
            row = session.get(ShopRow, shop_id)
            if (
                row is not None
                and newest is not None
                and (row.orders_watermark is None or newest > row.orders_watermark)
            ):
                row.orders_watermark = newest
                session.add(row)

    async def attempt() -> None:
        with session_scope(engine) as session:
            row = session.get(ShopRow, shop_id)
            since = row.orders_watermark if row is not None else None
        await drive_pages(calls, lambda: adapter.list_orders(since=since), on_page)

    await calls.call(attempt)
    return result
