"""Forget what the store learnt from in-process sandboxes that no longer exist.

An in-process sandbox lives in memory and is new every time a process starts, so listings,
outbox actions and open drift recorded against it in a persistent database describe a
marketplace that is gone. The demo starts by forgetting them; otherwise the empty-observation
guard (rightly) blocks every run against the new, empty sandbox. The catalog, sales already
counted and run history are kept.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from connector.store.db import session_scope
from connector.store.models import ActionRow, BindingRow, DriftRow, ShopRow


def forget_sandbox_state(engine: Engine, shop_ids: Collection[str], now: datetime) -> int:
    """Drop bindings and outbox actions of `shop_ids`, close their open drift, reset their listing and
    order watermarks; the number of bindings dropped."""
    if not shop_ids:
        return 0
    ids = list(shop_ids)
    with session_scope(engine) as session:
        dropped = len(session.exec(select(BindingRow.id).where(col(BindingRow.shop_id).in_(ids))).all())
        session.execute(delete(BindingRow).where(col(BindingRow.shop_id).in_(ids)))
        session.execute(delete(ActionRow).where(col(ActionRow.shop_id).in_(ids)))
        session.execute(
            update(DriftRow)
            .where(col(DriftRow.shop_id).in_(ids), col(DriftRow.resolved_at).is_(None))
            .values(resolved_at=now)
        )
        session.execute(
            update(ShopRow).where(col(ShopRow.id).in_(ids)).values(listings_watermark=None, orders_watermark=None)
        )
    return dropped
