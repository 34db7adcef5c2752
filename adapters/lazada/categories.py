"""Reading Lazada's category tree (`/category/tree/get`) and a category's attributes (`/category/attributes/get`).

Reply shapes follow the published samples (goldens `category_tree_get.json`,
`category_attributes_get.json`): the tree is nested `children`, ids are numbers, `leaf` a
boolean; attributes carry `is_mandatory` as the string "1"/"0".
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from adapters.categories import Category, CategoryAttribute
from adapters.lenient import Int, Text

TREE_PATH = "/category/tree/get"
ATTRIBUTES_PATH = "/category/attributes/get"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class LzCategoryNode(_Model):
    """One node of the tree, with its children."""

    category_id: Int
    name: Text
    leaf: bool = False
    children: list[LzCategoryNode] = Field(default_factory=list)


class LzCategoryTree(_Model):
    """The `/category/tree/get` reply."""

    data: list[LzCategoryNode]


class LzAttribute(_Model):
    """One attribute of `/category/attributes/get`."""

    name: Text
    label: Text = ""
    is_mandatory: Int = 0
    input_type: Text = ""


class LzAttributes(_Model):
    """The `/category/attributes/get` reply."""

    data: list[LzAttribute]


def flatten(nodes: Iterable[LzCategoryNode], parents: tuple[str, ...] = ()) -> list[Category]:
    """Every node of the tree with its full path, parents before children."""
    out: list[Category] = []
    for node in nodes:
        path = (*parents, node.name)
        out.append(Category(id=node.category_id, name=node.name, path=path, leaf=node.leaf or not node.children))
        out.extend(flatten(node.children, path))
    return out


def attributes_of(reply: LzAttributes) -> list[CategoryAttribute]:
    """The category's attributes, mandatory ones marked."""
    return [
        CategoryAttribute(name=a.name, label=a.label, mandatory=bool(a.is_mandatory), input_type=a.input_type)
        for a in reply.data
    ]
