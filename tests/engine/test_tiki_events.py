"""Tiki's event queue over HTTP: pulled, recorded once, acknowledged; an event only schedules a targeted tick.

The Tiki sandbox keeps the queue as Tiki documents it (create, subscribe, pull, ack; at least
once) and is harsher than promised: duplicated and reordered deliveries, and events pulled but
not acknowledged delivered again after the visibility window. The consumer is the daemon's
`EventFeeds`, scheduling through `drain_events` under a leader lease taken here.
"""

from __future__ import annotations

from sqlmodel import Session, select

from adapters.base import EventFeed
from adapters.tiki.sandbox import TikiSandbox
from adapters.tiki.sandbox_queue import VISIBILITY_S
from connector.context import AppContext
from connector.engine.run import sync_shops
from connector.engine.shop import open_shop
from connector.service.events import drain_events
from connector.service.feeds import EventFeeds
from connector.service.runtime import Runtime
from connector.store import session_scope
from connector.store.leases import LEADER_LEASE, take
from connector.store.models import InboundEventRow, ProductRow, SyncTickRow
from schemas.sync import RunKind
from tests.engine.conftest import BuildCtx, sandboxes, seller, settle_reviews, shop_id

TIKI = "tiki"


def _feeds(ctx: AppContext) -> EventFeeds:
    with session_scope(ctx.engine) as session:
        lease = take(session, LEADER_LEASE, "test-leader", now=ctx.clock(), ttl_s=3600)
    assert lease is not None

    async def schedule() -> None:
        drain_events(ctx.engine, lease, now=ctx.clock())

    return EventFeeds(Runtime(ctx), schedule)


def _ticks(ctx: AppContext) -> list[tuple[str, str, list[str] | None]]:
    with Session(ctx.engine) as session:
        rows = session.exec(select(SyncTickRow).where(SyncTickRow.trigger == "event")).all()
        return [(r.shop_id, r.state, r.skus) for r in rows]


def _events(ctx: AppContext) -> list[tuple[str, str]]:
    with Session(ctx.engine) as session:
        return sorted((r.shop_id, r.source) for r in session.exec(select(InboundEventRow)))


def _stock(ctx: AppContext, sku: str) -> int:
    with Session(ctx.engine) as session:
        row = session.get(ProductRow, sku)
        assert row is not None
        return row.stock


async def _synced(build_ctx: BuildCtx) -> tuple[AppContext, TikiSandbox, str]:
    ctx = build_ctx(catalog_size=3)
    for _ in range(3):
        await sync_shops(ctx, [shop_id(TIKI)], kind=RunKind.FULL)
        settle_reviews(ctx)
    box = sandboxes(ctx)[TIKI]
    assert isinstance(box, TikiSandbox)
    sku = next(s for s, x in sorted(box.store.shop(seller(TIKI)).items()) if x.stock > 3 and x.status == "active")
    return ctx, box, sku


async def test_duplicated_and_reordered_queue_events_schedule_one_orders_tick_and_count_once(
    build_ctx: BuildCtx,
) -> None:
    ctx, box, sku = await _synced(build_ctx)
    feeds = _feeds(ctx)
    try:
        assert await feeds.poll() == 0  # first use: our queue is created and subscribed, nothing yet
        assert [q.name for q in box.queues.queues.values()] == ["ocop-sync"]
        start = _stock(ctx, sku)
        box.queues.duplicate_rate, box.queues.reorder = 1.0, True
        first = box.store.place_order(seller(TIKI), sku, 1, box.clock.now())
        box.on_order_change(seller(TIKI), [first])
        second = box.store.place_order(seller(TIKI), sku, 2, box.clock.now())
        box.on_order_change(seller(TIKI), [second])
        box.clock.advance(1)
        box.change_order(seller(TIKI), second.order_id, "cancel")

        assert await feeds.poll() == 3  # three events, each delivered twice, shuffled: recorded once each
        assert box.queues.unacked(seller(TIKI)) == 0
        assert _events(ctx) == [(shop_id(TIKI), "tiki-queue")] * 3
        assert _ticks(ctx) == [(shop_id(TIKI), "pending", [])]  # an orders-only tick; no listing write here
        assert await feeds.poll() == 0 and len(_ticks(ctx)) == 1

        await sync_shops(ctx, [shop_id(TIKI)])  # the reconcile run stays the single writer
        assert _stock(ctx, sku) == start - 1  # 1 sold; 2 sold then cancelled: given back
    finally:
        await feeds.close()


async def test_events_pulled_but_not_acknowledged_come_back_and_are_recorded_once(build_ctx: BuildCtx) -> None:
    ctx, box, sku = await _synced(build_ctx)
    feeds = _feeds(ctx)
    opened = open_shop(ctx, shop_id(TIKI), None)
    try:
        await feeds.poll()  # set up the queue
        order = box.store.place_order(seller(TIKI), sku, 1, box.clock.now())
        box.on_order_change(seller(TIKI), [order])
        adapter = opened.adapter
        assert isinstance(adapter, EventFeed)
        lost = await adapter.pull_events()  # pulled, then "crashed": never acknowledged
        assert len(lost.events) == 1

        assert await feeds.poll() == 0  # still invisible: delivered to the crashed consumer
        box.clock.advance(VISIBILITY_S + 1)
        assert await feeds.poll() == 1  # delivered again, recorded, acknowledged
        assert box.queues.unacked(seller(TIKI)) == 0
        box.clock.advance(VISIBILITY_S + 1)
        assert await feeds.poll() == 0 and len(_events(ctx)) == 1
    finally:
        await opened.http.aclose()
        await feeds.close()
