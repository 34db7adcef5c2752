"""Order lifecycle over HTTP: a counted line cancelled or returned later gives its stock back exactly once.

Buyers act through the sandboxes' control endpoints (`POST /_sandbox/orders`,
`POST /_sandbox/orders/{order_id}/cancel|return`); the engine reads orders by update time
through each marketplace's real API shape.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, col, select

from adapters.sandbox import Sandbox
from connector.context import AppContext
from connector.engine.run import sync_shops
from connector.store import session_scope
from connector.store.models import ProductRow, ShopRow, StockMoveRow
from schemas.sync import RunKind
from tests.engine.conftest import BuildCtx, sandboxes, seller, settle_reviews, shop_id

MARKETPLACES = ("lazada", "tiki", "voso")


async def _control(sandbox: Sandbox, path: str, body: dict[str, object]) -> dict[str, object]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        reply = await client.post(path, json=body)
    assert reply.status_code == 200, reply.text
    data: dict[str, object] = reply.json()
    return data


def _stock(ctx: AppContext, sku: str) -> int:
    with Session(ctx.engine) as session:
        row = session.get(ProductRow, sku)
        assert row is not None
        return row.stock


def _moves(ctx: AppContext, sku: str) -> list[tuple[str, int, str | None]]:
    with Session(ctx.engine) as session:
        rows = session.exec(select(StockMoveRow).where(StockMoveRow.sku == sku).order_by(col(StockMoveRow.id))).all()
        return [(r.kind, r.delta, r.order_id) for r in rows if r.kind in ("sale", "cancel", "return")]


async def _ready(build_ctx: BuildCtx, **overrides: object) -> AppContext:
    ctx = build_ctx(catalog_size=6, shop_overrides=overrides or None)
    for _ in range(4):
        await sync_shops(ctx, kind=RunKind.FULL)
        settle_reviews(ctx)
    return ctx


def _sku_on_sale(sandbox: Sandbox, marketplace: str) -> str:
    return next(
        s for s, x in sorted(sandbox.store.shop(seller(marketplace)).items()) if x.stock > 5 and x.status == "active"
    )


def _rewind_watermark(ctx: AppContext, marketplace: str, seconds: float) -> None:
    with session_scope(ctx.engine) as session:
        shop = session.get(ShopRow, shop_id(marketplace))
        assert shop is not None and shop.orders_watermark is not None
        shop.orders_watermark = shop.orders_watermark - timedelta(seconds=seconds)
        session.add(shop)


@pytest.mark.slow
@pytest.mark.parametrize("marketplace", MARKETPLACES)
async def test_cancel_after_count_restores_stock_once_even_when_seen_twice(
    build_ctx: BuildCtx, marketplace: str
) -> None:
    ctx = await _ready(build_ctx)
    box = sandboxes(ctx)[marketplace]
    sku = _sku_on_sale(box, marketplace)
    start = _stock(ctx, sku)

    placed = await _control(
        box, "/_sandbox/orders", {"seller_id": seller(marketplace), "seller_sku": sku, "quantity": 2}
    )
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start - 2

    box.clock.advance(2)
    await _control(box, f"/_sandbox/orders/{placed['order_id']}/cancel", {"seller_id": seller(marketplace)})
    box.clock.advance(2)
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start

    # the same cancellation seen again: a plain re-run, then an overlapping window that re-reads it
    await sync_shops(ctx)
    _rewind_watermark(ctx, marketplace, 3600)
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start
    order_id = str(placed["order_id"])
    assert _moved(ctx, sku) == {("sale", order_id): -2, ("cancel", order_id): 2}


def _moved(ctx: AppContext, sku: str) -> dict[tuple[str, str | None], int]:
    """Stock moved per (kind, order): Lazada records one ledger row per unit, the others one per line."""
    total: dict[tuple[str, str | None], int] = {}
    for kind, delta, order_id in _moves(ctx, sku):
        total[(kind, order_id)] = total.get((kind, order_id), 0) + delta
    return total


async def test_a_partial_lazada_cancel_restores_exactly_the_cancelled_units_once(build_ctx: BuildCtx) -> None:
    """A line of 3 units with 1 cancelled gives back 1, once; cancelling the rest later gives back 2 more."""
    ctx = build_ctx(catalog_size=3)
    for _ in range(2):  # Lazada lists at once; the second run sees the reviewed creates live
        await sync_shops(ctx, kind=RunKind.FULL)
        settle_reviews(ctx)
    box = sandboxes(ctx)["lazada"]
    sku = _sku_on_sale(box, "lazada")
    start = _stock(ctx, sku)
    who: dict[str, object] = {"seller_id": seller("lazada")}
    placed = await _control(box, "/_sandbox/orders", {**who, "seller_sku": sku, "quantity": 3})
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start - 3

    box.clock.advance(2)
    await _control(box, f"/_sandbox/orders/{placed['order_id']}/cancel", {**who, "quantity": 1})
    box.clock.advance(2)
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start - 2
    await sync_shops(ctx)
    _rewind_watermark(ctx, "lazada", 3600)  # re-read the partly cancelled order: nothing moves twice
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start - 2

    box.clock.advance(2)
    await _control(box, f"/_sandbox/orders/{placed['order_id']}/cancel", who)  # the buyer cancels the rest
    box.clock.advance(2)
    await sync_shops(ctx)
    _rewind_watermark(ctx, "lazada", 3600)
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start
    order_id = str(placed["order_id"])
    assert [kind for kind, _, _ in _moves(ctx, sku)] == ["sale"] * 3 + ["cancel"] * 3
    assert _moved(ctx, sku) == {("sale", order_id): -3, ("cancel", order_id): 3}


@pytest.mark.slow
@pytest.mark.parametrize(("policy", "restored"), [("received", 1), ("never", 0)])
async def test_a_return_restocks_by_the_shop_policy_once(build_ctx: BuildCtx, policy: str, restored: int) -> None:
    ctx = await _ready(build_ctx, restock_on_return=policy)
    marketplace = "lazada"
    box = sandboxes(ctx)[marketplace]
    sku = _sku_on_sale(box, marketplace)
    start = _stock(ctx, sku)
    placed = await _control(
        box, "/_sandbox/orders", {"seller_id": seller(marketplace), "seller_sku": sku, "quantity": 1}
    )
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start - 1

    box.clock.advance(2)
    await _control(box, f"/_sandbox/orders/{placed['order_id']}/return", {"seller_id": seller(marketplace)})
    box.clock.advance(2)
    await sync_shops(ctx)
    _rewind_watermark(ctx, marketplace, 3600)
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start - 1 + restored
    kinds = [kind for kind, _, _ in _moves(ctx, sku)]
    assert kinds == ["sale"] + ["return"] * restored


@pytest.mark.slow
async def test_an_order_cancelled_before_it_was_ever_read_moves_nothing(build_ctx: BuildCtx) -> None:
    ctx = await _ready(build_ctx)
    box = sandboxes(ctx)["tiki"]
    sku = _sku_on_sale(box, "tiki")
    start = _stock(ctx, sku)
    placed = await _control(box, "/_sandbox/orders", {"seller_id": seller("tiki"), "seller_sku": sku, "quantity": 1})
    box.clock.advance(1)
    await _control(box, f"/_sandbox/orders/{placed['order_id']}/cancel", {"seller_id": seller("tiki")})
    await sync_shops(ctx)
    assert _stock(ctx, sku) == start
    assert _moves(ctx, sku) == []
