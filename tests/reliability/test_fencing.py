"""Fenced side effects: a worker that lost the shop's lease sends nothing to the marketplace.

Worker A runs a shop under a real lease row against a sandbox served over HTTP on loopback.
A "freezes" (its event loop blocks, as under SIGSTOP) right after committing a write intent
and before the HTTP call; meanwhile its lease expires, worker B takes the shop over (a real
`take`, epoch + 1) and runs it to convergence. When A wakes it must not send its write:
- a create: Tiki's sandbox accepts a repeated seller SKU, so a late create is a duplicate;
- a price/stock batch: a late push overwrites B's newer value with a stale one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from adapters.sandbox import Sandbox, SandboxOptions
from connector.catalog.store import read_products, set_product
from connector.context import AppContext
from connector.engine.run import sync_shop
from connector.store import session_scope
from connector.store.leases import Lease, LeaseFence, StaleLeaseError, read_leases, shop_lease, try_acquire
from connector.store.models import ActionRow
from connector.testing.loopback import credentials_env, make_sandboxes, serve
from connector.testing.world import desired_now, mismatches, seed_synthetic, settings_for, shops
from schemas.sync import RunKind

LEASE_S = 0.5  # A's lease runs out while it is frozen
CALL_S = 0.5  # the longest call in this world (short client timeouts)


def _clock() -> datetime:
    return datetime.now(UTC)


def _take(ctx: AppContext, shop_id: str, holder: str) -> Lease:
    """Take the shop's lease, waiting (bounded) for the current holder's to expire."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lease = try_acquire(ctx.engine, shop_lease(shop_id), holder, now=_clock(), ttl_s=LEASE_S)
        if lease is not None:
            return lease
        time.sleep(0.05)
    raise AssertionError(f"{holder} could not take {shop_id}")


def _fence(ctx: AppContext, lease: Lease, ttl_s: float = LEASE_S) -> LeaseFence:
    return LeaseFence(ctx.engine, lease, _clock, ttl_s=ttl_s, call_s=CALL_S)


LISTENERS: list[tuple[str, Callable[..., None]]] = []


def _freeze_after_commit(ctx: AppContext, marks: Callable[[Session], bool], while_frozen: Callable[[], None]) -> None:
    """The commit after the first flush `marks` picks (on `ctx`'s engine) blocks until `while_frozen` returns."""
    state: dict[str, bool] = {"marked": False, "done": False}

    def before(session: Session, *_flush: Any) -> None:
        if not state["done"] and session.get_bind() is ctx.engine and marks(session):
            state["marked"] = True

    def after(session: Session) -> None:
        if state["marked"] and not state["done"]:
            state["done"] = True
            while_frozen()

    for name, fn in (("before_flush", before), ("after_commit", after)):
        event.listen(Session, name, fn)
        LISTENERS.append((name, fn))


def _pending(session: Session) -> Iterator[Any]:
    """The objects about to be flushed."""
    yield from session.new
    yield from session.dirty


def _in_flight(kind: str) -> Callable[[Session], bool]:
    """Picks the commit that marks an outbox action of `kind` in flight (for a create: with its intent)."""

    def marks(session: Session) -> bool:
        return any(isinstance(o, ActionRow) and o.kind == kind and o.state == "in_flight" for o in _pending(session))

    return marks


def _in_thread(work: Callable[[], None]) -> None:
    """Run `work` in another thread (its own event loop) and wait: the caller's loop is frozen meanwhile."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001  (re-raised in the frozen thread below)
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Callable[[], AppContext], Sandbox]]:
    """Contexts (one per worker) over one SQLite file and a Tiki sandbox served on loopback."""
    boxes = make_sandboxes(shops(marketplaces=("tiki",)), SandboxOptions(rate_limit_per_s=100_000, seed=3))
    with serve(boxes) as served:
        shop_list = shops(served.urls, marketplaces=("tiki",))
        for key, value in credentials_env(shop_list).items():
            monkeypatch.setenv(key, value)
        settings = settings_for(f"sqlite:///{tmp_path / 'fence.db'}", tmp_path, shop_list, timeout_s=0.15)
        contexts: list[AppContext] = []

        def build() -> AppContext:
            ctx = AppContext.build(settings)
            contexts.append(ctx)
            return ctx

        yield build, boxes["tiki"]
        for ctx in contexts:
            ctx.engine.dispose()
    while LISTENERS:
        event.remove(Session, *LISTENERS.pop())


async def test_a_frozen_worker_that_lost_its_lease_does_not_create_again(
    world: tuple[Callable[[], AppContext], Sandbox],
) -> None:
    build, box = world
    ctx_a, ctx_b = build(), build()
    shop = ctx_a.settings.shops[0]
    seed_synthetic(ctx_a.engine, 2)
    lease_a = _take(ctx_a, shop.id, "worker-a")
    taken: list[Lease] = []

    def b_takes_over_and_runs() -> None:
        lease_b = _take(ctx_b, shop.id, "worker-b")  # A's lease expires while A is frozen
        taken.append(lease_b)
        summary = asyncio.run(sync_shop(ctx_b, shop.id, kind=RunKind.FULL, fence=_fence(ctx_b, lease_b, 5.0)))
        assert summary.counters.created == 2, summary

    _freeze_after_commit(ctx_a, _in_flight("create"), lambda: _in_thread(b_takes_over_and_runs))
    with pytest.raises(StaleLeaseError):
        await sync_shop(ctx_a, shop.id, kind=RunKind.FULL, fence=_fence(ctx_a, lease_a))

    assert taken and taken[0].epoch == lease_a.epoch + 1
    assert read_leases(ctx_a.engine)[shop_lease(shop.id)].holder == "worker-b"
    assert dict(box.store.creates) == {(shop.seller_id, "SYN-000000"): 1, (shop.seller_id, "SYN-000001"): 1}
    assert box.store.duplicate_creates() == {}


async def test_a_frozen_worker_that_lost_its_lease_does_not_push_a_stale_price(
    world: tuple[Callable[[], AppContext], Sandbox],
) -> None:
    build, box = world
    ctx_a, ctx_b = build(), build()
    shop = ctx_a.settings.shops[0]
    seed_synthetic(ctx_a.engine, 2)
    await sync_shop(ctx_a, shop.id, kind=RunKind.FULL)  # listed, no lease involved yet
    box.tick_reviews()

    def set_price(ctx: AppContext, price: int) -> None:
        with session_scope(ctx.engine) as session:
            for product in read_products(session, ["SYN-000000"]):
                set_product(session, product.model_copy(update={"price_vnd": price}), _clock())

    set_price(ctx_a, 111_000)
    lease_a = _take(ctx_a, shop.id, "worker-a")

    def edit_then_b_runs() -> None:
        set_price(ctx_b, 222_000)  # the catalog moves on while A is frozen with 111,000 in its batch
        lease_b = _take(ctx_b, shop.id, "worker-b")
        summary = asyncio.run(sync_shop(ctx_b, shop.id, kind=RunKind.FULL, fence=_fence(ctx_b, lease_b, 5.0)))
        assert summary.counters.updated >= 1, summary

    _freeze_after_commit(ctx_a, _in_flight("set_price_stock"), lambda: _in_thread(edit_then_b_runs))
    with pytest.raises(StaleLeaseError):
        await sync_shop(ctx_a, shop.id, kind=RunKind.FULL, fence=_fence(ctx_a, lease_a))

    box.tick_reviews()
    assert mismatches("tiki", desired_now(ctx_a.engine, shop), box.store.shop(shop.seller_id)) == []
    assert box.store.find(shop.seller_id, "SYN-000000") is not None
