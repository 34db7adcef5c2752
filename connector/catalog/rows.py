"""Catalog records as flat rows and cells (pure): what every format writes and reads back.

Text cells that start with = + - @ or an apostrophe are written with a leading apostrophe so a
spreadsheet never runs them as formulas; reading removes one leading apostrophe again, so an
export imports back exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from connector.catalog.columns import (
    FORMULA_START,
    HEADER,
    KNOWN_COLUMNS,
    PRODUCER_COLUMNS,
    PRODUCT_COLUMNS,
    ROW_VERSION,
    CatalogFormatError,
    RowError,
)
from schemas.catalog import Producer, Product


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def export_rows(
    producers: Iterable[Producer], products: Iterable[Product], versions: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """The flat rows for a catalog: products by SKU with their producer, then producers without products.

    `versions` gives each product's `row_version` (by SKU); without it the column stays empty.
    """
    by_id = {p.id: p for p in producers}
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for product in sorted(products, key=lambda p: p.sku):
        row = product_cells(product)
        row[ROW_VERSION] = (versions or {}).get(product.sku)
        producer = by_id.get(product.producer_id)
        if producer is not None:
            row.update(producer_cells(producer))
            used.add(producer.id)
        rows.append(row)
    for producer in sorted(by_id.values(), key=lambda p: p.id):
        if producer.id not in used:
            rows.append({**{c.name: None for c in PRODUCT_COLUMNS}, **producer_cells(producer)})
    return [{name: _plain(row.get(name)) for name in HEADER} for row in rows]


def product_cells(product: Product) -> dict[str, Any]:
    """The product columns of a row describing `product`, as model values."""
    dumped = product.model_dump()
    return {c.name: _get(dumped, c.path) for c in PRODUCT_COLUMNS}


def producer_cells(producer: Producer) -> dict[str, Any]:
    """The producer columns of a row describing `producer`."""
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


def text_cell(value: Any) -> str:
    """A cell value as text, as CSV and XLSX text cells hold it (formula starts neutralised)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if isinstance(value, int) else _neutralise(str(value))


def header_errors(header: Sequence[str]) -> list[RowError]:
    """Duplicate and unknown header names; raises CatalogFormatError when no catalog column is there."""
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
