"""Validating flat rows into producers and products, all or nothing, with every problem by row and column."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from connector.catalog.columns import (
    FALSE_WORDS,
    PRODUCER_COLUMNS,
    PRODUCT_COLUMNS,
    ROW_VERSION,
    TRUE_WORDS,
    CatalogValidationError,
    Column,
    RawRow,
    RowError,
)
from connector.catalog.rows import producer_cells
from schemas.catalog import Producer, Product

_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


@dataclass(frozen=True)
class ParsedCatalog:
    """The validated content of a file: producers it describes and products it lists."""

    producers: tuple[Producer, ...]
    products: tuple[Product, ...]
    rows: Mapping[str, int] = field(default_factory=dict)  # the file row of each SKU
    versions: Mapping[str, int | None] = field(default_factory=dict)  # the exported row_version of each SKU


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


_LARGEST_NUMBER_AS_TEXT = 10**15  # a spreadsheet keeps integers exactly up to here: ids, barcodes


def _convert(column: Column, value: Any, textual: bool = True) -> Any:
    """A cell value as the model expects it; None when the cell is empty. In a text column, JSON (not
    `textual`) must hold a string; a spreadsheet cell may hold a whole number typed as one (an id, a barcode)."""
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
    if isinstance(value, str):
        return value
    if not textual or isinstance(value, bool):
        raise _Invalid("expected text")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and abs(value) < _LARGEST_NUMBER_AS_TEXT:
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    raise _Invalid("expected text")


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
            value = _convert(column, raw, textual)
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
    versions: dict[int, int | None] = {}
    for row in rows:
        if _is_blank(row):
            continue
        product, producer, row_errors = _parse_row(row, textual)
        errors += row_errors
        try:
            versions[row.number] = _to_version(_unescape(row.cells.get(ROW_VERSION), textual))
        except _Invalid as exc:
            errors.append(RowError(row.number, ROW_VERSION, str(row.cells.get(ROW_VERSION)), str(exc)))
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
    return ParsedCatalog(
        tuple(p for _, p in producers.values()),
        tuple(p for _, p in products.values()),
        rows={sku: number for sku, (number, _) in products.items()},
        versions={sku: versions.get(number) for sku, (number, _) in products.items()},
    )


def _to_version(value: Any) -> int | None:
    """A row_version cell as a number; None when empty (a row not taken from an export)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _Invalid("expected the row version of the export, a whole number; leave it as exported")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text.isdigit():
        raise _Invalid("expected the row version of the export, a whole number; leave it as exported")
    return int(text)


def _add_producer(producers: dict[str, tuple[int, Producer]], number: int, producer: Producer) -> list[RowError]:
    if producer.id not in producers:
        producers[producer.id] = (number, producer)
        return []
    first_row, first = producers[producer.id]
    if first == producer:
        return []
    mine, theirs = producer_cells(producer), producer_cells(first)
    column = next(c.name for c in PRODUCER_COLUMNS if mine[c.name] != theirs[c.name])
    reason = f"producer {producer.id} is described differently in row {first_row}"
    return [RowError(number, column, str(mine[column]), reason)]


def iter_error_lines(error: CatalogValidationError) -> Iterator[str]:
    """One line per problem: "row 12, column price_vnd, value '85.000': reason"."""
    for e in error.errors:
        yield f"row {e.row}, column {e.column or '-'}, value {e.value!r}: {e.reason}"
