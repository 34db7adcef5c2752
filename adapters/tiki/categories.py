"""Reading Tiki's categories (`GET /integration/v2/categories`) and a category's attributes (`.../categories/{id}`).

Reply shapes follow the published samples (goldens `categories.v1.json`, `category_detail.v1.json`,
TIKI-OLD "Get categories" / "Get category detail"; the current docs list the same APIs): the list
is a bare JSON array of `{id, name, parent, primary}` (the tree is rebuilt from `parent`; only
`primary` categories take products), the detail carries `attributes[{id, code, display_name,
is_required}]`. The v2 paths are the documented `/integration/{version}/...` template with
`v2` [I]; reading the attributes from the detail (not the separate "Get category attributes"
API, whose reply is not captured) is [I].
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, RootModel

from adapters.categories import Category, CategoryAttribute
from adapters.lenient import Int, Text

CATEGORIES_PATH = "/integration/v2/categories"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TkCategory(_Model):
    """One row of the category list."""

    id: Int
    name: Text
    parent: Int = 0
    primary: Int = 0


class TkCategories(RootModel[list[TkCategory]]):
    """The `GET /categories` reply: a bare list."""


class TkAttribute(_Model):
    """One attribute of a category detail."""

    id: Int = 0
    code: Text
    display_name: Text = ""
    is_required: Int = 0


class TkCategoryDetail(_Model):
    """The `GET /categories/{id}` reply."""

    id: Int
    name: Text
    parent: Int = 0
    primary: Int = 0
    attributes: list[TkAttribute] = Field(default_factory=list)


def tree_of(rows: Iterable[TkCategory]) -> list[Category]:
    """Every category with its full path, shortest first; only `primary` ones take products (leaf)."""
    by_id = {row.id: row for row in rows}

    def path(row: TkCategory) -> tuple[str, ...]:
        names: list[str] = []
        seen: set[int] = set()
        current: TkCategory | None = row
        while current is not None and current.id not in seen:
            seen.add(current.id)
            names.append(current.name)
            current = by_id.get(current.parent)
        return tuple(reversed(names))

    out = [Category(id=row.id, name=row.name, path=path(row), leaf=bool(row.primary)) for row in by_id.values()]
    return sorted(out, key=lambda c: (len(c.path), c.path))


def attributes_of(detail: TkCategoryDetail) -> list[CategoryAttribute]:
    """The category's attributes, required ones marked."""
    return [
        CategoryAttribute(name=a.code, label=a.display_name, mandatory=bool(a.is_required)) for a in detail.attributes
    ]
