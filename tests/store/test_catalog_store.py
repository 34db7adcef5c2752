"""The catalog store API on SQLite and PostgreSQL: upsert, reads, watermarks, stock moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from connector.catalog.store import (
    UnknownSkuError,
    UpsertCounts,
    adjust_stock,
    products_changed_since,
    read_producers,
    read_products,
    set_product,
    upsert_catalog,
)
from connector.store import make_engine, session_scope, upgrade
from connector.store.models import ProducerRow, ProductRow
from schemas.catalog import Address, IssuingLevel, OcopCertificate, Producer, ProducerType, Product

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def producer(pid: str = "HTX-01", name: str = "HTX Nông nghiệp Mỹ Phú") -> Producer:
    address = Address(commune="Xã Mỹ Phú", district="Huyện Châu Phú", province="An Giang")
    return Producer(
        id=pid,
        name=name,
        type=ProducerType.COOPERATIVE,
        address_certified=address,
        address_current=address,
        contact_email=f"hoso+{pid.lower()}@example.vn",
    )


def product(sku: str, producer_id: str = "HTX-01", stock: int = 10, price: int = 85_000) -> Product:
    return Product(
        sku=sku,
        producer_id=producer_id,
        name=f"Khô cá lóc {sku}",
        product_set=5,
        stars=3,
        certificate=OcopCertificate(
            decision_no="123/QĐ-UBND", decision_date=date(2025, 1, 10), issuing_level=IssuingLevel.PROVINCE
        ),
        price_vnd=price,
        stock=stock,
        unit="gói 500g",
    )


@pytest.fixture
def engine(any_db_url: str) -> Iterator[Engine]:
    engine = make_engine(any_db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_upsert_inserts_then_leaves_unchanged_rows_alone(engine: Engine) -> None:
    items = [product("AG-002"), product("AG-001")]
    with session_scope(engine) as s:
        assert upsert_catalog(s, [producer()], items, T0) == UpsertCounts(inserted=3)
    later = T0 + timedelta(hours=1)
    with session_scope(engine) as s:
        assert upsert_catalog(s, [producer()], items, later) == UpsertCounts(unchanged=3)
    with session_scope(engine) as s:
        rows = s.exec(select(ProductRow)).all()
        assert {r.updated_at for r in rows} == {T0}
        assert [p.sku for p in read_products(s)] == ["AG-001", "AG-002"]
        assert read_products(s) == sorted(items, key=lambda p: p.sku)
        assert read_producers(s) == [producer()]


def test_upsert_updates_changed_rows_and_projections(engine: Engine) -> None:
    with session_scope(engine) as s:
        upsert_catalog(s, [producer()], [product("AG-001"), product("AG-002")], T0)
    later = T0 + timedelta(minutes=5)
    changed = product("AG-002", price=90_000)
    renamed = producer(name="HTX Mỹ Phú (mới)")
    with session_scope(engine) as s:
        counts = upsert_catalog(s, [renamed], [product("AG-001"), changed], later)
    assert counts == UpsertCounts(updated=2, unchanged=1)
    with session_scope(engine) as s:
        row = s.get(ProductRow, "AG-002")
        assert row is not None and row.price_vnd == 90_000 and row.updated_at == later
        assert row.content_hash == changed.content_hash()
        prow = s.get(ProducerRow, "HTX-01")
        assert prow is not None and prow.name == "HTX Mỹ Phú (mới)" and prow.province == "An Giang"
        assert [p.sku for p in products_changed_since(s, T0)] == ["AG-002"]
        assert len(products_changed_since(s, None)) == 2
        assert products_changed_since(s, later) == []


def test_reads_filter_by_key(engine: Engine) -> None:
    with session_scope(engine) as s:
        upsert_catalog(s, [producer(), producer("DN-02")], [product("AG-001"), product("AG-002", "DN-02")], T0)
    with session_scope(engine) as s:
        assert [p.sku for p in read_products(s, ["AG-002", "NOPE"])] == ["AG-002"]
        assert read_products(s, []) == []
        assert [p.id for p in read_producers(s, ["DN-02"])] == ["DN-02"]


def test_adjust_stock_never_goes_below_zero(engine: Engine) -> None:
    with session_scope(engine) as s:
        upsert_catalog(s, [producer()], [product("AG-001", stock=5)], T0)
    later = T0 + timedelta(minutes=1)
    with session_scope(engine) as s:
        assert adjust_stock(s, "AG-001", -3, later) == (-3, 2)
    with session_scope(engine) as s:
        assert adjust_stock(s, "AG-001", -7, later) == (-2, 0)
        assert adjust_stock(s, "AG-001", 0, later) == (0, 0)
    with session_scope(engine) as s:
        (stored,) = read_products(s, ["AG-001"])
        assert stored.stock == 0
        row = s.get(ProductRow, "AG-001")
        assert row is not None and row.stock == 0 and row.content_hash == stored.content_hash()
        assert row.updated_at == later
    with session_scope(engine) as s, pytest.raises(UnknownSkuError):
        adjust_stock(s, "NOPE", 1, later)


def test_set_product_writes_one_product(engine: Engine) -> None:
    with session_scope(engine) as s:
        upsert_catalog(s, [producer()], [product("AG-001")], T0)
    later = T0 + timedelta(minutes=2)
    with session_scope(engine) as s:
        set_product(s, product("AG-001", stock=42), later)
        set_product(s, product("AG-003"), later)
    with session_scope(engine) as s:
        assert [(p.sku, p.stock) for p in read_products(s)] == [("AG-001", 42), ("AG-003", 10)]
        assert len(products_changed_since(s, T0)) == 2
