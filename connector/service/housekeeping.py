"""The leader's housekeeping queries: catalog changes to watch, stuck work to sweep, old ticks to forget."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.clock import aware
from connector.store import session_scope
from connector.store.models import ActionRow, ProductRow, SyncTickRow
from connector.store.states import TickState


def changed_skus(engine: Engine, since: datetime, limit: int = 5000) -> tuple[list[str], datetime]:
    """SKUs whose catalog row changed after `since` (indexed on updated_at), and the new watermark."""
    with Session(engine) as session:
        rows = session.exec(
            select(ProductRow.sku, ProductRow.updated_at)
            .where(ProductRow.updated_at > since)
            .order_by(ProductRow.updated_at)  # type: ignore[arg-type]
            .limit(limit)
        ).all()
    if not rows:
        return [], since
    latest = max(aware(u) or since for _, u in rows)
    return sorted({s for s, _ in rows}), latest


def catalog_watermark(engine: Engine, now: datetime) -> datetime:
    """The newest product change (or `now` for an empty catalog): where the catalog watcher starts."""
    with Session(engine) as session:
        latest = session.exec(select(func.max(ProductRow.updated_at))).first()
    return aware(latest) or now


def sweep_stuck_actions(engine: Engine, now: datetime) -> int:
    """Return outbox actions left in flight past their lease to pending; how many moved."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(ActionRow)
            .where(ActionRow.state == "in_flight", ActionRow.lease_until < now)  # type: ignore[operator]
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.state, row.lease_until, row.updated_at = "pending", None, now
            session.add(row)
        return len(rows)


def forget_ticks(engine: Engine, before: datetime) -> int:
    """Delete finished ticks older than `before` (their runs stay in sync_run); how many."""
    with session_scope(engine) as session:
        result = session.execute(
            delete(SyncTickRow).where(
                SyncTickRow.state.in_([TickState.DONE, TickState.FAILED]),  # type: ignore[attr-defined]
                SyncTickRow.finished_at < before,  # type: ignore[arg-type,operator]
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
