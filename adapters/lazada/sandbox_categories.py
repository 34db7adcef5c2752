"""The Lazada sandbox's category tree: the food and handicraft branches OCOP products belong to.

Names are Vietnamese as Lazada Vietnam shows them; the shapes follow the published samples
(`category_tree_get.json`, `category_attributes_get.json`). Ids are sandbox ids.
"""

from __future__ import annotations

from typing import Any

_FOOD_ATTRS = ("brand", "shelf_life", "origin")
_CRAFT_ATTRS = ("brand", "material")

# (id, name, children) — leaves have no children
TREE: tuple[tuple[int, str, tuple[Any, ...]], ...] = (
    (
        10001,
        "Bách hóa online",
        (
            (10010, "Đồ uống", ((10011, "Trà", ()), (10012, "Cà phê", ()), (10013, "Rượu, bia", ()))),
            (10020, "Thực phẩm khô", ((10021, "Gạo", ()), (10022, "Hạt, đậu", ()), (10023, "Mật ong", ()))),
            (10030, "Đặc sản vùng miền", ((10031, "Nước mắm, gia vị", ()), (10032, "Bánh kẹo truyền thống", ()))),
        ),
    ),
    (
        20001,
        "Nhà cửa & Đời sống",
        (
            (
                20010,
                "Thủ công mỹ nghệ",
                ((20011, "Đồ mây tre đan", ()), (20012, "Gốm sứ", ()), (20013, "Dệt thổ cẩm", ())),
            ),
        ),
    ),
)

_LABELS = {
    "brand": "Thương hiệu",
    "shelf_life": "Hạn sử dụng",
    "origin": "Xuất xứ",
    "material": "Chất liệu",
    "storage": "Cách bảo quản",
}


def tree_body() -> list[dict[str, Any]]:
    """The `data` of a `/category/tree/get` reply."""

    def node(entry: tuple[int, str, tuple[Any, ...]]) -> dict[str, Any]:
        cid, name, children = entry
        body: dict[str, Any] = {"category_id": cid, "name": name, "var": True, "leaf": not children}
        if children:
            body["children"] = [node(c) for c in children]
        return body

    return [node(e) for e in TREE]


def leaf_ids() -> dict[int, str]:
    """Every leaf id with the top branch it belongs to ("food" or "craft")."""
    out: dict[int, str] = {}
    for top_id, _, branches in TREE:
        for _, _, leaves in branches:
            for leaf_id, _, _ in leaves:
                out[leaf_id] = "food" if top_id == 10001 else "craft"
    return out


def attributes_body(category_id: int) -> list[dict[str, Any]] | None:
    """The `data` of a `/category/attributes/get` reply, or None for an unknown or non-leaf id."""
    branch = leaf_ids().get(category_id)
    if branch is None:
        return None
    mandatory = _FOOD_ATTRS if branch == "food" else _CRAFT_ATTRS
    names = (*mandatory, "storage")
    return [
        {
            "name": name,
            "label": _LABELS[name],
            "input_type": "text",
            "is_mandatory": "1" if name in mandatory else "0",
            "is_sale_prop": "0",
            "attribute_type": "normal",
            "id": str(i),
        }
        for i, name in enumerate(names)
    ]


def mandatory_attributes(category_id: int) -> tuple[str, ...]:
    """The attributes a sandbox leaf category makes mandatory (none for a category outside the tree)."""
    branch = leaf_ids().get(category_id)
    if branch is None:
        return ()
    return _FOOD_ATTRS if branch == "food" else _CRAFT_ATTRS
