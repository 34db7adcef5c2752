"""Catalog import and export: one flat layout in CSV, JSON and XLSX, validated all or nothing.

The layout, formats and errors live in `columns`, flat rows in `rows`, each format in its own
module (`csv_io`, `json_io`, `xlsx_io`) and validation in `validate`; this module joins them to
the store. A row may also name only `producer_id` when that producer is described on another row
or is already in the catalog.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from connector.catalog.columns import (
    HEADER,
    KNOWN_COLUMNS,
    PRODUCER_COLUMNS,
    PRODUCT_COLUMNS,
    ROW_VERSION,
    CatalogError,
    CatalogFormat,
    CatalogFormatError,
    CatalogValidationError,
    Column,
    RawRow,
    RowError,
    format_of,
)
from connector.catalog.csv_io import read_csv, write_csv
from connector.catalog.json_io import read_json, write_json
from connector.catalog.merge import CatalogConflictError, ConflictPolicy, RowConflict, resolve_products
from connector.catalog.rows import export_rows
from connector.catalog.store import (
    UpsertCounts,
    product_versions,
    read_producers,
    read_products,
    stamp_at_commit,
    upsert_catalog,
)
from connector.catalog.validate import ParsedCatalog, iter_error_lines, parse_rows
from connector.catalog.xlsx_io import read_xlsx, write_xlsx
from connector.store.models import ProducerRow
from schemas.catalog import Producer, Product

__all__ = [
    "HEADER",
    "KNOWN_COLUMNS",
    "PRODUCER_COLUMNS",
    "PRODUCT_COLUMNS",
    "ROW_VERSION",
    "CatalogConflictError",
    "CatalogError",
    "CatalogFormat",
    "CatalogFormatError",
    "CatalogValidationError",
    "Column",
    "ConflictPolicy",
    "ParsedCatalog",
    "RawRow",
    "RowConflict",
    "RowError",
    "export_catalog",
    "export_file",
    "export_rows",
    "format_of",
    "import_file",
    "iter_error_lines",
    "load_catalog",
    "parse_rows",
    "read_rows",
]


def export_catalog(
    producers: Iterable[Producer],
    products: Iterable[Product],
    fmt: CatalogFormat,
    versions: Mapping[str, int] | None = None,
) -> bytes:
    """The catalog as a file in `fmt` (CSV is UTF-8 with a BOM so spreadsheets read Vietnamese right).

    `versions` (row_version by SKU) fills the `row_version` column; without it the column is empty.
    """
    rows = export_rows(producers, products, versions)
    if fmt is CatalogFormat.JSON:
        return write_json(rows)
    if fmt is CatalogFormat.CSV:
        return write_csv(rows)
    return write_xlsx(rows)


def read_rows(data: bytes, fmt: CatalogFormat) -> tuple[list[RawRow], list[RowError]]:
    """The records of a file and any header problems (unknown columns); raises CatalogFormatError."""
    if fmt is CatalogFormat.JSON:
        return read_json(data)
    if fmt is CatalogFormat.CSV:
        return read_csv(data)
    return read_xlsx(data)


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


def import_file(
    engine: Engine,
    path: Path,
    fmt: CatalogFormat,
    now: datetime,
    *,
    dry_run: bool = False,
    on_conflict: ConflictPolicy = ConflictPolicy.REFUSE,
) -> UpsertCounts:
    """Import a catalog file into the store, all or nothing; with `dry_run`, validate and count only.

    Rows from an export are merged against the product as exported (`catalog.merge`), so sales
    and edits made since are kept; `on_conflict` decides what a stock changed on both sides does.
    Raises CatalogFormatError (unreadable file), CatalogValidationError (bad rows) or
    CatalogConflictError (rows that would undo changes made since the export); then nothing is written.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogFormatError(f"{path}: cannot read: {exc.strerror}") from exc
    with Session(engine, expire_on_commit=False) as session:
        known = set(session.exec(select(col(ProducerRow.id))))
        parsed = load_catalog(data, fmt, known)
        products = resolve_products(session, parsed, on_conflict)
        counts = upsert_catalog(session, parsed.producers, products, now)
        stamp_at_commit(session)  # `now` was taken before parsing: the rows carry the commit time instead
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return counts


def export_file(engine: Engine, fmt: CatalogFormat) -> bytes:
    """The whole catalog in the store, as a file in `fmt`, each product row with its `row_version`."""
    with Session(engine) as session:
        return export_catalog(read_producers(session), read_products(session), fmt, product_versions(session))
