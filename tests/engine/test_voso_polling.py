"""Voso has no push and no event feed (polling only, see adapters/voso/README.md): the next poll converges.

A Voso sale and its later cancellation, with no push and no queue anywhere, reach every other
marketplace at the next incremental run, and canonical stock moves once each way.
"""

from __future__ import annotations

from sqlmodel import Session

from adapters.base import EventFeed
from connector.engine.run import sync_shops
from connector.engine.shop import open_shop
from connector.store.models import ProductRow
from schemas.sync import RunKind
from tests.engine.conftest import BuildCtx, sandboxes, seller, settle_reviews, shop_id

VOSO = "voso"


async def test_with_no_push_a_voso_sale_and_its_cancel_converge_at_the_next_poll(build_ctx: BuildCtx) -> None:
    ctx = build_ctx(catalog_size=3)
    opened = open_shop(ctx, shop_id(VOSO), None)
    await opened.http.aclose()
    assert not isinstance(opened.adapter, EventFeed)  # nothing pushes or queues for Voso: polling is all
    for _ in range(3):
        await sync_shops(ctx, kind=RunKind.FULL)
        settle_reviews(ctx)
    boxes = sandboxes(ctx)
    box = boxes[VOSO]
    live = [sorted(b.store.shop(seller(m))) for m, b in boxes.items()]
    sku = next(
        s
        for s in sorted(set.intersection(*(set(x) for x in live)))
        if all((x := b.store.find(seller(m), s)) is not None and x.stock > 3 for m, b in boxes.items())
    )
    shown = {m: b.store.find(seller(m), sku).stock for m, b in boxes.items()}  # type: ignore[union-attr]
    with Session(ctx.engine) as session:
        start = session.get(ProductRow, sku).stock  # type: ignore[union-attr]

    order = box.store.place_order(seller(VOSO), sku, 2, box.clock.now())
    await sync_shops(ctx)  # the scheduled incremental poll, nothing else
    for marketplace, sandbox in boxes.items():
        assert sandbox.store.find(seller(marketplace), sku).stock == shown[marketplace] - 2, marketplace  # type: ignore[union-attr]

    box.clock.advance(2)
    box.change_order(seller(VOSO), order.order_id, "cancel")
    box.clock.advance(2)
    await sync_shops(ctx)
    for marketplace, sandbox in boxes.items():
        assert sandbox.store.find(seller(marketplace), sku).stock == shown[marketplace], marketplace  # type: ignore[union-attr]
    with Session(ctx.engine) as session:
        assert session.get(ProductRow, sku).stock == start  # type: ignore[union-attr]
