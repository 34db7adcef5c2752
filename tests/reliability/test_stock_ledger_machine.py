"""A stateful property test of the order lifecycle on the stock ledger.

Hypothesis draws buyers' sales, cancellations and returns on one SKU (whole lines, and
Lazada orders whose units a buyer cancels a few at a time, mapped to lines by the Lazada
adapter's `order_lines`), and reads of the marketplace's order list that may repeat,
overlap, reorder or duplicate lines (re-reads, overlapping windows, duplicated events).
Invariants after every step: stock never negative; stock equals the opening stock plus
every ledger movement (every movement counted); each line has at most one sale and at most
one give-back, and a give-back returns exactly what the sale took; after a full read every
counted cancelled line (and returned line, with restock_on_return = "received") has been
given back.
"""

from __future__ import annotations

import itertools
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlmodel import Session, delete, select

from adapters.lazada.mapping import LzOrder, LzOrderItem, order_lines
from connector.catalog.store import upsert_catalog
from connector.engine.sales import SalesPolicy, SalesResult, record_lines
from connector.store import make_engine, session_scope, upgrade
from connector.store.models import ProducerRow, ProductRow, SaleRow, ShopRow, StockMoveRow
from connector.testing.world import synthetic_catalog
from schemas.listing import OrderLine

pytestmark = pytest.mark.slow

T0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
SHOP = "lazada-ag"
_DB = Path(tempfile.mkdtemp(prefix="ledger-machine-")) / "ledger.db"
ENGINE = make_engine(f"sqlite:///{_DB}")
upgrade(ENGINE)
PRODUCERS, PRODUCTS = synthetic_catalog(1)
SKU = PRODUCTS[0].sku


class LedgerMachine(RuleBasedStateMachine):
    """Sales, cancels, returns and messy reads against `record_lines` and the ledger."""

    def __init__(self) -> None:
        super().__init__()
        with session_scope(ENGINE) as session:
            for table in (StockMoveRow, SaleRow, ProductRow, ProducerRow, ShopRow):
                session.exec(delete(table))
        self.opening = 5
        with session_scope(ENGINE) as session:
            session.add(ShopRow(id=SHOP, marketplace="lazada", seller_id="S"))
            upsert_catalog(session, PRODUCERS, [PRODUCTS[0].model_copy(update={"stock": self.opening})], T0)
        self.ids = itertools.count(1)
        self.orders: dict[tuple[str, str], OrderLine] = {}  # by (order, line)
        self.lazada: dict[str, tuple[datetime, list[LzOrderItem]]] = {}  # unit items by order
        self.ticks = itertools.count(1)
        self.policy = SalesPolicy(restock_on_return="received")

    def _now(self) -> datetime:
        return T0 + timedelta(seconds=next(self.ticks))

    def _read(self, lines: list[OrderLine]) -> None:
        with session_scope(ENGINE) as session:
            record_lines(session, SHOP, tuple(lines), self._now(), SalesResult(), self.policy)

    @rule(quantity=st.integers(1, 4))
    def sale(self, quantity: int) -> None:
        order_id = str(next(self.ids))
        now = self._now()
        self.orders[(order_id, f"L{order_id}")] = OrderLine(
            order_id=order_id, line_id=f"L{order_id}", seller_sku=SKU, quantity=quantity, created_at=now, updated_at=now
        )

    def _lazada_lines(self, order_id: str, updated: datetime) -> None:
        created, items = self.lazada[order_id]
        order = LzOrder(order_id=order_id, created_at=created.isoformat(), updated_at=updated.isoformat())
        for line in order_lines(order, items):
            self.orders[(order_id, line.line_id)] = line

    @rule(quantity=st.integers(1, 4))
    def lazada_sale(self, quantity: int) -> None:
        """A Lazada order of `quantity` units of the SKU (one order item per unit)."""
        order_id = str(9_000_000 + next(self.ids))
        items = [
            LzOrderItem(order_item_id=f"{order_id}{unit:03d}", order_id=order_id, sku=SKU, status="pending")
            for unit in range(quantity)
        ]
        now = self._now()
        self.lazada[order_id] = (now, items)
        self._lazada_lines(order_id, now)

    @precondition(lambda self: bool(self.lazada))
    @rule(data=st.data(), units=st.integers(1, 3))
    def lazada_partial_cancel(self, data: st.DataObject, units: int) -> None:
        """The buyer cancels `units` more units of a Lazada order (a partial cancel while any stay open)."""
        order_id = data.draw(st.sampled_from(sorted(self.lazada)))
        _, items = self.lazada[order_id]
        open_units = [i for i, item in enumerate(items) if item.status == "pending"]
        for i in open_units[:units]:
            items[i] = items[i].model_copy(update={"status": "canceled"})
        self._lazada_lines(order_id, self._now())

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), kind=st.sampled_from(["cancel", "return"]))
    def buyer_changes(self, data: st.DataObject, kind: str) -> None:
        key = data.draw(st.sampled_from(sorted(self.orders)))
        line = self.orders[key]
        change = {"cancelled": True} if kind == "cancel" else {"returned": True}
        self.orders[key] = line.model_copy(update={**change, "updated_at": self._now()})

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def messy_read(self, data: st.DataObject) -> None:
        """A window, an overlapping re-read or a duplicated event: any lines, any order, repeats allowed."""
        lines = data.draw(st.lists(st.sampled_from(sorted(self.orders)), max_size=8))
        self._read([self.orders[key] for key in lines])

    @rule()
    def full_read(self) -> None:
        self._read(list(self.orders.values()))
        with Session(ENGINE) as session:
            sales = {(s.order_id, s.line_id) for s in session.exec(select(SaleRow)).all()}
            restored = {
                (m.order_id, m.line_id)
                for m in session.exec(select(StockMoveRow)).all()
                if m.kind in ("cancel", "return")
            }
        for key, line in self.orders.items():
            if key in sales and (line.cancelled or line.returned):
                assert key in restored, (key, line)
        with Session(ENGINE) as session:
            moves = session.exec(select(StockMoveRow).where(StockMoveRow.kind.in_(("sale", "cancel", "return")))).all()  # type: ignore[attr-defined]
        kept: dict[str, int] = {}  # stock an order still holds
        for move in moves:
            assert move.order_id is not None
            kept[move.order_id] = kept.get(move.order_id, 0) - move.delta
        for order_id, held in kept.items():
            still_open = sum(
                x.quantity for (o, _), x in self.orders.items() if o == order_id and not (x.cancelled or x.returned)
            )
            assert held <= still_open, (order_id, held, still_open)  # a cancelled unit is never kept

    @invariant()
    def stock_is_explained_by_the_ledger(self) -> None:
        with Session(ENGINE) as session:
            product = session.get(ProductRow, SKU)
            moves = session.exec(select(StockMoveRow).where(StockMoveRow.sku == SKU)).all()
            sales = session.exec(select(SaleRow)).all()
        assert product is not None and product.stock >= 0
        assert product.stock == sum(m.delta for m in moves)  # the import of the opening stock is a movement too
        per_line: dict[tuple[str, str | None], list[StockMoveRow]] = {}
        for move in moves:
            if move.order_id is not None:
                per_line.setdefault((move.order_id, move.line_id), []).append(move)
        for line_moves in per_line.values():
            kinds = [m.kind for m in line_moves]
            assert kinds.count("sale") == 1, kinds
            assert kinds.count("cancel") + kinds.count("return") <= 1, kinds
            if len(line_moves) == 2:
                assert line_moves[1].delta == -line_moves[0].delta
        for sale in sales:
            line = self.orders[(sale.order_id, sale.line_id)]
            assert sale.applied_quantity <= line.quantity


LedgerMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestStockLedgerMachine = LedgerMachine.TestCase
