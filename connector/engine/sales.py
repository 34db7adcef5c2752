"""Sales -> stock: pull a shop's order lines updated since its watermark; count each sale once, give back once.

Orders are read by *update* time, so an order a buyer cancels or returns after we counted it
comes back. Each page is recorded in one transaction: the `sale` rows (unique per shop,
order and line, so a line re-read after a crash or an overlapping window counts once), the
stock moves (`catalog_store.adjust_stock`, never below zero; a line that could not be covered
is flagged oversold), their ledger rows (`connector.catalog.ledger`, unique per shop, order,
line and kind) and the watermark advance. A counted line later cancelled, or returned when
the shop's `restock_on_return` is "received", gives back exactly what it took, once (a line
both cancelled and returned is given back once). A failed pull restarts from the last
committed page.

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
from connector.catalog.ledger import RESTORE_KINDS, LineRef, MoveKind, has_move, record_move
from connector.catalog.store import UnknownSkuError, adjust_stock
from connector.engine.observe import drive_pages
from connector.engine.retry import CallPolicy
from connector.store import session_scope
from connector.store.models import ProductRow, SaleRow, ShopRow
from schemas.listing import OrderLine, OrdersPage

__all__ = ["SalesPolicy", "SalesResult", "pull_sales", "record_lines"]

Fence = Callable[[Session], None]


@dataclass
class SalesResult:
    """What one pull recorded."""

    recorded: int = 0
    oversold: int = 0
    restored: int = 0
    skus: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class SalesPolicy:
    """How one shop's order changes move stock: `restock_on_return` is "received" or "never"."""

    restock_on_return: str = "received"
    run_id: int | None = None


def _adjust(session: Session, sku: str, delta: int, now: datetime) -> tuple[int, int, str]:
    try:
        applied, stock = adjust_stock(session, sku, delta, now)
    except UnknownSkuError:
        return 0, 0, "SKU not in the catalog"
    return applied, stock, ""


def _count_sale(session: Session, ref: LineRef, line: OrderLine, now: datetime, result: SalesResult) -> None:
    applied, stock, note = _adjust(session, line.seller_sku, -line.quantity, now)
    taken = -applied
    sale = SaleRow(
        shop_id=ref.shop_id,
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
    if sale.oversold and not note:
        note = f"oversold: {line.quantity - taken} of {line.quantity} not in stock"
    record_move(session, line.seller_sku, MoveKind.SALE, applied, stock, now, line=ref, note=note)
    result.recorded += 1
    result.oversold += int(sale.oversold)
    if taken:
        result.skus.add(line.seller_sku)


def _give_back(
    session: Session, ref: LineRef, sale: SaleRow, kind: MoveKind, now: datetime, result: SalesResult
) -> None:
    if has_move(session, ref, RESTORE_KINDS):
        return  # given back already (this event seen before, or cancelled and then returned)
    product = session.get(ProductRow, sale.sku)
    applied, stock, note = 0, product.stock if product is not None else 0, "nothing had been taken"
    if sale.applied_quantity:
        applied, stock, note = _adjust(session, sale.sku, sale.applied_quantity, now)
    record_move(session, sale.sku, kind, applied, stock, now, line=ref, note=note)
    result.restored += 1
    if applied:
        result.skus.add(sale.sku)


def _record_line(
    session: Session, shop_id: str, line: OrderLine, now: datetime, result: SalesResult, policy: SalesPolicy
) -> None:
    ref = LineRef(shop_id, line.order_id, line.line_id, policy.run_id)
    sale = session.exec(
        select(SaleRow).where(
            SaleRow.shop_id == shop_id, SaleRow.order_id == line.order_id, SaleRow.line_id == line.line_id
        )
    ).first()
    if sale is None:
        if not (line.cancelled or line.returned):
            _count_sale(session, ref, line, now, result)
        return  # else: cancelled or returned before we ever counted it
    if line.cancelled:
        _give_back(session, ref, sale, MoveKind.CANCEL, now, result)
    elif line.returned and policy.restock_on_return == "received":
        _give_back(session, ref, sale, MoveKind.RETURN, now, result)


def record_lines(
    session: Session,
    shop_id: str,
    lines: tuple[OrderLine, ...],
    now: datetime,
    result: SalesResult,
    policy: SalesPolicy | None = None,
) -> datetime | None:
    """Record one page of order lines in the caller's transaction; return the page's newest update time."""
    policy = policy or SalesPolicy()
    newest: datetime | None = None
    for line in lines:
        _record_line(session, shop_id, line, now, result, policy)
        newest = line.changed_at if newest is None or line.changed_at > newest else newest
    return newest


async def pull_sales(
    engine: Engine,
    shop_id: str,
    adapter: MarketplaceAdapter,
    calls: CallPolicy,
    clock: Callable[[], datetime],
    fence: Fence | None = None,
    policy: SalesPolicy | None = None,
) -> SalesResult:
    """Pull order lines of one shop updated since its watermark and apply them to canonical stock.

    Returns what was recorded (sales counted, lines given back, SKUs whose stock moved).
    """
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
            newest = record_lines(session, shop_id, page.lines, clock(), result, policy)
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
