"""The flat catalog layout: its columns, the file formats, and the errors an import reports.

One row per product, with its producer's columns repeated on the row (`producer_*`); a producer
without products gets a row whose product columns are empty. Row numbers are what a spreadsheet
shows: the header is row 1, the first record row 2 (JSON: the first object of `rows` is row 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

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
# The product's version when it was exported (bumped on every change, sales included): an import
# merges the row against the product as it was then. Last, so spreadsheets keep it out of the way.
ROW_VERSION = "row_version"
HEADER: tuple[str, ...] = (
    tuple(c.name for c in PRODUCT_COLUMNS) + tuple(c.name for c in PRODUCER_COLUMNS[1:]) + (ROW_VERSION,)
)
KNOWN_COLUMNS = frozenset(HEADER)
JSON_FORMAT_TAG = "ocop-sync-catalog"
FORMULA_START = ("=", "+", "-", "@", "'")
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "có", "x"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "không"})


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


def format_of(path: Path, explicit: str | None = None) -> CatalogFormat:
    """The format named explicitly, else the one the file extension implies."""
    name = explicit or path.suffix.lstrip(".").lower()
    try:
        return CatalogFormat(name)
    except ValueError:
        raise CatalogFormatError(f"{path.name}: unknown catalog format {name!r}; use csv, json or xlsx") from None
