"""Imports never undo what happened since the export: row versions, three-way merge, --on-conflict.

The finding (issue #15): an unchanged export re-imported 45 s later reported `updated 26`, exactly
the SKUs sold in between, putting their stock back up. Sales here go through the real sales path
(`engine.sales.record_lines`, which calls the catalog store's `adjust_stock`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from connector.catalog.demo_data import demo_catalog
from connector.catalog.io import (
    ROW_VERSION,
    CatalogConflictError,
    CatalogFormat,
    ConflictPolicy,
    export_catalog,
    export_file,
    import_file,
)
from connector.catalog.store import read_products, set_product, upsert_catalog
from connector.cli import app
from connector.engine.sales import SalesResult, record_lines
from connector.store import make_engine, session_scope, upgrade
from connector.store.models import ProductRow, ShopRow
from schemas.listing import OrderLine

REFERENCE = date(2026, 3, 1)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
T_SALE = T0 + timedelta(seconds=20)
T_IMPORT = T0 + timedelta(seconds=45)
DEMO = demo_catalog(REFERENCE)
SOLD = tuple(p.sku for p in DEMO.products[:26])


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with session_scope(engine) as s:
        upsert_catalog(s, DEMO.producers, DEMO.products, T0)
        s.add(ShopRow(id="voso-ag", marketplace="voso", seller_id="AG-OCOP-VOSO"))
    yield engine
    engine.dispose()


def sell(engine: Engine, quantities: dict[str, int], now: datetime = T_SALE) -> None:
    """Record one order per SKU through the real sales path."""
    lines = tuple(
        OrderLine(order_id=f"O-{sku}-{now:%H%M%S}", line_id="1", seller_sku=sku, quantity=n, created_at=now)
        for sku, n in quantities.items()
    )
    with session_scope(engine) as s:
        record_lines(s, "voso-ag", lines, now, SalesResult())


def stock_of(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {p.sku: p.stock for p in read_products(s)}


def updated_at(engine: Engine) -> dict[str, datetime]:
    with Session(engine) as s:
        return {r.sku: r.updated_at.replace(tzinfo=UTC) for r in s.exec(select(ProductRow))}


def edit(data: bytes, fmt: CatalogFormat, sku: str, **cells: Any) -> bytes:
    """The exported file with some cells of `sku`'s row changed, as a person would in Excel or an editor."""
    if fmt is CatalogFormat.JSON:
        doc = json.loads(data)
        for row in doc["rows"]:
            if row["sku"] == sku:
                row.update(cells)
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")
    if fmt is CatalogFormat.CSV:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        for row in rows:
            if row["sku"] == sku:
                row.update({k: str(v) for k, v in cells.items()})
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode("utf-8-sig")
    book = load_workbook(io.BytesIO(data))
    sheet = book["catalog"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[header.index("sku")].value == sku:
            for name, value in cells.items():
                row[header.index(name)].value = value
    out_xlsx = io.BytesIO()
    book.save(out_xlsx)
    return out_xlsx.getvalue()


def import_bytes(
    engine: Engine, tmp_path: Path, data: bytes, fmt: CatalogFormat, policy: ConflictPolicy = ConflictPolicy.REFUSE
) -> tuple[int, int, int]:
    path = tmp_path / f"edited.{fmt.value}"
    path.write_bytes(data)
    counts = import_file(engine, path, fmt, T_IMPORT, on_conflict=policy)
    return counts.inserted, counts.updated, counts.unchanged


@pytest.mark.parametrize("fmt", list(CatalogFormat))
def test_unchanged_export_reimported_after_sales_changes_nothing(
    engine: Engine, tmp_path: Path, fmt: CatalogFormat
) -> None:
    exported = export_file(engine, fmt)
    before = stock_of(engine)
    sell(engine, {sku: 1 for sku in SOLD})
    after_sale = updated_at(engine)
    assert import_bytes(engine, tmp_path, exported, fmt) == (0, 0, 92 + 62)
    assert stock_of(engine) == {sku: n - (sku in SOLD) for sku, n in before.items()}
    assert updated_at(engine) == after_sale  # not even updated_at moves


@pytest.mark.parametrize("fmt", list(CatalogFormat))
def test_price_edit_in_a_sold_row_changes_only_that_row_and_keeps_the_sale(
    engine: Engine, tmp_path: Path, fmt: CatalogFormat
) -> None:
    sku = SOLD[3]
    exported = export_file(engine, fmt)
    before = stock_of(engine)
    sell(engine, {sku: 2, SOLD[4]: 1})
    after_sale = updated_at(engine)
    price = next(p.price_vnd for p in DEMO.products if p.sku == sku) + 5_000
    assert import_bytes(engine, tmp_path, edit(exported, fmt, sku, price_vnd=price), fmt) == (0, 1, 92 + 62 - 1)
    with Session(engine) as s:
        product = read_products(s, [sku])[0]
    assert (product.price_vnd, product.stock) == (price, before[sku] - 2)
    assert stock_of(engine)[SOLD[4]] == before[SOLD[4]] - 1
    assert {k for k, v in updated_at(engine).items() if v != after_sale[k]} == {sku}


@pytest.mark.parametrize("fmt", list(CatalogFormat))
def test_stock_edit_in_a_sold_row_is_refused_by_default_and_merged_on_request(
    engine: Engine, tmp_path: Path, fmt: CatalogFormat
) -> None:
    sku = SOLD[0]
    exported = export_file(engine, fmt)
    before = stock_of(engine)[sku]
    sell(engine, {sku: 3})
    edited = edit(exported, fmt, sku, stock=before + 10)
    with pytest.raises(CatalogConflictError) as info:
        import_bytes(engine, tmp_path, edited, fmt)
    [conflict] = info.value.conflicts
    first_row = 1 if fmt is CatalogFormat.JSON else 2  # spreadsheet rows count the header
    assert (conflict.row, conflict.sku, conflict.column) == (first_row, sku, "stock")
    assert (conflict.exported, conflict.current, conflict.file) == (str(before), str(before - 3), str(before + 10))
    assert f"stock {before} → {before - 3}" in conflict.since_export and "--on-conflict merge" in conflict.reason
    assert stock_of(engine)[sku] == before - 3  # nothing written
    assert import_bytes(engine, tmp_path, edited, fmt, ConflictPolicy.MERGE)[1] == 1
    assert stock_of(engine)[sku] == before - 3 + 10  # the operator's +10 on top of today's stock


def test_stock_edit_in_an_unsold_row_is_applied_as_given(engine: Engine, tmp_path: Path) -> None:
    sku = DEMO.products[50].sku
    exported = export_file(engine, CatalogFormat.CSV)
    sell(engine, {SOLD[0]: 1})  # another product sold: no conflict for this row
    assert import_bytes(engine, tmp_path, edit(exported, CatalogFormat.CSV, sku, stock=7), CatalogFormat.CSV)[1] == 1
    assert stock_of(engine)[sku] == 7


def test_a_content_field_edited_on_both_sides_is_a_conflict_even_with_merge(engine: Engine, tmp_path: Path) -> None:
    sku = DEMO.products[10].sku
    exported = export_file(engine, CatalogFormat.JSON)
    with session_scope(engine) as s:
        product = read_products(s, [sku])[0]
        set_product(s, product.model_copy(update={"name": "Tên sửa qua API"}), T_SALE)
    edited = edit(exported, CatalogFormat.JSON, sku, name="Tên sửa trong Excel")
    with pytest.raises(CatalogConflictError) as info:
        import_bytes(engine, tmp_path, edited, CatalogFormat.JSON, ConflictPolicy.MERGE)
    assert [(c.sku, c.column, c.current, c.file) for c in info.value.conflicts] == [
        (sku, "name", "Tên sửa qua API", "Tên sửa trong Excel")
    ]
    # the other person's edit and the operator's price edit of a different field merge fine
    price = product.price_vnd + 1_000
    assert import_bytes(engine, tmp_path, edit(exported, CatalogFormat.JSON, sku, price_vnd=price), CatalogFormat.JSON)
    with Session(engine) as s:
        merged = read_products(s, [sku])[0]
    assert (merged.name, merged.price_vnd) == ("Tên sửa qua API", price)


def test_a_file_without_versions_adds_new_skus_and_never_overwrites_stock(engine: Engine, tmp_path: Path) -> None:
    fresh = export_catalog(DEMO.producers, DEMO.products, CatalogFormat.CSV)  # not from this store: no versions
    assert ROW_VERSION in fresh.decode("utf-8-sig").splitlines()[0]
    sku = SOLD[0]
    sell(engine, {sku: 2})
    # the same stock as the catalog had before the sale: would undo it -> refused, nothing written
    with pytest.raises(CatalogConflictError) as info:
        import_bytes(engine, tmp_path, fresh, CatalogFormat.CSV, ConflictPolicy.MERGE)
    assert [(c.sku, c.column, c.exported) for c in info.value.conflicts] == [
        (sku, "stock", "(unknown: no row_version)")
    ]
    # price edits and new SKUs apply; an unchanged stock is no conflict
    price_only = edit(fresh, CatalogFormat.CSV, sku, stock=stock_of(engine)[sku], price_vnd=99_000)
    rows = list(csv.DictReader(io.StringIO(price_only.decode("utf-8-sig"))))
    rows.append({**rows[0], "sku": "AG-NEW-1", "name": "Sản phẩm mới", ROW_VERSION: ""})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    assert import_bytes(engine, tmp_path, out.getvalue().encode("utf-8-sig"), CatalogFormat.CSV)[:2] == (1, 1)


def test_cli_import_lists_conflicts_and_merges_with_the_flag(
    engine: Engine, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("OCOP_SYNC__DATABASE__URL", sqlite_url)
    sku = SOLD[1]
    before = stock_of(engine)[sku]
    path = tmp_path / "catalog.csv"
    path.write_bytes(edit(export_file(engine, CatalogFormat.CSV), CatalogFormat.CSV, sku, stock=before + 4))
    sell(engine, {sku: 1})
    refused = CliRunner().invoke(app, ["catalog", "import", str(path)])
    assert refused.exit_code == 2, refused.output
    assert sku in refused.output and "--on-conflict merge" in refused.output and "Traceback" not in refused.output
    merged = CliRunner().invoke(app, ["catalog", "import", str(path), "--on-conflict", "merge"])
    assert merged.exit_code == 0, merged.output
    assert stock_of(engine)[sku] == before - 1 + 4
