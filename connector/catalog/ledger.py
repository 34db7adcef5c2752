"""The stock ledger: every movement of canonical stock with its source, so a stock number can be explained.

A movement is a sale (an order line counted), a cancel or return (a counted line given
back), a manual correction (an operator or API edit) or an import (a catalog file). Order
movements are unique per (shop, order, line, kind): a line re-read after a crash or in an
overlapping window finds its movement already there and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from connector.store.models import ProductRow, StockMoveRow

__all__ = [
    "MoveKind",
    "StockExplanation",
    "explain_stock",
    "has_move",
    "record_move",
]


class MoveKind(StrEnum):
    """Why canonical stock moved."""

    SALE = "sale"
    CANCEL = "cancel"
    RETURN = "return"
    MANUAL = "manual"
    IMPORT = "import"


RESTORE_KINDS = (MoveKind.CANCEL, MoveKind.RETURN)


@dataclass(frozen=True)
class LineRef:
    """Where an order movement came from: the shop, order and line (and the run that read it)."""

    shop_id: str
    order_id: str
    line_id: str
    run_id: int | None = None


def record_move(
    session: Session,
    sku: str,
    kind: MoveKind,
    delta: int,
    stock_after: int,
    now: datetime,
    *,
    line: LineRef | None = None,
    note: str = "",
) -> StockMoveRow:
    """Add one movement to the ledger in the caller's transaction."""
    row = StockMoveRow(
        sku=sku,
        kind=kind.value,
        delta=delta,
        stock_after=stock_after,
        shop_id=line.shop_id if line else None,
        order_id=line.order_id if line else None,
        line_id=line.line_id if line else None,
        run_id=line.run_id if line else None,
        note=note[:500],
        at=now,
    )
    session.add(row)
    session.flush()
    return row


def has_move(session: Session, line: LineRef, kinds: tuple[MoveKind, ...]) -> bool:
    """Whether the ledger already holds a movement of one of `kinds` for this order line."""
    found = session.exec(
        select(StockMoveRow.id).where(
            StockMoveRow.shop_id == line.shop_id,
            StockMoveRow.order_id == line.order_id,
            StockMoveRow.line_id == line.line_id,
            col(StockMoveRow.kind).in_([k.value for k in kinds]),
        )
    ).first()
    return found is not None


@dataclass(frozen=True)
class StockExplanation:
    """Today's stock of one SKU and the movements behind it (oldest first).

    `opening` is the stock before the first recorded movement (stock that predates the ledger).
    """

    sku: str
    name: str
    stock: int
    opening: int
    moves: tuple[StockMoveRow, ...]

    @property
    def totals(self) -> dict[str, int]:
        """The sum of deltas per movement kind."""
        sums: dict[str, int] = {}
        for move in self.moves:
            sums[move.kind] = sums.get(move.kind, 0) + move.delta
        return sums


def explain_stock(session: Session, sku: str, limit: int = 200) -> StockExplanation | None:
    """The SKU's current stock and its movements (the newest `limit`), or None for an unknown SKU."""
    product = session.get(ProductRow, sku)
    if product is None:
        return None
    rows = session.exec(
        select(StockMoveRow).where(StockMoveRow.sku == sku).order_by(col(StockMoveRow.id).desc()).limit(limit)
    ).all()
    moves = tuple(reversed(rows))
    opening = product.stock - sum(m.delta for m in moves)
    return StockExplanation(sku=sku, name=product.name, stock=product.stock, opening=opening, moves=moves)
