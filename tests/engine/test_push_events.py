"""Lazada pushes over HTTP: signed, bounded, de-duplicated, fresh; an event only schedules a tick, never writes.

The receiver is the daemon's own route (`Daemon.build_app`) or the same router on a bare app
whose scheduler drains events with a leader lease taken here; the Lazada sandbox sends its
pushes (signed, duplicated, reordered) through an in-process HTTP transport.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from adapters.lazada.push import push_signature
from adapters.lazada.sandbox import sandbox_credentials
from connector.context import AppContext
from connector.engine.run import sync_shops
from connector.service.daemon import Daemon, DaemonOptions
from connector.service.events import drain_events
from connector.service.webhooks import MAX_BODY_BYTES, webhook_router
from connector.store import session_scope
from connector.store.leases import LEADER_LEASE, take
from connector.store.models import InboundEventRow, ProductRow, SyncTickRow
from schemas.sync import RunKind
from tests.engine.conftest import BuildCtx, sandboxes, seller, settle_reviews, shop_id

LAZADA = "lazada"
URL = f"/webhooks/lazada/{shop_id(LAZADA)}"


def _app(ctx: AppContext) -> FastAPI:
    with session_scope(ctx.engine) as session:
        lease = take(session, LEADER_LEASE, "test-leader", now=ctx.clock(), ttl_s=3600)
    assert lease is not None

    async def schedule() -> None:
        drain_events(ctx.engine, lease, now=ctx.clock())

    app = FastAPI()
    app.include_router(webhook_router(ctx, schedule))
    return app


def _signed(message: dict[str, object], secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    creds = sandbox_credentials(seller(LAZADA))
    body = json.dumps(message).encode()
    sign = push_signature(creds["app_key"], secret or creds["app_secret"], body)
    return body, {"Authorization": sign, "Content-Type": "application/json"}


def _message(ctx: AppContext, **data: object) -> dict[str, object]:
    return {
        "seller_id": seller(LAZADA),
        "message_type": 4,
        "data": data or {"item_id": "1", "sku_list": [{"seller_sku": "SKU-A"}, {"seller_sku": "SKU-B"}]},
        "timestamp": int(ctx.clock().timestamp() * 1000),
        "site": "lazada_vn",
    }


def _ticks(ctx: AppContext) -> list[tuple[str, str, list[str] | None]]:
    with Session(ctx.engine) as session:
        rows = session.exec(select(SyncTickRow).where(SyncTickRow.trigger == "event")).all()
        return [(r.shop_id, r.state, r.skus) for r in rows]


def _events(ctx: AppContext) -> int:
    with Session(ctx.engine) as session:
        return len(session.exec(select(InboundEventRow.id)).all())


Post = Callable[..., Awaitable[httpx.Response]]


async def _post(app: FastAPI, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ocop") as client:
        return await client.post(url, content=body, headers=headers)


async def test_a_tampered_signature_is_401_and_nothing_is_scheduled_through_the_daemons_app(
    build_ctx: BuildCtx,
) -> None:
    ctx = build_ctx(catalog_size=2)
    app = Daemon(ctx, options=DaemonOptions(serve_http=False)).build_app()  # the daemon exposes the route
    body, headers = _signed(_message(ctx))
    tampered = body.replace(b"SKU-A", b"SKU-Z")
    assert (await _post(app, URL, tampered, headers)).status_code == 401
    _, wrong_key = _signed(_message(ctx), secret="not-the-app-secret")
    assert (await _post(app, URL, body, wrong_key)).status_code == 401
    assert (await _post(app, URL, body, {})).status_code == 401
    assert _events(ctx) == 0 and _ticks(ctx) == []
    # the operator API's token gate lets a marketplace callback through to its signature check
    good = await _post(app, URL, body, headers)
    assert (good.status_code, good.json()) == (200, {"status": "scheduled"})
    assert _events(ctx) == 1


async def test_a_push_schedules_one_targeted_tick_and_replays_change_nothing(build_ctx: BuildCtx) -> None:
    ctx = build_ctx(catalog_size=2)
    app = _app(ctx)
    body, headers = _signed(_message(ctx))
    first = await _post(app, URL, body, headers)
    assert (first.status_code, first.json()) == (200, {"status": "scheduled"})
    assert _ticks(ctx) == [(shop_id(LAZADA), "pending", ["SKU-A", "SKU-B"])]

    replay = await _post(app, URL, body, headers)
    assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
    assert _events(ctx) == 1 and len(_ticks(ctx)) == 1

    stale_msg = _message(ctx)
    stale_msg["timestamp"] = int(ctx.clock().timestamp() * 1000) - 3_600_000
    stale, stale_headers = _signed(stale_msg)
    assert (await _post(app, URL, stale, stale_headers)).status_code == 400
    assert (await _post(app, "/webhooks/lazada/no-such-shop", body, headers)).status_code == 404
    assert (await _post(app, f"/webhooks/lazada/{shop_id('tiki')}", body, headers)).status_code == 404
    big, big_headers = _signed({**_message(ctx), "pad": "x" * MAX_BODY_BYTES})
    assert (await _post(app, URL, big, big_headers)).status_code == 413
    assert _events(ctx) == 1 and len(_ticks(ctx)) == 1

    # a second, different event for the same shop merges into the pending tick (SKUs unioned)
    other, other_headers = _signed(_message(ctx, item_id="2", sku_list=[{"seller_sku": "SKU-C"}]))
    assert (await _post(app, URL, other, other_headers)).json() == {"status": "scheduled"}
    assert _ticks(ctx) == [(shop_id(LAZADA), "pending", ["SKU-A", "SKU-B", "SKU-C"])]


@pytest.mark.slow
async def test_sandbox_pushes_duplicated_and_reordered_schedule_once_per_change(build_ctx: BuildCtx) -> None:
    ctx = build_ctx(catalog_size=3)
    for _ in range(3):
        await sync_shops(ctx, kind=RunKind.FULL)
        settle_reviews(ctx)
    box = sandboxes(ctx)[LAZADA]
    app = _app(ctx)
    box.pusher.url = f"http://ocop{URL}"
    box.pusher.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ocop")
    box.pusher.duplicate_rate, box.pusher.reorder = 1.0, True
    sku = next(s for s, x in sorted(box.store.shop(seller(LAZADA)).items()) if x.stock > 3 and x.status == "active")
    with Session(ctx.engine) as session:
        row = session.get(ProductRow, sku)
        assert row is not None
        start = row.stock

    order = box.store.place_order(seller(LAZADA), sku, 2, box.clock.now())
    box.on_order_change(seller(LAZADA), [order])
    box.change_order(seller(LAZADA), order.order_id, "cancel")
    assert await box.pusher.deliver() == 4  # two messages, each sent twice, in a shuffled order
    assert box.pusher.pending == []
    assert _events(ctx) == 2
    assert _ticks(ctx) == [(shop_id(LAZADA), "pending", [])]  # an order push: pull orders only, no listing read

    # the reconcile run stays the single writer: the order was placed and cancelled, stock ends where it began
    await sync_shops(ctx)
    await sync_shops(ctx)
    with Session(ctx.engine) as session:
        row = session.get(ProductRow, sku)
        assert row is not None and row.stock == start
    await box.pusher.client.aclose()
