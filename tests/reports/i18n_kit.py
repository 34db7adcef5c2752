"""Finding untranslated coded values (enum members) in what people read: visible page text and text reports."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from enum import StrEnum
from html.parser import HTMLParser

from sqlalchemy import update
from sqlalchemy.engine import Engine

import schemas
from connector.store import session_scope
from connector.store import states as store_states
from connector.store.models import ActionRow, ShopRow, SyncRunRow
from schemas.catalog import CriteriaVersion

NOT_WORDS = {CriteriaVersion}  # legal decision numbers, shown as they are written
EXTRA_CODES = {"listed"}  # values drift detection writes that are not enum members


def coded_values() -> set[str]:
    """Every member value of every enum in `schemas` and the store's state enums, plus other raw codes."""
    modules = [importlib.import_module(f"schemas.{m.name}") for m in pkgutil.iter_modules(schemas.__path__)]
    values = set(EXTRA_CODES)
    for module in [*modules, store_states]:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, StrEnum) and cls is not StrEnum and cls not in NOT_WORDS:
                values |= {member.value for member in cls}
    return values


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        values = dict(attrs)
        if tag == "input" and values.get("type") == "submit":
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a reader sees on a page (no tags, attributes, styles)."""
    parser = _Visible()
    parser.feed(html)
    return "\n".join(parser.parts)


def raw_codes(text: str, codes: set[str] | None = None) -> list[str]:
    """The coded values that appear as whole words in `text`, sorted."""
    found = set()
    for code in codes if codes is not None else coded_values():
        if re.search(rf"(?<![\w\-/=]){re.escape(code)}(?![\w\-])", text):
            found.add(code)
    return sorted(found)


def snake_codes() -> set[str]:
    """The coded values that can never be English prose (they contain an underscore)."""
    return {code for code in coded_values() if "_" in code}


def vietnamese_errors(engine: Engine) -> None:
    """Replace the world's English marketplace error texts (free text, not codes) with Vietnamese ones."""
    with session_scope(engine) as s:
        s.execute(update(ShopRow).where(ShopRow.last_error != "").values(last_error="lỗi kết nối sàn"))  # type: ignore[arg-type]
        s.execute(update(SyncRunRow).where(SyncRunRow.error != "").values(error="lỗi xác thực"))  # type: ignore[arg-type]
        s.execute(update(ActionRow).where(ActionRow.last_error != "").values(last_error="sàn từ chối ngành hàng"))  # type: ignore[arg-type]
