"""The catalog as JSON: an object tagged `ocop-sync-catalog` with a `rows` list (a bare list reads too)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from connector.catalog.columns import JSON_FORMAT_TAG, KNOWN_COLUMNS, CatalogFormatError, RawRow, RowError


def write_json(rows: list[dict[str, Any]]) -> bytes:
    """Flat rows as a JSON document."""
    doc = {"format": JSON_FORMAT_TAG, "version": 1, "rows": rows}
    return (json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default) + "\n").encode("utf-8")


def _json_default(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def read_json(data: bytes) -> tuple[list[RawRow], list[RowError]]:
    """The records of a JSON document and its unknown keys; raises CatalogFormatError."""
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
