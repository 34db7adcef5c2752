"""Catalog import and export: one flat layout in CSV, JSON and XLSX, validated all or nothing.

One row per product, with its producer's columns repeated on the row (`producer_*`); a producer
without products gets a row whose product columns are empty. A row may also name only
`producer_id` when that producer is described on another row or is already in the catalog.
Row numbers are what a spreadsheet shows: the header is row 1, the first record row 2 (JSON:
the first object of `rows` is row 1).

Text cells that start with = + - @ or an apostrophe are written with a leading apostrophe so a
spreadsheet never runs them as formulas; reading removes one leading apostrophe again, so an
export imports back exactly.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from connector.catalog.store import UpsertCounts, read_producers, read_products, upsert_catalog
from connector.store.models import ProducerRow
from schemas.catalog import Producer, Product

ColumnKind = Literal["text", "int", "bool", "date", "images"]


@dataclass(frozen=True)
class Column:
    """One column of the flat layout: its header, where it lives in the model, and its cell kind."""

    name: str
    path: tuple[str, ...]
    kind: ColumnKind = "text"


PRODUCT_COLUMNS: tuple[Column, ...] = (
    Column("sku", ("sku",)),
    Column("name", ("name",)),
    Column("producer_id", ("producer_id",)),
    Column("ocop_code", ("ocop_code",)),
    Column("product_set", ("product_set",), "int"),
    Column("stars", ("stars",), "int"),
    Column("potential_5", ("potential_5",), "bool"),
    Column("score", ("score",), "int"),
    Column("criteria_version", ("criteria_version",)),
    Column("cert_decision_no", ("certificate", "decision_no")),
    Column("cert_decision_date", ("certificate", "decision_date"), "date"),
    Column("cert_issuing_level", ("certificate", "issuing_level")),
    Column("cert_issuer", ("certificate", "issuer")),
    Column("cert_valid_until", ("certificate", "valid_until"), "date"),
    Column("price_vnd", ("price_vnd",), "int"),
    Column("stock", ("stock",), "int"),
    Column("unit", ("unit",)),
    Column("weight_g", ("weight_g",), "int"),
    Column("description", ("description",)),
    Column("images", ("images",), "images"),
    Column("barcode", ("barcode",)),
    Column("active", ("active",), "bool"),
    *(Column(name, (name,)) for name in ("brand", "origin", "shelf_life", "storage", "ingredients")),
    Column("traceability_code", ("traceability_code",)),
    Column("traceability_url", ("traceability_url",)),
    Column("self_declaration_ref", ("compliance", "self_declaration_ref")),
    Column("lab_test_date", ("compliance", "lab_test_date"), "date"),
    Column("food_safety_cert_no", ("compliance", "food_safety_cert_no")),
    Column("food_safety_cert_expires", ("compliance", "food_safety_cert_expires"), "date"),
    Column("food_safety_exemption", ("compliance", "food_safety_exemption")),
    Column("alcohol", ("compliance", "alcohol"), "bool"),
    Column("cosmetic", ("compliance", "cosmetic"), "bool"),
)
PRODUCER_COLUMNS: tuple[Column, ...] = (
    Column("producer_id", ("id",)),
    Column("producer_name", ("name",)),
    Column("producer_type", ("type",)),
    Column("producer_registration_no", ("registration_no",)),
    Column("producer_certified_street", ("address_certified", "street")),
    Column("producer_certified_commune", ("address_certified", "commune")),
    Column("producer_certified_district", ("address_certified", "district")),
    Column("producer_certified_province", ("address_certified", "province")),
    Column("producer_current_street", ("address_current", "street")),
    Column("producer_current_commune", ("address_current", "commune")),
    Column("producer_current_district", ("address_current", "district")),
    Column("producer_current_province", ("address_current", "province")),
    Column("producer_contact_name", ("contact_name",)),
    Column("producer_contact_phone", ("contact_phone",)),
    Column("producer_contact_email", ("contact_email",)),
)
HEADER: tuple[str, ...] = tuple(c.name for c in PRODUCT_COLUMNS) + tuple(c.name for c in PRODUCER_COLUMNS[1:])
KNOWN_COLUMNS = frozenset(HEADER)
JSON_FORMAT_TAG = "ocop-sync-catalog"
FORMULA_START = ("=", "+", "-", "@", "'")
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "có", "x"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "không"})
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_XLSX_ESCAPE = re.compile(r"_x(?=[0-9A-Fa-f]{4}_)")
_XLSX_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


class CatalogFormat(StrEnum):
    """The file formats the catalog is imported from and exported to."""

    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


@dataclass(frozen=True)
class RowError:
    """One problem in an imported file: where (row, column), what was there, and why it is refused."""

    row: int
    column: str
    value: str
    reason: str


class CatalogError(ValueError):
    """An import was refused; nothing was written."""


class CatalogFormatError(CatalogError):
    """The file is not a readable catalog in the expected format (not CSV, bad JSON, not an XLSX...)."""


class CatalogValidationError(CatalogError):
    """Some rows are invalid; `errors` lists every one of them."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors: tuple[RowError, ...] = tuple(sorted(errors, key=lambda e: (e.row, e.column)))
        rows = sorted({e.row for e in self.errors})
        super().__init__(f"{len(self.errors)} problem(s) in {len(rows)} row(s): {', '.join(map(str, rows))}")


@dataclass(frozen=True)
class RawRow:
    """One record as read from a file: its row number and cells by column name."""

    number: int
    cells: dict[str, Any]


@dataclass(frozen=True)
class ParsedCatalog:
    """The validated content of a file: producers it describes and products it lists."""

    producers: tuple[Producer, ...]
    products: tuple[Product, ...]


def format_of(path: Path, explicit: str | None = None) -> CatalogFormat:
    """The format named explicitly, else the one the file extension implies."""
    name = explicit or path.suffix.lstrip(".").lower()
    try:
        return CatalogFormat(name)
    except ValueError:
        raise CatalogFormatError(f"{path.name}: unknown catalog format {name!r}; use csv, json or xlsx") from None


# ---------------------------------------------------------------------------------------- export


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def export_rows(producers: Iterable[Producer], products: Iterable[Product]) -> list[dict[str, Any]]:
    """The flat rows for a catalog: products by SKU with their producer, then producers without products."""
    by_id = {p.id: p for p in producers}
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for product in sorted(products, key=lambda p: p.sku):
        dumped = product.model_dump()
        row = {c.name: _get(dumped, c.path) for c in PRODUCT_COLUMNS}
        producer = by_id.get(product.producer_id)
        if producer is not None:
            row.update(_producer_cells(producer))
            used.add(producer.id)
        rows.append(row)
    for producer in sorted(by_id.values(), key=lambda p: p.id):
        if producer.id not in used:
            rows.append({**{c.name: None for c in PRODUCT_COLUMNS}, **_producer_cells(producer)})
    return [{name: _plain(row.get(name)) for name in HEADER} for row in rows]


def _producer_cells(producer: Producer) -> dict[str, Any]:
    dumped = producer.model_dump()
    return {c.name: _get(dumped, c.path) for c in PRODUCER_COLUMNS}


def _plain(value: Any) -> Any:
    """Model values as cell values: enums as their value, tuples as lists, empty text as None."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    if value == "":
        return None
    return value


def _neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def _text_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if isinstance(value, int) else _neutralise(str(value))


def export_catalog(producers: Iterable[Producer], products: Iterable[Product], fmt: CatalogFormat) -> bytes:
    """The catalog as a file in `fmt` (CSV is UTF-8 with a BOM so spreadsheets read Vietnamese right)."""
    rows = export_rows(producers, products)
    if fmt is CatalogFormat.JSON:
        doc = {"format": JSON_FORMAT_TAG, "version": 1, "rows": rows}
        return (json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default) + "\n").encode("utf-8")
    if fmt is CatalogFormat.CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows([_text_cell(row[name]) for name in HEADER] for row in rows)
        return out.getvalue().encode("utf-8-sig")
    return _write_xlsx(rows)


def _json_default(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _write_xlsx(rows: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "catalog"
    sheet.append(list(HEADER))
    for r, row in enumerate(rows, start=2):
        for c, name in enumerate(HEADER, start=1):
            value = row[name]
            if isinstance(value, date):
                sheet.cell(row=r, column=c, value=value).number_format = "yyyy-mm-dd"
            elif isinstance(value, bool | int) or value is None:
                sheet.cell(row=r, column=c, value=value)
            else:
                sheet.cell(row=r, column=c, value=_XLSX_ESCAPE.sub("_x005F_x", _text_cell(value)))
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------- reading


def read_rows(data: bytes, fmt: CatalogFormat) -> tuple[list[RawRow], list[RowError]]:
    """The records of a file and any header problems (unknown columns); raises CatalogFormatError."""
    if fmt is CatalogFormat.JSON:
        return _read_json(data)
    if fmt is CatalogFormat.CSV:
        return _read_csv(data)
    return _read_xlsx(data)


def _header_errors(header: Sequence[str]) -> list[RowError]:
    errors, seen = [], set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, name, "column appears twice"))
        elif name and name not in KNOWN_COLUMNS:
            errors.append(RowError(1, name, name, "unknown column"))
        seen.add(name)
    if not KNOWN_COLUMNS & seen:
        expected = ", ".join(HEADER[:5])
        raise CatalogFormatError(f"no catalog columns in the header (expected {expected}, ...)")
    return errors


def _read_csv(data: bytes) -> tuple[list[RawRow], list[RowError]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogFormatError(f"not a UTF-8 text file (byte {exc.start}): save the CSV as UTF-8") from exc
    if not text.strip():
        raise CatalogFormatError("the file is empty")
    first_line = text.splitlines()[0]
    delimiter = max((",", ";", "\t"), key=lambda d: len(KNOWN_COLUMNS & {h.strip() for h in first_line.split(d)}))
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise CatalogFormatError(f"not a readable CSV file: {exc}") from exc
    header = [h.strip() for h in records[0]]
    errors = _header_errors(header)
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
            errors.append(RowError(number, "", record[len(header)], "more cells than header columns"))
        rows.append(RawRow(number, dict(zip(header, record, strict=False))))
    return rows, errors


def _read_json(data: bytes) -> tuple[list[RawRow], list[RowError]]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogFormatError(f"not valid JSON: {exc}") from exc
    items = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise CatalogFormatError('expected a JSON list of rows, or an object with a "rows" list')
    rows, errors = [], []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(RowError(number, "", str(item)[:80], "row must be a JSON object"))
            continue
        errors += [RowError(number, k, k, "unknown column") for k in item if k not in KNOWN_COLUMNS]
        rows.append(RawRow(number, {k: v for k, v in item.items() if k in KNOWN_COLUMNS}))
    return rows, errors


def _read_xlsx(data: bytes) -> tuple[list[RawRow], list[RowError]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A damaged workbook fails while it is read (rows are decompressed and parsed lazily), not only
    # when opened: corrupt deflate data, truncated XML and odd parts surface as these errors.
    unreadable = (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, EOFError, IndexError)
    damaged = (zlib.error, SyntaxError, NotImplementedError)  # SyntaxError covers XML ParseError
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (*unreadable, *damaged) as exc:
        raise CatalogFormatError(f"not a readable XLSX workbook: {exc}") from exc
    try:
        sheet = book["catalog"] if "catalog" in book.sheetnames else book.worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
    except (*unreadable, *damaged) as exc:
        raise CatalogFormatError(f"not a readable XLSX workbook: {exc}") from exc
    finally:
        book.close()
    if not values:
        raise CatalogFormatError("the workbook's first sheet is empty")
    header = ["" if h is None else str(h).strip() for h in values[0]]
    errors = _header_errors(header)
    rows = [
        RawRow(number, {h: _xlsx_unescape(v) for h, v in zip(header, record, strict=False) if h})
        for number, record in enumerate(values[1:], start=2)
    ]
    return rows, errors


def _xlsx_unescape(value: Any) -> Any:
    """OOXML writes some characters as _xHHHH_ (Excel: a line break as _x000D_); decode them."""
    if isinstance(value, str) and "_x" in value:
        return _XLSX_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value


# ---------------------------------------------------------------------------------------- validating


@dataclass(frozen=True)
class _Cell:
    column: Column
    raw: str
    value: Any


class _Invalid(ValueError):
    pass


def _unescape(value: Any, textual: bool) -> Any:
    if textual and isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def _convert(column: Column, value: Any) -> Any:
    """A cell value as the model expects it; None when the cell is empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if column.kind == "images":
        return list(value) if isinstance(value, list) else str(value).split()
    if column.kind == "bool":
        return _to_bool(value)
    if column.kind == "date":
        return _to_date(value)
    if column.kind == "int" or isinstance(value, list | dict):
        return value  # the schema decides (it refuses fractions and "85.000")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return value if isinstance(value, str) else str(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _Invalid("expected true or false")


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if match := _DMY.fullmatch(text):
            day, month, year = map(int, match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise _Invalid("expected a date, YYYY-MM-DD or DD/MM/YYYY") from None


def _cells(row: RawRow, columns: Sequence[Column], textual: bool) -> tuple[list[_Cell], list[RowError]]:
    cells, errors = [], []
    for column in columns:
        raw = _unescape(row.cells.get(column.name), textual)
        shown = "" if raw is None else str(raw)
        try:
            value = _convert(column, raw)
        except _Invalid as exc:
            errors.append(RowError(row.number, column.name, shown, str(exc)))
            continue
        if value is not None:
            cells.append(_Cell(column, shown, value))
    return cells, errors


def _nest(cells: Iterable[_Cell]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for cell in cells:
        *parents, leaf = cell.column.path
        target = data
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = cell.value
    return data


def _model_errors(
    exc: ValidationError, number: int, columns: Sequence[Column], cells: Sequence[_Cell]
) -> list[RowError]:
    shown = {c.column.name: c.raw for c in cells}
    errors = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        column = next((c for c in columns if c.path == loc[: len(c.path)]), None)
        column = column or next((c for c in columns if c.path[: len(loc)] == loc), columns[0])
        reason = str(err["msg"]).removeprefix("Value error, ")
        errors.append(RowError(number, column.name, shown.get(column.name, ""), reason))
    return errors


def _validate(model: type[Any], row: RawRow, columns: Sequence[Column], cells: list[_Cell]) -> Any:
    try:
        return model.model_validate(_nest(cells))
    except ValidationError as exc:
        raise CatalogValidationError(_model_errors(exc, row.number, columns, cells)) from exc


def _parse_row(row: RawRow, textual: bool) -> tuple[Product | None, Producer | None, list[RowError]]:
    product_cells, errors = _cells(row, PRODUCT_COLUMNS, textual)
    producer_cells, more = _cells(row, PRODUCER_COLUMNS, textual)
    errors += more
    product = producer = None
    describes_producer = any(c.column.name != "producer_id" for c in producer_cells)
    has_product = any(c.column.name != "producer_id" for c in product_cells)
    try:
        if has_product or not describes_producer:
            product = _validate(Product, row, PRODUCT_COLUMNS, product_cells)
    except CatalogValidationError as exc:
        errors += exc.errors
    try:
        if describes_producer:
            producer = _validate(Producer, row, PRODUCER_COLUMNS, producer_cells)
    except CatalogValidationError as exc:
        errors += exc.errors
    return product, producer, _first_per_column(errors)


def _first_per_column(errors: list[RowError]) -> list[RowError]:
    """A cell that could not be read is not also reported as missing."""
    seen: set[str] = set()
    kept = []
    for error in errors:
        if error.column not in seen:
            kept.append(error)
            seen.add(error.column)
    return kept


def _is_blank(row: RawRow) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row.cells.values())


def parse_rows(rows: Sequence[RawRow], known_producers: Collection[str] = (), *, textual: bool = True) -> ParsedCatalog:
    """Validate every row; return the catalog, or raise CatalogValidationError listing every bad row.

    `known_producers` are producer ids already in the catalog, which rows may reference by id alone.
    `textual` is True for CSV and XLSX, whose text cells carry the formula-neutralising apostrophe.
    """
    errors: list[RowError] = []
    products: dict[str, tuple[int, Product]] = {}
    producers: dict[str, tuple[int, Producer]] = {}
    for row in rows:
        if _is_blank(row):
            continue
        product, producer, row_errors = _parse_row(row, textual)
        errors += row_errors
        if producer is not None:
            errors += _add_producer(producers, row.number, producer)
        if product is not None:
            if product.sku in products:
                first = products[product.sku][0]
                errors.append(RowError(row.number, "sku", product.sku, f"duplicate SKU, first seen in row {first}"))
            else:
                products[product.sku] = (row.number, product)
    for number, product in products.values():
        if product.producer_id not in producers and product.producer_id not in known_producers:
            reason = "unknown producer: fill producer_name and the other producer columns, or import it first"
            errors.append(RowError(number, "producer_id", product.producer_id, reason))
    if errors:
        raise CatalogValidationError(errors)
    return ParsedCatalog(tuple(p for _, p in producers.values()), tuple(p for _, p in products.values()))


def _add_producer(producers: dict[str, tuple[int, Producer]], number: int, producer: Producer) -> list[RowError]:
    if producer.id not in producers:
        producers[producer.id] = (number, producer)
        return []
    first_row, first = producers[producer.id]
    if first == producer:
        return []
    mine, theirs = _producer_cells(producer), _producer_cells(first)
    column = next(c.name for c in PRODUCER_COLUMNS if mine[c.name] != theirs[c.name])
    reason = f"producer {producer.id} is described differently in row {first_row}"
    return [RowError(number, column, str(mine[column]), reason)]


def load_catalog(data: bytes, fmt: CatalogFormat, known_producers: Collection[str] = ()) -> ParsedCatalog:
    """Read and validate a whole file; raises CatalogFormatError or CatalogValidationError."""
    rows, header_errors = read_rows(data, fmt)
    try:
        parsed = parse_rows(rows, known_producers, textual=fmt is not CatalogFormat.JSON)
    except CatalogValidationError as exc:
        raise CatalogValidationError([*header_errors, *exc.errors]) from None
    if header_errors:
        raise CatalogValidationError(header_errors)
    return parsed


def iter_error_lines(error: CatalogValidationError) -> Iterator[str]:
    """One line per problem: "row 12, column price_vnd, value '85.000': reason"."""
    for e in error.errors:
        yield f"row {e.row}, column {e.column or '-'}, value {e.value!r}: {e.reason}"


# ---------------------------------------------------------------------------------------- store


def import_file(
    engine: Engine, path: Path, fmt: CatalogFormat, now: datetime, *, dry_run: bool = False
) -> UpsertCounts:
    """Import a catalog file into the store, all or nothing; with `dry_run`, validate and count only.

    Raises CatalogFormatError (unreadable file) or CatalogValidationError (bad rows); in both
    cases nothing is written.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogFormatError(f"{path}: cannot read: {exc.strerror}") from exc
    with Session(engine, expire_on_commit=False) as session:
        known = set(session.exec(select(col(ProducerRow.id))))
        parsed = load_catalog(data, fmt, known)
        counts = upsert_catalog(session, parsed.producers, parsed.products, now)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return counts


def export_file(engine: Engine, fmt: CatalogFormat) -> bytes:
    """The whole catalog in the store, as a file in `fmt`."""
    with Session(engine) as session:
        return export_catalog(read_producers(session), read_products(session), fmt)
