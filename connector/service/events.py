"""Marketplace events (Lazada pushes, Tiki queue events) as work: recorded once, then turned into ticks.

An event never changes stock or listings itself. It is recorded once (unique per shop and
message id, so a duplicated, replayed or re-delivered event is a no-op) and the leader turns
pending events into one targeted incremental tick per shop (the SKUs the events name, or the
whole shop when one names none) through the tick queue. The reconcile run stays the single
writer: a lost event costs only latency (the scheduled poll still runs), a duplicate nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from connector.service.ticks import merge_tick
from connector.store import session_scope
from connector.store.leases import Lease, check_fence
from connector.store.models import InboundEventRow
from schemas.sync import RunKind, RunTrigger

__all__ = ["drain_events", "pending_events", "record_event"]


def record_event(
    engine: Engine, *, shop_id: str, message_id: str, source: str, skus: Collection[str] | None, now: datetime
) -> bool:
    """Record one event for later scheduling; False when this (shop, message id) was seen before."""
    try:
        with session_scope(engine) as session:
            seen = session.exec(
                select(InboundEventRow.id).where(
                    InboundEventRow.shop_id == shop_id, InboundEventRow.message_id == message_id
                )
            ).first()
            if seen is not None:
                return False
            session.add(
                InboundEventRow(
                    shop_id=shop_id,
                    message_id=message_id,
                    source=source,
                    skus=sorted(skus) if skus is not None else None,
                    received_at=now,
                )
            )
    except IntegrityError:
        return False  # the same message recorded concurrently by another request
    return True


def drain_events(engine: Engine, leader: Lease, *, now: datetime) -> int:
    """As the leader: turn pending events into targeted incremental ticks (one per shop); how many events.

    Raises StaleLeaseError when `leader` was taken over (nothing is marked scheduled then).
    """
    with session_scope(engine) as session:
        check_fence(session, leader)
        rows = session.exec(
            select(InboundEventRow)
            .where(col(InboundEventRow.scheduled_at).is_(None))
            .order_by(col(InboundEventRow.id))
            .with_for_update(skip_locked=True)
        ).all()
        wanted: dict[str, set[str] | None] = {}
        for row in rows:
            if row.skus is None:
                wanted[row.shop_id] = None
            elif row.shop_id not in wanted:
                wanted[row.shop_id] = set(row.skus)
            elif (current := wanted[row.shop_id]) is not None:
                current.update(row.skus)
        for shop_id, skus in sorted(wanted.items()):
            tick = f"evt:{int(now.timestamp() * 1000)}"
            kind, trigger = RunKind.INCREMENTAL.value, RunTrigger.EVENT.value
            merge_tick(session, engine, leader, shop_id, tick, kind, trigger, now, skus, ())
        for row in rows:
            row.scheduled_at = now
            session.add(row)
        return len(rows)


def pending_events(engine: Engine) -> int:
    """Events recorded but not yet turned into ticks."""
    with Session(engine) as session:
        return len(session.exec(select(InboundEventRow.id).where(col(InboundEventRow.scheduled_at).is_(None))).all())
