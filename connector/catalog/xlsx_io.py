"""The catalog as an XLSX workbook: one sheet named `catalog`, dates as dates, numbers as numbers."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from datetime import date
from typing import Any

from connector.catalog.columns import HEADER, CatalogFormatError, RawRow, RowError
from connector.catalog.rows import header_errors, text_cell

_XLSX_ESCAPE = re.compile(r"_x(?=[0-9A-Fa-f]{4}_)")
_XLSX_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def write_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """Flat rows as an XLSX workbook."""
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
                sheet.cell(row=r, column=c, value=_XLSX_ESCAPE.sub("_x005F_x", text_cell(value)))
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_xlsx(data: bytes) -> tuple[list[RawRow], list[RowError]]:
    """The records of the workbook's catalog sheet and its header problems; raises CatalogFormatError."""
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
    errors = header_errors(header)
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
