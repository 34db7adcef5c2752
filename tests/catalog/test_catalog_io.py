"""Catalog import/export: all-or-nothing validation, row-level errors, exact round trips in CSV, JSON, XLSX."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from connector.catalog.demo_data import demo_catalog
from connector.catalog.io import (
    HEADER,
    CatalogFormat,
    CatalogFormatError,
    CatalogValidationError,
    export_catalog,
    export_file,
    import_file,
    load_catalog,
)
from connector.catalog.store import read_producers, read_products, upsert_catalog
from connector.cli import app
from connector.store import make_engine, session_scope, upgrade
from connector.store.models import ProductRow
from schemas.catalog import Producer, Product

REFERENCE = date(2026, 3, 1)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DEMO = demo_catalog(REFERENCE)


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def csv_bytes(rows: list[dict[str, Any]], bom: bool = True, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def demo_rows() -> list[dict[str, str]]:
    data = export_catalog(DEMO.producers, DEMO.products, CatalogFormat.CSV)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def hundred_rows_with_three_bad() -> list[dict[str, str]]:
    rows = demo_rows()[:92]
    for i in range(8):  # 100 rows: 8 more products of the first producer
        rows.append({**rows[0], "sku": f"AG-X{i:03d}", "name": f"Sản phẩm thêm {i}"})
    rows[9]["price_vnd"] = "85.000"  # row 11: thousands separator
    rows[40]["stars"] = "6"  # row 42
    rows[77]["barcode"] = "8938000001318"  # row 79: wrong check digit
    return rows


# ---------------------------------------------------------------------------------------- all or nothing


def test_hundred_rows_three_bad_exits_2_names_all_three_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("OCOP_SYNC__DATABASE__URL", f"sqlite:///{db}")
    monkeypatch.setenv("COLUMNS", "200")
    rows = hundred_rows_with_three_bad()
    assert len(rows) == 100
    path = tmp_path / "catalog.csv"
    path.write_bytes(csv_bytes(rows))

    result = CliRunner().invoke(app, ["catalog", "import", str(path)])

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for row, column, value in (("11", "price_vnd", "85.000"), ("42", "stars", "6"), ("79", "barcode", "8938000001318")):
        line = next(ln for ln in result.output.splitlines() if ln.startswith(f"│ {row} "))
        assert column in line and value in line, line
    assert "3 lỗi trong / problems in 3 dòng / rows" in result.output
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        assert s.exec(select(ProductRow)).all() == []
    engine.dispose()


def test_errors_carry_row_column_value_reason() -> None:
    rows = hundred_rows_with_three_bad()
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(csv_bytes(rows), CatalogFormat.CSV)
    got = [(e.row, e.column, e.value) for e in info.value.errors]
    assert got == [(11, "price_vnd", "85.000"), (42, "stars", "6"), (79, "barcode", "8938000001318")]
    assert all(e.reason for e in info.value.errors)
    assert "plain digits" in info.value.errors[0].reason


@pytest.mark.parametrize(
    ("change", "column", "reason_part"),
    [
        ({"product_set": "27"}, "product_set", "less than or equal to 26"),
        ({"stars": "2"}, "stars", "greater than or equal to 3"),
        ({"images": "http://x.example.vn/a.jpg"}, "images", "https://"),
        ({"stock": "-3"}, "stock", "plain digits"),
        ({"price_vnd": "12.5"}, "price_vnd", "plain digits"),
        ({"potential_5": "maybe"}, "potential_5", "true or false"),
        ({"cert_decision_date": "32/01/2024"}, "cert_decision_date", "date"),
        ({"cert_decision_no": ""}, "cert_decision_no", "required"),
        ({"name": unicodedata.normalize("NFD", "Bánh\x07")}, "name", "control"),
        ({"producer_type": "company"}, "producer_type", "Input should be"),
        ({"producer_certified_province": ""}, "producer_certified_province", "required"),
    ],
)
def test_each_bad_cell_is_reported_at_its_column(change: dict[str, str], column: str, reason_part: str) -> None:
    rows = demo_rows()[:3]
    rows[1].update(change)
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(csv_bytes(rows), CatalogFormat.CSV)
    (error,) = info.value.errors
    assert (error.row, error.column) == (3, column)
    assert reason_part.lower() in error.reason.lower()


def test_cross_row_problems() -> None:
    rows = demo_rows()[:4]
    rows[2]["sku"] = rows[0]["sku"]  # duplicate SKU
    rows[1]["producer_name"] = rows[1]["producer_name"] + " (khác)"  # same producer as row 2, described differently
    rows[3] = {**{k: "" for k in rows[3]}, "sku": "AG-NEW", "name": "Mới", "producer_id": "AG-NOBODY",
               "product_set": "5", "stars": "3", "cert_decision_no": "1/QĐ", "cert_decision_date": "2025-01-01",
               "cert_issuing_level": "province", "price_vnd": "1000", "stock": "1"}  # fmt: skip
    rows[0]["extra"] = "x"
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(csv_bytes(rows), CatalogFormat.CSV)
    got = {(e.row, e.column) for e in info.value.errors}
    assert got == {(1, "extra"), (3, "producer_name"), (4, "sku"), (5, "producer_id")}
    assert any("row 2" in e.reason for e in info.value.errors if e.row == 4)


def test_rows_may_reference_a_producer_already_in_the_store(engine: Engine, tmp_path: Path) -> None:
    producer = DEMO.producers[0]
    with session_scope(engine) as s:
        upsert_catalog(s, [producer], [], T0)
    row = {k: v for k, v in demo_rows()[0].items() if not k.startswith("producer_") or k == "producer_id"}
    path = tmp_path / "only-products.csv"
    path.write_bytes(csv_bytes([row]))
    counts = import_file(engine, path, CatalogFormat.CSV, T0)
    assert (counts.inserted, counts.updated) == (1, 0)


# ---------------------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        (CatalogFormat.CSV, b"\xff\xfe\x00b\x00i\x00n\x00"),
        (CatalogFormat.CSV, b""),
        (CatalogFormat.CSV, b"a,b,c\n1,2,3\n"),
        (CatalogFormat.CSV, b"\x89PNG\r\n\x1a\n\x00\x00"),
        (CatalogFormat.JSON, b"{not json"),
        (CatalogFormat.JSON, b'{"rows": 3}'),
        (CatalogFormat.JSON, b'"text"'),
        (CatalogFormat.XLSX, b"sku,name\nAG-1,x\n"),
        (CatalogFormat.XLSX, b"PK\x03\x04broken zip"),
    ],
)
def test_malformed_files_raise_a_typed_error(fmt: CatalogFormat, data: bytes) -> None:
    with pytest.raises(CatalogFormatError):
        load_catalog(data, fmt)


def test_malformed_file_exits_2_without_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("OCOP_SYNC__DATABASE__URL", f"sqlite:///{tmp_path / 'x.db'}")
    path = tmp_path / "catalog.json"
    path.write_text("[1, 2", encoding="utf-8")
    result = CliRunner().invoke(app, ["catalog", "import", str(path)])
    assert result.exit_code == 2
    assert "not valid JSON" in result.output and "Traceback" not in result.output
    other = tmp_path / "catalog.txt"
    other.write_text("x", encoding="utf-8")
    assert CliRunner().invoke(app, ["catalog", "import", str(other)]).exit_code == 2


def test_json_row_that_is_not_an_object() -> None:
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(b'{"rows": [42]}', CatalogFormat.JSON)
    assert [(e.row, e.reason) for e in info.value.errors] == [(1, "row must be a JSON object")]


# ---------------------------------------------------------------------------------------- CSV details


def test_csv_with_or_without_bom_and_semicolons() -> None:
    rows = demo_rows()[:5]
    expected = load_catalog(csv_bytes(rows), CatalogFormat.CSV)
    assert load_catalog(csv_bytes(rows, bom=False), CatalogFormat.CSV) == expected
    assert load_catalog(csv_bytes(rows, delimiter=";"), CatalogFormat.CSV) == expected
    assert [p.sku for p in expected.products] == [r["sku"] for r in rows]


def test_vietnamese_in_decomposed_form_is_stored_composed() -> None:
    rows = demo_rows()[:1]
    rows[0]["name"] = unicodedata.normalize("NFD", "Mắm cá chốt Bà Giáo Khỏe")
    (product,) = load_catalog(csv_bytes(rows), CatalogFormat.CSV).products
    assert product.name == "Mắm cá chốt Bà Giáo Khỏe" and unicodedata.is_normalized("NFC", product.name)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "'"])
def test_csv_export_neutralises_formulas_and_import_restores_them(start: str) -> None:
    product = DEMO.products[0].model_copy(update={"name": f'{start}HYPERLINK("https://evil.example")'})
    data = export_catalog(DEMO.producers[:1], [product], CatalogFormat.CSV)
    (row,) = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    assert row["name"] == f'\'{start}HYPERLINK("https://evil.example")'
    assert row["price_vnd"] == str(product.price_vnd)  # numbers are left alone
    for fmt in CatalogFormat:
        parsed = load_catalog(export_catalog(DEMO.producers[:1], [product], fmt), fmt)
        assert parsed.products == (product,)


def test_xlsx_keeps_text_that_looks_like_an_escape() -> None:
    product = DEMO.products[0].model_copy(update={"description": "mã _x0041_ và _x005F_ giữ nguyên"})
    parsed = load_catalog(export_catalog(DEMO.producers[:1], [product], CatalogFormat.XLSX), CatalogFormat.XLSX)
    assert parsed.products[0].description == "mã _x0041_ và _x005F_ giữ nguyên"


def test_header_of_export_is_documented_layout() -> None:
    data = export_catalog(DEMO.producers, DEMO.products, CatalogFormat.CSV)
    assert data.startswith(b"\xef\xbb\xbf")
    assert next(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == list(HEADER)
    doc = json.loads(export_catalog(DEMO.producers, DEMO.products, CatalogFormat.JSON))
    assert doc["format"] == "ocop-sync-catalog" and len(doc["rows"]) == 92


# ---------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", list(CatalogFormat))
def test_export_then_import_changes_nothing_in_the_store(engine: Engine, tmp_path: Path, fmt: CatalogFormat) -> None:
    lonely = DEMO.producers[0].model_copy(update={"id": "AG-HKD-99", "name": "Cơ sở chưa có sản phẩm"})
    with session_scope(engine) as s:
        upsert_catalog(s, [*DEMO.producers, lonely], DEMO.products, T0)
    path = tmp_path / f"catalog.{fmt.value}"
    path.write_bytes(export_file(engine, fmt))
    counts = import_file(engine, path, fmt, T0 + timedelta(days=1))
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 92 + 63)
    with Session(engine) as s:
        assert {r.updated_at for r in s.exec(select(ProductRow))} == {T0}
        assert len(read_producers(s)) == 63
    assert export_file(engine, fmt) == path.read_bytes() or fmt is CatalogFormat.XLSX  # xlsx zips carry a timestamp


def test_import_updates_only_changed_rows_and_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as s:
        upsert_catalog(s, DEMO.producers, DEMO.products, T0)
    rows = list(csv.DictReader(io.StringIO(export_file(engine, CatalogFormat.CSV).decode("utf-8-sig"))))
    rows[5]["stock"] = "999"
    path = tmp_path / "edit.csv"
    path.write_bytes(csv_bytes(rows))
    later = T0 + timedelta(hours=2)
    dry = import_file(engine, path, CatalogFormat.CSV, later, dry_run=True)
    assert (dry.inserted, dry.updated) == (0, 1)
    with Session(engine) as s:
        assert read_products(s, [rows[5]["sku"]])[0].stock != 999
    real = import_file(engine, path, CatalogFormat.CSV, later)
    assert (real.inserted, real.updated, real.unchanged) == (0, 1, 153)
    with Session(engine) as s:
        changed = {r.sku for r in s.exec(select(ProductRow).where(ProductRow.updated_at > T0))}
    assert changed == {rows[5]["sku"]}


VIETNAMESE = "ăâđêôơưáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵĂÂĐÊÔƠƯÁÀẢÃẠ"
text_chars = st.one_of(
    st.sampled_from(VIETNAMESE),
    st.sampled_from(list(unicodedata.normalize("NFD", "ắệữỗ"))),  # decomposed marks
    st.sampled_from(list("=+-@'\",;|\n\t _x0041 ")),
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co", "Cn")),
)
texts = st.text(text_chars, max_size=24)
names = st.text(text_chars, min_size=1, max_size=24)
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,11}", fullmatch=True)
dates = st.dates(min_value=date(2019, 1, 1), max_value=date(2030, 12, 31))
urls = st.from_regex(r"https://[a-z]{1,8}\.example\.vn/[A-Za-z0-9_\-/]{0,12}", fullmatch=True)


def build(model: type[Any], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError:
        assume(False)


@st.composite
def address(draw: st.DrawFn) -> dict[str, str]:
    return {"street": draw(texts), "commune": draw(texts), "district": draw(texts), "province": draw(names)}


@st.composite
def catalogs(draw: st.DrawFn) -> tuple[list[Producer], list[Product]]:
    producer_ids = draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    producers = [
        build(Producer, {"id": pid, "name": draw(names), "type": draw(st.sampled_from(["enterprise", "household"])),
                         "registration_no": draw(texts), "address_certified": draw(address()),
                         "address_current": draw(address()), "contact_email": draw(texts)})
        for pid in producer_ids
    ]  # fmt: skip
    products = []
    for sku in draw(st.lists(ids, max_size=4, unique=True)):
        stars = draw(st.integers(3, 5))
        decided = draw(dates)
        products.append(
            build(Product, {
                "sku": sku, "producer_id": draw(st.sampled_from(producer_ids)), "name": draw(names),
                "ocop_code": draw(texts), "product_set": draw(st.integers(1, 26)), "stars": stars,
                "potential_5": stars == 4 and draw(st.booleans()), "score": draw(st.none() | st.integers(0, 100)),
                "certificate": {"decision_no": draw(names), "decision_date": decided, "issuing_level": "province",
                                "issuer": draw(texts),
                                "valid_until": draw(st.none() | st.just(decided + timedelta(days=400)))},
                "compliance": {"self_declaration_ref": draw(texts), "lab_test_date": draw(st.none() | dates),
                               "alcohol": draw(st.booleans())},
                "price_vnd": draw(st.integers(0, 1_000_000_000)), "stock": draw(st.integers(0, 10**6)),
                "unit": draw(names), "weight_g": draw(st.integers(0, 50_000)), "description": draw(texts),
                "images": draw(st.lists(urls, max_size=3)), "barcode": draw(st.sampled_from([None, "8938000001319"])),
                "active": draw(st.booleans()), "traceability_url": draw(st.sampled_from(["", "https://tx.example.vn/1"])),
            })
        )  # fmt: skip
    return producers, products


@pytest.mark.parametrize("fmt", list(CatalogFormat))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(catalog=catalogs())
def test_round_trip_property(fmt: CatalogFormat, catalog: tuple[list[Producer], list[Product]]) -> None:
    producers, products = catalog
    parsed = load_catalog(export_catalog(producers, products, fmt), fmt)
    assert sorted(parsed.products, key=lambda p: p.sku) == sorted(products, key=lambda p: p.sku)
    assert sorted(parsed.producers, key=lambda p: p.id) == sorted(producers, key=lambda p: p.id)
