"""Fuzzed catalog files: thousands of malformed CSV/JSON inputs and hundreds of broken workbooks.

The importer may only answer with its typed errors (`CatalogValidationError` for bad rows,
`CatalogFormatError` for an unreadable file), and nothing may reach the database: a
malformed catalog is rejected whole. Inputs are a valid export with one guaranteed-invalid
mutation, or arbitrary bytes/text (which may only be accepted when they hold no record).
When an input is accepted, what was stored is compared with what was sent: an accepted value
must arrive as itself (a JSON `false` is not the producer id "False"), and every other row
must arrive unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.exceptions import IllegalCharacterError
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.catalog.columns import FALSE_WORDS, TRUE_WORDS
from connector.catalog.io import CatalogError, CatalogFormat, export_catalog, import_file
from connector.catalog.store import read_products
from connector.store import make_engine, upgrade
from connector.store.models import ProducerRow, ProductRow
from connector.testing.world import synthetic_catalog
from schemas.catalog import Product, nfc

NOW = datetime(2026, 3, 1, tzinfo=UTC)
PRODUCERS, PRODUCTS = synthetic_catalog(4)
VALID = {fmt: export_catalog(PRODUCERS, PRODUCTS, fmt) for fmt in CatalogFormat}


def fuzz(examples: int) -> settings:
    """Hypothesis settings for one fuzz test: `examples` inputs, no deadline, derandomised for CI."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Column -> values each of which makes the row invalid.
BAD_CELLS: dict[str, list[Any]] = {
    "sku": ["", "có dấu", "A" * 65, "SKU WITH SPACE", "a/b"],
    "price_vnd": ["-1", "85.000", "85,000", "NaN", "Infinity", "1e5", "abc", "1.5", ""],
    "stock": ["-3", "NaN", "ten", "2.5", "-0.1"],
    "stars": ["2", "6", "9", "four", ""],
    "product_set": ["0", "27", "x"],
    "weight_g": ["-5", "heavy"],
    "cert_decision_date": ["31/02/2024", "yesterday", "2024-13-01"],
    "images": ["http://insecure.example/x.jpg", "file:///etc/passwd", "not a url"],
    "traceability_url": ["javascript:alert(1)", "ftp://x"],
    "producer_id": [""],
    "name": ["", "bad\x00name", "\x07bell"],
    "active": ["maybe", "2"],
    "barcode": ["123", "8938000000000"],
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated SQLite store for every example; it must stay empty."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    yield eng
    eng.dispose()


def rows_in(engine: Engine) -> tuple[int, int]:
    """(products, producers) in the store."""
    with Session(engine) as session:
        products = session.exec(select(func.count()).select_from(ProductRow)).one()
        producers = session.exec(select(func.count()).select_from(ProducerRow)).one()
    return int(products), int(producers)


def import_bytes(engine: Engine, tmp: Path, data: bytes, fmt: CatalogFormat) -> CatalogError | None:
    """Import `data`; the typed error it raised, or None when it was accepted. Any other error fails."""
    path = tmp / f"fuzz.{fmt.value}"
    path.write_bytes(data)
    try:
        import_file(engine, path, fmt, NOW)
    except CatalogError as exc:
        return exc
    return None


def csv_rows() -> list[dict[str, str]]:
    """The valid CSV export as dicts."""
    text = VALID[CatalogFormat.CSV].decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def write_csv(rows: list[dict[str, str]], header: list[str]) -> bytes:
    """Rows back to CSV bytes."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


bad_cell = st.sampled_from(sorted(BAD_CELLS)).flatmap(lambda c: st.tuples(st.just(c), st.sampled_from(BAD_CELLS[c])))


@fuzz(700)
@given(row=st.integers(0, len(PRODUCTS) - 1), cell=bad_cell)
def test_csv_with_an_invalid_cell_is_rejected_whole(
    engine: Engine, tmp_path: Path, row: int, cell: tuple[str, Any]
) -> None:
    rows = csv_rows()
    header = list(rows[0])
    column, value = cell
    rows[row][column] = str(value)
    error = import_bytes(engine, tmp_path, write_csv(rows, header), CatalogFormat.CSV)
    assert error is not None, (column, value)
    assert rows_in(engine) == (0, 0)


def stored_products(engine: Engine) -> dict[str, Product]:
    """Every product in the store, by SKU."""
    with Session(engine) as session:
        return {p.sku: p for p in read_products(session)}


HEADER = list(csv_rows()[0])
# Columns every product row needs: dropping one makes every row invalid.
REQUIRED = ["sku", "name", "producer_id", "product_set", "stars", "cert_decision_no", "cert_decision_date"]
REQUIRED += ["cert_issuing_level", "price_vnd", "stock"]

structure_break = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(REQUIRED)),
    st.tuples(st.just("rename"), st.sampled_from(HEADER)),
    st.tuples(st.just("duplicate"), st.sampled_from(HEADER)),
    st.tuples(st.just("extra_cell"), st.integers(0, len(PRODUCTS) - 1)),
    st.tuples(st.just("short_row"), st.integers(0, len(PRODUCTS) - 1)),
)


@fuzz(300)
@given(broken=structure_break)
def test_csv_with_broken_structure_is_rejected_whole(engine: Engine, tmp_path: Path, broken: tuple[str, Any]) -> None:
    """Each example breaks one thing, and which column or row varies: the import refuses it whole."""
    kind, at = broken
    text = VALID[CatalogFormat.CSV].decode("utf-8-sig")
    rows = csv_rows()
    header = list(HEADER)
    if kind == "drop":
        header.remove(at)
        data = write_csv(rows, header)
    elif kind == "rename":
        header[header.index(at)] = at + "_x"
        data = write_csv(rows, HEADER).replace(
            b",".join(h.encode() for h in HEADER), b",".join(h.encode() for h in header), 1
        )
    elif kind == "duplicate":
        data = write_csv(rows, HEADER).replace(b"\r\n", f",{at}\r\n".encode(), 1)
    elif kind == "extra_cell":
        lines = text.splitlines(keepends=True)
        lines[at + 1] = lines[at + 1].rstrip("\r\n") + ",surplus\r\n"
        data = "".join(lines).encode("utf-8")
    else:  # a row cut short by a required column: its cells shift under the wrong names
        lines = text.splitlines(keepends=True)
        cells = next(csv.reader([lines[at + 1]]))
        del cells[HEADER.index("price_vnd")]
        out = io.StringIO()
        csv.writer(out).writerow(cells)
        lines[at + 1] = out.getvalue()
        data = "".join(lines).encode("utf-8")
    error = import_bytes(engine, tmp_path, data, CatalogFormat.CSV)
    if error is None:
        _wipe(engine)
    assert error is not None, broken
    assert rows_in(engine) == (0, 0)


@pytest.mark.parametrize("cut", [225])  # found by the fuzz below before this split
def test_csv_truncated_inside_the_last_row_is_refused(engine: Engine, tmp_path: Path, cut: int) -> None:
    """A file cut off mid-row (an interrupted download) must not store the row with defaults for what is lost."""
    data = VALID[CatalogFormat.CSV][:-cut]
    error = import_bytes(engine, tmp_path, data, CatalogFormat.CSV)
    if error is None:
        stored = stored_products(engine)
        _wipe(engine)
        assert {p.sku: p.content_hash() for p in PRODUCTS} == {k: p.content_hash() for k, p in stored.items()}
    assert rows_in(engine) == (0, 0)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@fuzz(700)
@given(row=st.integers(0, len(PRODUCTS) - 1), key=st.sampled_from(sorted(BAD_CELLS)), value=json_value)
def test_json_with_a_wrong_value_is_rejected_or_stays_valid(
    engine: Engine, tmp_path: Path, row: int, key: str, value: Any
) -> None:
    doc = json.loads(VALID[CatalogFormat.JSON])
    records = doc.get("rows") if isinstance(doc, dict) else None
    assert isinstance(records, list), "export layout changed"
    records[row][key] = value
    data = json.dumps(doc, ensure_ascii=False, allow_nan=True).encode("utf-8")
    error = import_bytes(engine, tmp_path, data, CatalogFormat.JSON)
    if error is None:  # accepted: the value must be stored as itself, every other row unchanged
        stored = stored_products(engine)
        _wipe(engine)
        expected = accepted_as(key, value)
        assert expected is not REFUSE, f"{key}={value!r} was accepted"
        others = {p.sku: p.content_hash() for i, p in enumerate(PRODUCTS) if i != row}
        assert {k: stored[k].content_hash() for k in others if k in stored} == others
        mine = stored[expected] if key == "sku" else stored[PRODUCTS[row].sku]
        assert field_of(mine, key) == expected, (key, value)
    assert rows_in(engine) == (0, 0)


@pytest.mark.parametrize(("key", "value"), [("producer_id", False), ("name", 1e120), ("sku", 12345), ("name", True)])
def test_json_text_columns_refuse_non_string_values(engine: Engine, tmp_path: Path, key: str, value: Any) -> None:
    """JSON `producer_id: false` must not create a producer "False"; a float name is not a 121-digit name."""
    doc = json.loads(VALID[CatalogFormat.JSON])
    doc["rows"][0][key] = value
    error = import_bytes(engine, tmp_path, json.dumps(doc).encode("utf-8"), CatalogFormat.JSON)
    if error is None:
        _wipe(engine)
    assert error is not None, f"{key}={value!r} was accepted"
    assert rows_in(engine) == (0, 0)


REFUSE = object()
TEXT_KEYS = {"sku", "name", "producer_id", "traceability_url", "barcode"}
INT_KEYS = {"price_vnd", "stock", "stars", "product_set", "weight_g"}


def accepted_as(key: str, value: Any) -> Any:
    """What the product must hold after `key` was sent as the JSON `value`, or REFUSE.

    Blank means the field's default; text must be a JSON string; whole numbers may be JSON
    integers (or integral floats, as spreadsheets write them) but never booleans.
    """
    blank = value is None or (isinstance(value, str) and not value.strip())
    if key in TEXT_KEYS:
        if blank:
            return {"traceability_url": "", "barcode": None}.get(key, REFUSE)
        return nfc(value) if isinstance(value, str) else REFUSE
    if key in INT_KEYS:
        if blank:
            return 0 if key == "weight_g" else REFUSE
        if isinstance(value, bool):
            return REFUSE
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value)
        return int(value.strip()) if isinstance(value, str) and value.strip().isdigit() else REFUSE
    if key == "active":
        if blank or isinstance(value, bool):
            return True if blank else value
        word = str(value).strip().lower() if isinstance(value, str | int) else None  # 0/1 as spreadsheets write them
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else REFUSE
    if key == "images":
        if blank or value == []:
            return ()
        return REFUSE  # json_value never makes a valid https URL list
    return REFUSE  # cert_decision_date: json_value never makes a date


def field_of(product: Product, key: str) -> Any:
    """The product field a JSON column fills."""
    if key == "cert_decision_date":
        return product.certificate.decision_date
    return getattr(product, key)


@fuzz(800)
@given(data=st.binary(max_size=2000), fmt=st.sampled_from([CatalogFormat.CSV, CatalogFormat.JSON]))
def test_arbitrary_bytes_never_crash_and_never_write(
    engine: Engine, tmp_path: Path, data: bytes, fmt: CatalogFormat
) -> None:
    import_bytes(engine, tmp_path, data, fmt)
    assert rows_in(engine) == (0, 0)


@fuzz(500)
@given(text=st.text(max_size=600), fmt=st.sampled_from([CatalogFormat.CSV, CatalogFormat.JSON]))
def test_arbitrary_text_with_the_real_header_never_writes_a_bad_row(
    engine: Engine, tmp_path: Path, text: str, fmt: CatalogFormat
) -> None:
    header = VALID[CatalogFormat.CSV].decode("utf-8-sig").splitlines()[0]
    body = (header + "\n" + text) if fmt is CatalogFormat.CSV else text
    import_bytes(engine, tmp_path, body.encode("utf-8", "surrogatepass"), fmt)
    assert rows_in(engine) == (0, 0)


@fuzz(300)
@given(
    row=st.integers(0, len(PRODUCTS) - 1),
    cell=bad_cell,
    corrupt=st.sampled_from(["cell", "truncate", "flip"]),
    at=st.integers(0, 10_000),
)
def test_mutated_workbooks_are_rejected_whole(
    engine: Engine, tmp_path: Path, row: int, cell: tuple[str, Any], corrupt: str, at: int
) -> None:
    data = VALID[CatalogFormat.XLSX]
    if corrupt == "cell":
        book = load_workbook(io.BytesIO(data))
        sheet = book.worksheets[0]
        header = [c.value for c in sheet[1]]
        column, value = cell
        try:
            sheet.cell(row=row + 2, column=header.index(column) + 1, value=value)
        except IllegalCharacterError:
            assume(False)  # a spreadsheet cannot hold this value at all: nothing to import
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    elif corrupt == "truncate":
        data = data[: at % len(data)]
    else:
        i = at % len(data)
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
    error = import_bytes(engine, tmp_path, data, CatalogFormat.XLSX)
    if error is None:
        assert corrupt == "flip"  # a flipped byte inside compressed padding can leave the workbook intact
        _wipe(engine)
    assert rows_in(engine) == (0, 0)


def _wipe(engine: Engine) -> None:
    with Session(engine) as session:
        for row in session.exec(select(ProductRow)):
            session.delete(row)
        session.flush()
        for producer in session.exec(select(ProducerRow)):
            session.delete(producer)
        session.commit()
