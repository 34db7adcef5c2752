"""Marketplace categories as the connector needs them: a flat list with paths, attributes, and folded search.

Adapters that can read their category tree return `Category` rows (every node, with its full
path of names) and a category's `CategoryAttribute`s; `search` finds categories by name without
caring about case or Vietnamese diacritics ("mat ong" finds "Mật ong").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict


class Category(BaseModel):
    """One node of a marketplace's category tree; only leaves take products."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    path: tuple[str, ...]
    leaf: bool


class CategoryAttribute(BaseModel):
    """One attribute a category asks for."""

    model_config = ConfigDict(frozen=True)

    name: str
    label: str = ""
    mandatory: bool = False
    input_type: str = ""


@runtime_checkable
class CategoryReader(Protocol):
    """An adapter that can read its marketplace's category tree and a category's attributes."""

    async def categories(self) -> list[Category]:
        """Every category, with its path."""
        ...

    async def category_attributes(self, category_id: int) -> list[CategoryAttribute]:
        """The attributes a category asks for."""
        ...


def fold(text: str) -> str:
    """Lower case without diacritics ("Mật ong Đà Lạt" -> "mat ong da lat")."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search(categories: Iterable[Category], text: str) -> list[Category]:
    """The categories whose path contains every word of `text` (case and diacritics ignored), leaves first."""
    words = fold(text).split()
    found = [c for c in categories if all(w in fold(" / ".join(c.path)) for w in words)]
    return sorted(found, key=lambda c: (not c.leaf, c.path))


__all__ = ["Category", "CategoryAttribute", "CategoryReader", "fold", "search"]
