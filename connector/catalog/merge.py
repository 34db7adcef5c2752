"""Importing an edited export without undoing what happened since: a three-way merge per column.

Each exported row carries the product's `row_version`. On import, every product column of a row
is compared three ways — the value exported (the product at that version), the value in the
file, and the value in the catalog now:

- the file still holds the exported value: the operator did not touch it; the current value stays
  (so a sale or an API edit made since the export is kept);
- the operator changed it and nobody else did: the file's value is applied;
- both changed it: for `stock`, `merge` applies the operator's change (file − exported) to today's
  stock (never below zero) and `refuse` refuses the row; for any other column it is a conflict
  under both policies, unless both made the same change.

A row without a version (a file not made by `catalog export`, or a row added by hand) keeps the
old semantics for a new SKU (inserted) and is treated conservatively for an existing one: its
columns are applied as given except `stock`, which is refused when it differs from today's —
nothing tells what was sold since that file was made. The same holds when the exported version
is no longer kept (older than `REVISION_RETENTION`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from connector.catalog.columns import PRODUCT_COLUMNS, CatalogError, Column
from connector.catalog.store import product_at_version
from connector.catalog.validate import ParsedCatalog
from connector.store.models import ProductRow
from schemas.catalog import Product

STOCK = "stock"
MERGED_COLUMNS: tuple[Column, ...] = tuple(c for c in PRODUCT_COLUMNS if c.name != "sku")


class ConflictPolicy(StrEnum):
    """What an import does with a stock value changed both in the file and in the catalog since the export."""

    REFUSE = "refuse"  # refuse the import, listing every conflict (the default)
    MERGE = "merge"  # apply the operator's change (file − exported) to today's stock


@dataclass(frozen=True)
class RowConflict:
    """One column of one row that the import cannot apply without undoing something."""

    row: int
    sku: str
    column: str
    exported: str
    current: str
    file: str
    since_export: str
    reason: str

    def line(self) -> str:
        """The conflict in one line: row, SKU, column, the three values and what to do."""
        values = f"exported {self.exported}, now {self.current}, your file {self.file}"
        since = f"; changed since the export: {self.since_export}" if self.since_export else ""
        return f"row {self.row}, SKU {self.sku}, column {self.column}: {values}{since}: {self.reason}"


class CatalogConflictError(CatalogError):
    """Some rows would undo changes made since the export; nothing was written. `conflicts` lists them."""

    def __init__(self, conflicts: Sequence[RowConflict]) -> None:
        self.conflicts = tuple(sorted(conflicts, key=lambda c: (c.row, c.column)))
        super().__init__(f"{len(self.conflicts)} conflict(s): " + "; ".join(c.line() for c in self.conflicts[:3]))


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    *parents, leaf = path
    for key in parents:
        data = data[key]
    data[leaf] = value


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, list | tuple):
        return " ".join(map(str, value)) or "(empty)"
    return str(value)


def _changes(base: dict[str, Any], current: dict[str, Any]) -> str:
    diffs = [
        f"{c.name} {_shown(_get(base, c.path))} → {_shown(_get(current, c.path))}"
        for c in MERGED_COLUMNS
        if _get(base, c.path) != _get(current, c.path)
    ]
    return ", ".join(diffs)


def merge_product(
    file: Product, base: Product | None, current: Product, row: int, policy: ConflictPolicy
) -> tuple[Product, list[RowConflict]]:
    """The product to store for one imported row, and the conflicts that forbid storing it (pure).

    `base` is the product as exported (None when the row has no usable version).
    """
    mine, now = file.model_dump(), current.model_dump()
    then = base.model_dump() if base is not None else None
    since = _changes(then, now) if then is not None else ""
    merged = current.model_dump()
    conflicts: list[RowConflict] = []

    def conflict(column: Column, exported: Any, reason: str) -> None:
        shown = _shown(exported) if then is not None else "(unknown: no row_version)"
        values = (_shown(_get(now, column.path)), _shown(_get(mine, column.path)))
        conflicts.append(RowConflict(row, file.sku, column.name, shown, *values, since, reason))

    for column in MERGED_COLUMNS:
        f, c = _get(mine, column.path), _get(now, column.path)
        if then is None:
            if column.name == STOCK and f != c:
                reason = (
                    "no row_version: cannot tell what was sold since this file was made; export again and edit that"
                )
                conflict(column, None, reason)
            elif column.name != STOCK:
                _set(merged, column.path, f)
            continue
        b = _get(then, column.path)
        if f in (b, c):
            continue  # untouched by the operator, or already what they want
        if c == b:
            _set(merged, column.path, f)
        elif column.name == STOCK and policy is ConflictPolicy.MERGE:
            _set(merged, column.path, max(0, c + (f - b)))
        elif column.name == STOCK:
            reason = f"refused: --on-conflict merge would apply your change ({f - b:+d}) to today's stock"
            conflict(column, b, reason)
        else:
            conflict(column, b, "changed both in your file and in the catalog since the export; export again")
    if conflicts:
        return current, conflicts
    try:
        return Product.model_validate(merged), []
    except ValidationError as exc:
        reason = "your changes and those made since the export do not fit together: " + str(exc.errors()[0]["msg"])
        return current, [RowConflict(row, file.sku, "-", "", "", "", since, reason)]


def resolve_products(session: Session, parsed: ParsedCatalog, policy: ConflictPolicy) -> list[Product]:
    """The products an import writes: new SKUs as given, existing ones merged against their exported version.

    Locks the existing rows (PostgreSQL) so no sale slips in between the merge and the write.
    Raises `CatalogConflictError` listing every conflict; nothing is written then.
    """
    result: list[Product] = []
    conflicts: list[RowConflict] = []
    for product in parsed.products:
        row = session.get(ProductRow, product.sku, with_for_update=True, populate_existing=True)
        if row is None:
            result.append(product)
            continue
        current = Product.model_validate(row.data)
        version = parsed.versions.get(product.sku)
        base = None
        if version is not None:
            base = current if version == row.row_version else product_at_version(session, product.sku, version)
        merged, found = merge_product(product, base, current, parsed.rows.get(product.sku, 0), policy)
        conflicts += found
        result.append(merged)
    if conflicts:
        raise CatalogConflictError(conflicts)
    return result
