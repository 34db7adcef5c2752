"""Concurrent catalog writers on one product: every write gets its own version, none is lost.

Edits (read, then `set_product`) and stock moves (`adjust_stock`) race on the same SKU from several
threads. On PostgreSQL each write locks the product row before it bumps `row_version`, so two
writers never both record revision n+1 (the collision the history test once hit); on SQLite the
IMMEDIATE transactions already queue writers. Either way the revisions are 1..N with no gap.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from connector.catalog.store import adjust_stock, read_products, set_product
from connector.store import make_engine, session_scope, upgrade
from connector.store.models import ProductRevisionRow, ProductRow
from connector.testing.world import seed_synthetic

WRITERS = 4
WRITES_EACH = 12


def test_racing_edits_and_sales_each_take_their_own_version(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    upgrade(engine)
    try:
        (product,) = seed_synthetic(engine, 1)
        errors: list[BaseException] = []
        start = threading.Barrier(WRITERS)

        def writer(index: int) -> None:
            start.wait()
            try:
                for n in range(WRITES_EACH):
                    with session_scope(engine) as session:
                        if (index + n) % 2:
                            adjust_stock(session, product.sku, +1, datetime.now(UTC))  # a restock
                        else:
                            (current,) = read_products(session, [product.sku])
                            bumped = current.model_copy(update={"price_vnd": current.price_vnd + 1000})
                            set_product(session, bumped, datetime.now(UTC))
            except SQLAlchemyError as exc:  # collected: the assertion below names it
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert errors == []
        with session_scope(engine) as session:
            row = session.get(ProductRow, product.sku)
            assert row is not None
            versions = session.exec(
                select(ProductRevisionRow.version)
                .where(col(ProductRevisionRow.sku) == product.sku)
                .order_by(col(ProductRevisionRow.version))
            ).all()
        restocks = WRITERS * WRITES_EACH // 2
        # every restock is a version; an edit made from a stale read that equals the row now is a no-op
        assert row.row_version > 1 + restocks
        assert list(versions) == list(range(1, row.row_version + 1))
    finally:
        engine.dispose()
