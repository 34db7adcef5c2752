"""The Tiki sandbox's categories: the food and handicraft branches OCOP products belong to, in Vietnamese.

Shapes follow the published samples (`categories.v1.json`: a bare list of `{id, name, parent,
primary}`; `category_detail.v1.json`: the same plus `description` and `attributes[{id, code,
display_name, is_required}]`). The ids are sandbox ids [I]; the top branches hang under
category 2, which the list does not contain (the path stops there) [I].
"""

from __future__ import annotations

from typing import Any

ROOT = 2
_FOOD = ("brand", "origin", "shelf_life")
_CRAFT = ("brand", "material")
_LABELS = {
    "brand": "Thương hiệu",
    "origin": "Xuất xứ",
    "shelf_life": "Hạn sử dụng",
    "material": "Chất liệu",
    "storage": "Hướng dẫn bảo quản",
}
_ATTRIBUTE_IDS = {"brand": 31, "origin": 37, "shelf_life": 1158, "material": 208, "storage": 1160}

# (id, name, parent, primary)
CATEGORIES: tuple[tuple[int, str, int, int], ...] = (
    (4384, "Bách Hóa Online", ROOT, 0),
    (4385, "Đồ uống", 4384, 0),
    (4386, "Trà", 4385, 1),
    (4387, "Cà phê", 4385, 1),
    (4390, "Thực phẩm khô", 4384, 0),
    (4391, "Gạo", 4390, 1),
    (4392, "Mật ong", 4390, 1),
    (4393, "Hạt, đậu", 4390, 1),
    (4395, "Đặc sản vùng miền", 4384, 0),
    (4396, "Nước mắm, gia vị", 4395, 1),
    (4397, "Bánh kẹo truyền thống", 4395, 1),
    (1883, "Nhà Cửa - Đời Sống", ROOT, 0),
    (1900, "Thủ công mỹ nghệ", 1883, 0),
    (1901, "Đồ mây tre đan", 1900, 1),
    (1902, "Gốm sứ", 1900, 1),
    (1903, "Dệt thổ cẩm", 1900, 1),
)


def _row(entry: tuple[int, str, int, int]) -> dict[str, Any]:
    cid, name, parent, primary = entry
    return {"id": cid, "name": name, "parent": parent, "primary": primary}


def _branch(category_id: int) -> str:
    by_id = {c[0]: c for c in CATEGORIES}
    current = by_id.get(category_id)
    while current is not None and current[2] != ROOT:
        current = by_id.get(current[2])
    return "craft" if current is not None and current[0] == 1883 else "food"


def list_body(*, name: str = "", parent: int | None = None, primary: int | None = None) -> list[dict[str, Any]]:
    """The `GET /categories` reply, filtered as documented (`name` keyword, `parent`, `primary`)."""
    rows = [
        c
        for c in CATEGORIES
        if (not name or name.casefold() in c[1].casefold())
        and (parent is None or c[2] == parent)
        and (primary is None or c[3] == primary)
    ]
    return [_row(c) for c in rows]


def required_attributes(category_id: int) -> tuple[str, ...]:
    """The attributes a sandbox category requires (none for an unknown or non-primary one)."""
    entry = next((c for c in CATEGORIES if c[0] == category_id), None)
    if entry is None or not entry[3]:
        return ()
    return _CRAFT if _branch(category_id) == "craft" else _FOOD


def detail_body(category_id: int) -> dict[str, Any] | None:
    """The `GET /categories/{id}` reply, or None for an unknown id (the route answers 404)."""
    entry = next((c for c in CATEGORIES if c[0] == category_id), None)
    if entry is None:
        return None
    required = required_attributes(category_id)
    names = (*required, "storage") if entry[3] else ()
    body = _row(entry) | {"description": f"{entry[1]} | Tiki.vn"}
    body["attributes"] = [
        {"id": _ATTRIBUTE_IDS[n], "code": n, "display_name": _LABELS[n], "is_required": 1 if n in required else 0}
        for n in names
    ]
    return body
