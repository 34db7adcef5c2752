"""Pre-flight failures in producer words: which catalog details to add or fix before a listing is sent.

The engine records a failed pre-flight as drift `invalid` whose observed text is
"missing: brand, shelf_life; wrong: title"; this module reads the open ones and says it in
the producer's language ("thiếu: thương hiệu, hạn sử dụng").
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from connector.reports.i18n import Translator
from connector.store.models import DriftRow

GROUPS = ("missing", "wrong")


def open_invalid(session: Session, skus: Sequence[str], shop_ids: Sequence[str]) -> dict[tuple[str, str], str]:
    """The observed text of each open `invalid` drift, by (shop, sku)."""
    if not skus or not shop_ids:
        return {}
    rows = session.exec(
        select(DriftRow).where(
            DriftRow.kind == "invalid",
            col(DriftRow.resolved_at).is_(None),
            col(DriftRow.sku).in_(skus),
            col(DriftRow.shop_id).in_(shop_ids),
        )
    )
    return {(r.shop_id, r.sku): r.observed for r in rows}


def invalid_text(observed: str, t: Translator) -> str:
    """ "missing: brand, shelf_life; wrong: title" as "thiếu: thương hiệu, hạn sử dụng; cần sửa: tên sản phẩm"."""
    parts = []
    for part in observed.split(";"):
        group, _, names = part.partition(":")
        group = group.strip()
        if group not in GROUPS:
            continue
        words = [t(f"field.{n}") if t.has(f"field.{n}") else n for n in (x.strip() for x in names.split(",")) if n]
        parts.append(t(f"invalid.{group}", fields=", ".join(words)))
    return "; ".join(parts)
