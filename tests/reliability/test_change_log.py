"""No lost catalog change: the commit-ordered change log, read in batches until none is left.

- A long import open while a small edit commits: a reader that saw the edit (and moved its
  position past it) still sees every row the import commits afterwards.
- Two catalog commits racing at commit time (PostgreSQL): the later id cannot become visible
  before the earlier one, so a reader never moves past a change that is still committing.
- 20,000 rows committed at one moment, read 5,000 at a time: every SKU is taken.
- A shop's incremental run covers every SKU changed since its position (`skus_covered`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from connector.catalog.store import read_products, set_product, upsert_catalog
from connector.context import AppContext
from connector.engine.run import sync_shop
from connector.service.daemon import Daemon, DaemonOptions
from connector.service.housekeeping import catalog_watermark, changed_skus
from connector.store import make_engine, session_scope, upgrade
from connector.store.changes import changes_after, latest_change, note_changes
from connector.store.models import ProductRow, ShopRow
from connector.testing.world import build_world, seed_synthetic, synthetic_catalog
from schemas.sync import RunKind
from tests.daemon.daemon_kit import RecordingRun, runs_of, short_settings, wait_until

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh PostgreSQL schema (SQLite has one writer and IMMEDIATE reads: no overlap)."""
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _drain(engine: Engine, position: int, limit: int = 5000) -> tuple[set[str], int, int]:
    """Every SKU changed after `position`, taken in batches until none is left: (SKUs, new position, batches)."""
    seen: set[str] = set()
    batches = 0
    while True:
        skus, after = changed_skus(engine, position, limit)
        if not skus:
            return seen, position, batches
        seen |= set(skus)
        position, batches = after, batches + 1


def _edit_price(engine: Engine, sku: str, price: int) -> None:
    with session_scope(engine) as session:
        (product,) = read_products(session, [sku])
        set_product(session, product.model_copy(update={"price_vnd": price}), datetime.now(UTC))


@pytest.mark.postgres
def test_an_import_committed_around_a_small_edit_leaves_no_row_unseen(pg_engine: Engine) -> None:
    engine = pg_engine
    producers, products = synthetic_catalog(302)
    with session_scope(engine) as session:
        upsert_catalog(session, producers, products[:2], NOW)
    start = catalog_watermark(engine)

    edit_done = threading.Event()

    def small_edit() -> None:
        _edit_price(engine, products[0].sku, 99_000)
        edit_done.set()

    # The import stamps its rows with a time taken before it started (the way `catalog import` did).
    with Session(engine, expire_on_commit=False) as importing:
        upsert_catalog(importing, [], products[2:], NOW)
        importing.flush()
        editor = threading.Thread(target=small_edit)
        editor.start()
        editor.join(timeout=10.0)
        assert edit_done.is_set(), "the small edit did not commit while the import was open"
        early, position, _ = _drain(engine, start)  # the watcher moves on while the import is still open
        importing.commit()
    editor.join(timeout=30)
    assert edit_done.is_set()
    late, _, _ = _drain(engine, position)

    expected = {p.sku for p in products[2:]} | {products[0].sku}
    assert early == {products[0].sku}  # the watcher saw the edit and moved past it; the import was not visible
    assert early | late == expected


@pytest.mark.postgres
def test_a_later_commit_never_becomes_visible_before_an_earlier_change_id(pg_engine: Engine) -> None:
    engine = pg_engine
    producers, products = synthetic_catalog(52)
    with session_scope(engine) as session:
        upsert_catalog(session, producers, products[:2], NOW)
    start = catalog_watermark(engine)
    paused, release = threading.Event(), threading.Event()

    @event.listens_for(engine, "commit")
    def hold_the_import(conn: Any) -> None:  # runs after the change rows were written, before COMMIT
        if conn.info.pop("pause_at_commit", False):
            paused.set()
            release.wait(30)

    def long_import() -> None:
        with Session(engine) as session:
            upsert_catalog(session, [], products[2:], NOW)
            session.connection().info["pause_at_commit"] = True
            session.commit()

    importer = threading.Thread(target=long_import)
    importer.start()
    assert paused.wait(30), "the import never reached its commit"
    editor = threading.Thread(target=_edit_price, args=(engine, products[0].sku, 77_000))
    editor.start()
    editor.join(timeout=1.0)  # with commits serialised the edit waits for the import's COMMIT
    early, position, _ = _drain(engine, start)
    release.set()
    importer.join(30)
    editor.join(30)
    late, _, _ = _drain(engine, position)
    assert early | late == {p.sku for p in products[2:]} | {products[0].sku}


def test_twenty_thousand_rows_of_one_commit_are_all_taken_in_batches(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    producers, products = synthetic_catalog(1)
    with session_scope(engine) as session:
        upsert_catalog(session, producers, products, NOW)
    start = catalog_watermark(engine)
    skus = [f"BULK-{i:05d}" for i in range(20_000)]
    _bulk_products(engine, skus)  # one commit, one timestamp for every row
    seen, _, batches = _drain(engine, start, limit=5000)
    engine.dispose()
    assert seen == set(skus)
    assert batches == 4


def _row(product: Any) -> dict[str, Any]:
    with_data = product.model_dump(mode="json")
    return {
        "sku": product.sku,
        "producer_id": product.producer_id,
        "name": product.name,
        "product_set": product.product_set,
        "stars": product.stars,
        "cert_valid_until": product.certificate.expires,
        "price_vnd": product.price_vnd,
        "stock": product.stock,
        "data": with_data,
        "content_hash": product.content_hash(),
        "updated_at": NOW,
    }


async def test_an_incremental_run_covers_every_sku_changed_since_its_position(tmp_path: Path) -> None:
    ctx = build_world(f"sqlite:///{tmp_path / 'covered.db'}", tmp_path)
    shop = ctx.settings.shops[0].id
    seed_synthetic(ctx.engine, 30)
    first = await sync_shop(ctx, shop, kind=RunKind.FULL)
    assert first.counters.skus_covered == 30
    producers, products = synthetic_catalog(70)
    with session_scope(ctx.engine) as session:  # 40 new products and one edit, in one import
        upsert_catalog(session, producers, products[30:], NOW)
    _edit_price(ctx.engine, products[0].sku, 55_000)
    second = await sync_shop(ctx, shop, kind=RunKind.INCREMENTAL)
    with Session(ctx.engine) as session:
        position = session.get(ShopRow, shop).catalog_position  # type: ignore[union-attr]
        latest = latest_change(session)
        changed = {sku for _, sku in changes_after(session, 0)} - {p.sku for p in products[:30]}
    ctx.engine.dispose()
    assert second.counters.created == 40 and second.counters.skus_covered >= 41
    assert changed == {p.sku for p in products[30:]}
    assert position == latest


async def test_the_daemon_takes_a_15000_row_import_in_batches_until_none_is_left(tmp_path: Path) -> None:
    ctx = AppContext.build(short_settings(f"sqlite:///{tmp_path / 'daemon.db'}", tmp_path, interval_s=3600))
    seed_synthetic(ctx.engine, 1)
    run = RecordingRun()
    daemon = Daemon(ctx, run_shop=run, options=DaemonOptions(claim_poll_s=0.1, catalog_poll_s=0.2, serve_http=False))
    serving = asyncio.create_task(daemon.serve())
    skus = [f"BULK-{i:05d}" for i in range(15_000)]
    try:
        await wait_until(lambda: len(runs_of(ctx)) >= 3, 20, "the catch-up runs at start")
        await asyncio.to_thread(_bulk_products, ctx.engine, skus)

        await wait_until(lambda: _all_shops(run), 60, "every imported SKU")
    finally:
        daemon.stop()
        assert await asyncio.wait_for(serving, 30) == 0
        ctx.engine.dispose()
    for shop_id in ("voso-ag", "lazada-ag", "tiki-ag"):
        mine = {
            sku for call in run.calls if call[0] == shop_id and call[2] == "catalog_change" for sku in call[3] or ()
        }
        assert mine == set(skus), shop_id


def _all_shops(run: RecordingRun) -> bool:
    per_shop: dict[str, set[str]] = {}
    for shop_id, _kind, trigger, call_skus in run.calls:
        if trigger == "catalog_change":
            per_shop.setdefault(shop_id, set()).update(call_skus or ())
    return len(per_shop) == 3 and all(len(v) == 15_000 for v in per_shop.values())


def _bulk_products(engine: Engine, skus: list[str]) -> None:
    """One commit of many products sharing one timestamp (a core insert, logged like any catalog write)."""
    _producers, products = synthetic_catalog(1)
    row = _row(products[0])
    with session_scope(engine) as session:
        session.execute(insert(ProductRow), [{**row, "sku": sku} for sku in skus])
        note_changes(session, skus)
