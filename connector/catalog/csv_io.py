"""The catalog as CSV: UTF-8 with a BOM (so spreadsheets read Vietnamese right), comma, semicolon or tab."""

from __future__ import annotations

import csv
import io
from typing import Any

from connector.catalog.columns import HEADER, KNOWN_COLUMNS, CatalogFormatError, RawRow, RowError
from connector.catalog.rows import header_errors, text_cell


def write_csv(rows: list[dict[str, Any]]) -> bytes:
    """Flat rows as a CSV file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([text_cell(row[name]) for name in HEADER] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def read_csv(data: bytes) -> tuple[list[RawRow], list[RowError]]:
    """The records of a CSV file and its header problems; raises CatalogFormatError."""
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
    errors = header_errors(header)
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
            errors.append(RowError(number, "", record[len(header)], "more cells than header columns"))
        elif 0 < len(record) < len(header) and any(cell.strip() for cell in record):
            missing = header[len(record)]
            errors.append(RowError(number, missing, "", f"row ends early: {len(header) - len(record)} cells missing"))
        rows.append(RawRow(number, dict(zip(header, record, strict=False))))
    return rows, errors
