"""The engine against every marketplace sandbox over in-process HTTP: convergence, faults, sales, QC, silent writes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, col, select
from starlette.types import Receive, Scope, Send

from adapters.sandbox import FaultSpec, Sandbox
from adapters.sandbox.app import RequestRecord
from connector.context import AppContext
from connector.engine.run import sync_shops
from connector.store.models import ActionRow, DriftRow, ProductRow
from connector.testing.world import desired_now, mismatches
from schemas.sync import RunKind, RunOutcome, RunSummary
from tests.engine.conftest import BuildCtx, sandboxes, seller, settle_reviews, shop_id, write_requests


async def converge(ctx: AppContext, *, runs: int = 6) -> list[list[RunSummary]]:
    """Run full syncs (letting reviews finish between runs) until every shop converged with no write."""
    history: list[list[RunSummary]] = []
    for _ in range(runs):
        summaries = await sync_shops(ctx, kind=RunKind.FULL)
        history.append(summaries)
        settle_reviews(ctx)
        if all(s.outcome is RunOutcome.CONVERGED and s.counters.writes == 0 for s in summaries):
            return history
    raise AssertionError(
        f"did not converge: {[[(s.shop_id, s.outcome, s.error, s.counters) for s in r] for r in history]}"
    )


def assert_marketplaces_match_catalog(ctx: AppContext, listed: int) -> None:
    """Exactly `listed` live listings per marketplace, each with the catalog's price, stock (less the
    2-unit buffer), title and status (the world's mismatch check); nothing created twice; no request
    sent inside a throttle's Retry-After (a 5xx's: `test_no_request_inside_the_retry_after_of_a_5xx`)."""
    with Session(ctx.engine) as session:
        stock = {r.sku: r.stock for r in session.exec(select(ProductRow))}
    for marketplace, sandbox in sandboxes(ctx).items():
        assert sandbox.store.duplicate_creates() == {}, marketplace
        assert sandbox.throttle_violations() == [], marketplace
        listings = sandbox.store.shop(seller(marketplace))
        desired = desired_now(ctx.engine, ctx.settings.shop(shop_id(marketplace)))
        assert mismatches(marketplace, desired, listings) == [], marketplace
        live = {sku for sku, item in listings.items() if item.status == "active"}
        assert len(live) == listed, (marketplace, len(live))
        for sku in live:
            assert listings[sku].stock == max(0, stock[sku] - 2), (marketplace, sku)


def sent_inside_retry_after_of_5xx(sandbox: Sandbox, tolerance_s: float = 0.05) -> list[RequestRecord]:
    """Requests a seller sent before the Retry-After of a 5xx reply it was given had passed.

    `throttle_violations` counts only throttle replies; Tiki and Voso also send Retry-After
    (the fault spec's `retry_after_s`) with their 5xx and outage replies (Lazada sends none).
    """
    if sandbox.marketplace == "lazada":
        return []
    wait = timedelta(seconds=sandbox.faults.spec.retry_after_s)
    early: list[RequestRecord] = []
    until: dict[str, datetime] = {}
    for entry in sandbox.log:
        if entry.seller_id in until and entry.at < until[entry.seller_id] - timedelta(seconds=tolerance_s):
            early.append(entry)
        if entry.outcome in ("error", "outage"):
            until[entry.seller_id] = entry.at + wait
    return early


async def test_demo_catalog_converges_in_one_run_and_a_second_run_writes_nothing(build_ctx: BuildCtx) -> None:
    ctx = build_ctx()
    first = await sync_shops(ctx, kind=RunKind.FULL)
    assert {s.marketplace for s in first} == set(sandboxes(ctx)) and len(first) >= 3
    for summary in first:
        assert summary.outcome is RunOutcome.CONVERGED, summary
        # the demo catalog: 92 products, less set 26 (not shippable) and 4 with expired certificates
        assert (summary.counters.created, summary.counters.dead) == (87, 0), summary
    settle_reviews(ctx)  # marketplaces that review creates approve them now; their listings must go live
    await sync_shops(ctx, kind=RunKind.INCREMENTAL)
    writes = {m: write_requests(s) for m, s in sandboxes(ctx).items()}
    again = await sync_shops(ctx, kind=RunKind.INCREMENTAL)
    full = await sync_shops(ctx, kind=RunKind.FULL)
    assert {m: write_requests(s) for m, s in sandboxes(ctx).items()} == writes
    assert all(s.counters.writes == 0 and s.outcome is RunOutcome.CONVERGED for s in [*again, *full])
    assert_marketplaces_match_catalog(ctx, listed=87)


FAULTS = FaultSpec(
    error_rate=0.15,
    throttle_rate=0.15,
    reset_rate=0.05,
    partial_batch_rate=0.1,
    lost_response_rate=0.1,
    retry_after_s=0.2,
    seed=5,
)
LISTED_OF_14 = 12  # the first 14 demo products: 12 listable (set 26 and an expired certificate are not)


async def test_converges_under_faults_with_no_duplicate_create(build_ctx: BuildCtx) -> None:
    ctx = build_ctx(faults=FAULTS, catalog_size=14)
    history = await converge(ctx, runs=12)
    runs = [s for batch in history for s in batch]
    assert sum(s.counters.retries for s in runs) > 0
    assert sum(s.counters.throttle_waits for s in runs) > 0
    for sandbox in sandboxes(ctx).values():
        assert any(e.outcome == "lost" for e in sandbox.log)  # creates really lost their replies
    assert_marketplaces_match_catalog(ctx, listed=LISTED_OF_14)


@pytest.mark.slow
async def test_no_request_inside_the_retry_after_of_a_5xx(build_ctx: BuildCtx) -> None:
    ctx = build_ctx(faults=FAULTS, catalog_size=14)
    await converge(ctx, runs=12)
    early = {m: len(sent_inside_retry_after_of_5xx(box)) for m, box in sandboxes(ctx).items()}
    assert early == {m: 0 for m in early}


async def test_a_sale_lowers_stock_on_every_other_marketplace_in_the_next_run(build_ctx: BuildCtx) -> None:
    ctx = build_ctx()
    await converge(ctx)
    boxes = sandboxes(ctx)
    selling = sorted(boxes)[0]
    sku = next(s for s, x in sorted(boxes[selling].store.shop(seller(selling)).items()) if x.stock > 5)
    before = boxes[selling].store.find(seller(selling), sku)
    assert before is not None
    start_stock = before.stock
    boxes[selling].store.place_order(seller(selling), sku, 3, boxes[selling].clock.now())
    summaries = {s.shop_id: s for s in await sync_shops(ctx)}
    assert summaries[shop_id(selling)].counters.sales_recorded == 1
    assert summaries[shop_id(selling)].counters.writes == 0  # the marketplace already lowered its own listing
    for marketplace, sandbox in boxes.items():
        item = sandbox.store.find(seller(marketplace), sku)
        assert item is not None and item.stock == start_stock - 3, marketplace
    again = await sync_shops(ctx)
    assert all(s.counters.writes == 0 and s.counters.sales_recorded == 0 for s in again)


async def test_a_write_acknowledged_but_not_applied_is_caught_and_fixed_next_run(build_ctx: BuildCtx) -> None:
    ctx = build_ctx()
    await converge(ctx)
    boxes = sandboxes(ctx)
    for marketplace, sandbox in boxes.items():
        item = sorted(sandbox.store.shop(seller(marketplace)).values(), key=lambda x: x.seller_sku)[1]
        item.price += 7_000  # edited by hand on the marketplace
        sandbox.faults.set_spec(FaultSpec(not_applied_rate=1.0))
    first = await sync_shops(ctx, kind=RunKind.FULL)
    for summary in first:
        assert summary.counters.silent_failures == 1 and summary.outcome is RunOutcome.PARTIAL, summary
    with Session(ctx.engine) as session:
        flagged = session.exec(
            select(DriftRow).where(DriftRow.silent_failure, col(DriftRow.resolved_at).is_(None))
        ).all()
        assert {r.kind for r in flagged} == {"price"} and len(flagged) == len(boxes)
    for sandbox in boxes.values():
        sandbox.faults.set_spec(FaultSpec())
    second = await sync_shops(ctx)  # incremental: the open drift is in scope and re-sent
    assert all(s.outcome is RunOutcome.CONVERGED and s.counters.updated == 1 for s in second), second
    with Session(ctx.engine) as session:
        assert all(r.resolved_at is not None for r in session.exec(select(DriftRow).where(DriftRow.silent_failure)))


async def test_qc_rejection_shows_as_drift_with_its_reason(build_ctx: BuildCtx) -> None:
    ctx = build_ctx(sandbox={"qc_reject_skus": ("AG-0002",)})
    await sync_shops(ctx, kind=RunKind.FULL)
    settle_reviews(ctx)
    await sync_shops(ctx, kind=RunKind.FULL)
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(DriftRow).where(
                DriftRow.sku == "AG-0002", DriftRow.kind == "qc_rejected", col(DriftRow.resolved_at).is_(None)
            )
        ).all()
        reviewed = {s.id for s in ctx.settings.shops if ctx.registry.get(s.marketplace).capabilities.reviewed_creates}
        assert {r.shop_id for r in rows} >= reviewed and reviewed
        assert all("rejected" in r.observed and len(r.observed) > len("rejected: ") for r in rows)
        resent = session.exec(
            select(ActionRow).where(ActionRow.sku == "AG-0002", ActionRow.kind == "update_content")
        ).all()
        assert resent == []  # the catalog content did not change, so nothing is re-sent for review


async def test_a_sale_between_the_order_pull_and_the_listing_read_is_not_oversold(build_ctx: BuildCtx) -> None:
    """The marketplace sells a unit after orders were pulled but before listings are read.

    The listing read then already shows the lower stock; the run must count that sale before
    planning, or it would push the pre-sale stock back to the marketplace (overselling).
    """
    ctx = build_ctx()
    await converge(ctx)
    boxes = sandboxes(ctx)
    selling = sorted(boxes)[-1]
    box = boxes[selling]
    sku = next(s for s, x in sorted(box.store.shop(seller(selling)).items()) if x.stock > 5)
    listing = box.store.find(seller(selling), sku)
    assert listing is not None
    start_stock = listing.stock
    inner = box.app
    state = {"orders_seen": False, "sold": False}

    async def sell_after_the_order_pull(scope: Scope, receive: Receive, send: Send) -> None:
        is_orders = scope["type"] == "http" and "order" in scope["path"]
        if scope["type"] == "http" and state["orders_seen"] and not is_orders and not state["sold"]:
            state["sold"] = True
            box.store.place_order(seller(selling), sku, 2, box.clock.now())
        await inner(scope, receive, send)
        state["orders_seen"] = state["orders_seen"] or is_orders

    box.app = sell_after_the_order_pull
    summaries = {s.shop_id: s for s in await sync_shops(ctx, kind=RunKind.FULL)}
    box.app = inner
    assert state["sold"]
    assert summaries[shop_id(selling)].counters.sales_recorded == 1
    assert summaries[shop_id(selling)].counters.writes == 0, "pre-sale stock was pushed back"
    after = box.store.find(seller(selling), sku)
    assert after is not None and after.stock == start_stock - 2
    again = {s.shop_id: s for s in await sync_shops(ctx)}
    for marketplace, sandbox in boxes.items():
        item = sandbox.store.find(seller(marketplace), sku)
        assert item is not None and item.stock == start_stock - 2, marketplace
    assert again[shop_id(selling)].counters.writes == 0
