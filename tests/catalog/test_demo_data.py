"""The demo catalog matches An Giang's published figures, is deterministic and seeds idempotently."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.catalog.demo_data import demo_catalog, seed_demo
from connector.catalog.store import read_producers, read_products
from connector.catalog.summary import summarise
from connector.cli import app
from connector.store import make_engine, session_scope, upgrade
from schemas.catalog import CertificateState, ProducerType, ProductGroup, gtin_is_valid

REFERENCE = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_counts_match_an_giang_figures() -> None:
    catalog = demo_catalog(REFERENCE)
    assert len(catalog.products) == 92
    assert len(catalog.producers) == 62
    assert Counter(p.type for p in catalog.producers) == {
        ProducerType.COOPERATIVE: 5,
        ProducerType.COOPERATIVE_GROUP: 1,
        ProducerType.ENTERPRISE: 21,
        ProducerType.HOUSEHOLD: 35,
    }
    stars = Counter((p.stars, p.potential_5) for p in catalog.products)
    assert stars == {(5, False): 2, (4, True): 3, (4, False): 15, (3, False): 72}
    groups = Counter(p.group for p in catalog.products)
    assert groups == {ProductGroup.FOOD: 66, ProductGroup.BEVERAGES: 22, ProductGroup.HANDICRAFTS: 3,
                      ProductGroup.TOURISM: 1}  # fmt: skip
    assert [p.name for p in catalog.products if p.product_set == 26] == ["Tour du lịch cộng đồng Cù Lao Giêng một ngày"]
    assert any("Sà rông" in p.name for p in catalog.products)


@pytest.mark.parametrize("reference", [date(2026, 3, 1), date(2024, 2, 29), date(2027, 12, 31)])
def test_certificates_some_expired_some_expiring_relative_to_reference(reference: date) -> None:
    catalog = demo_catalog(reference)
    states = Counter(p.certificate.state(reference, 60) for p in catalog.products)
    assert states[CertificateState.EXPIRED] == 4
    assert states[CertificateState.EXPIRING] == 4
    assert states[CertificateState.VALID] == 84


def test_records_are_realistic_and_consistent() -> None:
    catalog = demo_catalog(REFERENCE)
    producer_ids = {p.id for p in catalog.producers}
    assert len(producer_ids) == 62
    assert len({p.sku for p in catalog.products}) == 92
    assert {p.producer_id for p in catalog.products} == producer_ids  # every producer has a product
    for producer in catalog.producers:
        assert producer.contact_email == f"hoso+{producer.id.lower()}@example.vn"
        assert producer.address_certified.province == "An Giang"
    barcodes = [p.barcode for p in catalog.products if p.barcode]
    assert 10 <= len(barcodes) < 92 and all(gtin_is_valid(b) for b in barcodes)
    assert all(url.startswith("https://") for p in catalog.products for url in p.images)
    assert all(p.certificate.expires == p.certificate.valid_until for p in catalog.products)
    assert all(unicodedata.is_normalized("NFC", p.name + p.description) for p in catalog.products)
    assert sum(not p.name.isascii() for p in catalog.products) > 80  # Vietnamese names, with diacritics


def test_deterministic() -> None:
    assert demo_catalog(REFERENCE) == demo_catalog(REFERENCE)
    assert [p.content_hash() for p in demo_catalog(REFERENCE).products] == [
        p.content_hash() for p in demo_catalog(REFERENCE).products
    ]


def test_seed_twice_changes_nothing(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    upgrade(engine)
    try:
        with session_scope(engine) as s:
            first = seed_demo(s, REFERENCE, NOW)
        assert (first.inserted, first.updated) == (154, 0)
        with session_scope(engine) as s:
            before = read_products(s), read_producers(s)
        with session_scope(engine) as s:  # another day: still nothing changes
            second = seed_demo(s, REFERENCE + timedelta(days=3), NOW + timedelta(days=3))
        assert (second.inserted, second.updated, second.unchanged) == (0, 0, 154)
        with session_scope(engine) as s:
            assert (read_products(s), read_producers(s)) == before
            summary = summarise(read_producers(s), read_products(s), REFERENCE)
        assert summary.products == 92 and summary.producers == 62
        assert dict(summary.by_stars) == {
            "5 sao / 5 stars": 2,
            "4 sao, tiềm năng 5 sao / 4 stars, potential 5": 3,
            "4 sao / 4 stars": 15,
            "3 sao / 3 stars": 72,
        }
    finally:
        engine.dispose()


def test_demo_run_cli_seeds_and_prints_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(tmp_path / "none.toml"))
    runner = CliRunner()
    result = runner.invoke(app, ["demo", "run", "--today", "2026-03-01"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "92 sản phẩm / products, 62 chủ thể / producers" in result.output
    for label, count in (("5 sao / 5 stars", 2), ("4 sao / 4 stars", 15), ("3 sao / 3 stars", 72)):
        assert re.search(rf"{re.escape(label)}\s*│\s*{count}\s*│", result.output), label
    assert (tmp_path / "var" / "ocop-sync.db").exists()
    again = runner.invoke(app, ["demo", "seed", "--today", "2026-03-01"], env={"COLUMNS": "300"})
    assert again.exit_code == 0 and "inserted 0" in again.output
    assert (
        "92 sản phẩm / products, 62 chủ thể / producers (5★: 2 · 4★ tiềm năng 5★ / potential 5★: 3 · 4★: 15 · 3★: 72)"
        in (again.output.replace("\n", " "))
    )
    bad = runner.invoke(app, ["demo", "seed", "--today", "01/03/2026"])
    assert bad.exit_code == 2
