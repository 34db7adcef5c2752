"""The transactional outbox and the drift history.

`persist_plan` writes a plan's actions (keyed by an idempotency key per shop, SKU, kind
and values) and its drift rows in the caller's transaction, which also holds the run row:
either the whole plan is recorded or none of it. Apply then drains the shop's pending rows.
A re-planned action with the same key reuses its row: done rows go back to pending (the
write did not stick; compare desired vs observed, never vs pushed), dead rows stay dead
(the marketplace refused exactly these values; shown in reports until the catalog changes).
Pending rows the new plan no longer wants are marked superseded, never deleted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from connector.engine.plan import ACTION_ORDER, action_key
from connector.store.models import ActionRow, DriftRow
from schemas.sync import Action, ActionKind, ActionState, Drift

__all__ = [
    "OPEN_STATES",
    "SUPERSEDED",
    "PersistedPlan",
    "open_action_skus",
    "open_drift_skus",
    "pending_actions",
    "persist_plan",
    "sync_drift",
]

SUPERSEDED = ActionState.SUPERSEDED.value
OPEN_STATES = (ActionState.PENDING.value, ActionState.IN_FLIGHT.value, ActionState.FAILED.value)


@dataclass(frozen=True)
class PersistedPlan:
    """What persisting a plan did."""

    pending_ids: tuple[int, ...]
    dead: int
    drift_opened: int
    drift_closed: int


def _upsert_action(session: Session, run_id: int, action: Action, now: datetime) -> ActionRow:
    key = action_key(action)
    row = session.exec(select(ActionRow).where(ActionRow.idempotency_key == key)).first()
    if row is None:
        row = ActionRow(
            run_id=run_id,
            shop_id=action.shop_id,
            sku=action.seller_sku,
            kind=action.kind.value,
            reason=action.reason,
            payload=dict(action.payload),
            idempotency_key=key,
            created_at=now,
            updated_at=now,
        )
    elif row.state != ActionState.DEAD.value:
        row.state, row.run_id, row.reason, row.lease_until = ActionState.PENDING.value, run_id, action.reason, None
        row.attempts, row.updated_at = 0, now
    session.add(row)
    return row


def _supersede(session: Session, shop_id: str, keep: set[str], scope: Collection[str] | None, now: datetime) -> None:
    query = select(ActionRow).where(ActionRow.shop_id == shop_id, col(ActionRow.state).in_(OPEN_STATES))
    for row in session.exec(query):
        if row.idempotency_key in keep or (scope is not None and row.sku not in scope):
            continue
        row.state, row.updated_at, row.lease_until = SUPERSEDED, now, None
        session.add(row)


def persist_plan(
    session: Session,
    run_id: int,
    shop_id: str,
    actions: Iterable[Action],
    drifts: Iterable[Drift],
    scope: Collection[str] | None,
    now: datetime,
) -> PersistedPlan:
    """Record a plan's actions and drift in the caller's transaction; return the rows to drain."""
    rows = [_upsert_action(session, run_id, a, now) for a in actions]
    _supersede(session, shop_id, {r.idempotency_key for r in rows}, scope, now)
    session.flush()
    opened, closed = sync_drift(session, shop_id, drifts, scope, now)
    pending = tuple(r.id for r in rows if r.id is not None and r.state == ActionState.PENDING.value)
    dead = sum(1 for r in rows if r.state == ActionState.DEAD.value)
    return PersistedPlan(pending, dead, opened, closed)


def sync_drift(
    session: Session,
    shop_id: str,
    drifts: Iterable[Drift],
    scope: Collection[str] | None,
    now: datetime,
    silent: Collection[tuple[str, str]] = (),
) -> tuple[int, int]:
    """Open new drift rows, bump the ones still seen, resolve the ones gone; return (opened, closed).

    Only SKUs in `scope` (all when None) are resolved. `silent` marks (SKU, kind) pairs that an
    acknowledged write failed to close.
    """
    query = select(DriftRow).where(DriftRow.shop_id == shop_id, col(DriftRow.resolved_at).is_(None))
    open_rows = {(r.sku, r.kind): r for r in session.exec(query)}
    seen: set[tuple[str, str]] = set()
    opened = closed = 0
    for drift in drifts:
        key = (drift.seller_sku, drift.kind.value)
        seen.add(key)
        row = open_rows.get(key)
        if row is None:
            row = DriftRow(shop_id=shop_id, sku=drift.seller_sku, kind=drift.kind.value, first_seen=now, last_seen=now)
            open_rows[key] = row
            opened += 1
        row.expected, row.observed, row.last_seen = drift.expected, drift.observed, now
        row.silent_failure = row.silent_failure or key in silent
        session.add(row)
    for key, row in open_rows.items():
        if key in seen or (scope is not None and key[0] not in scope):
            continue
        row.resolved_at = now
        session.add(row)
        closed += 1
    session.flush()
    return opened, closed


def pending_actions(session: Session, ids: Collection[int]) -> list[ActionRow]:
    """The pending outbox rows among `ids`, in apply order (SKU, then kind order)."""
    if not ids:
        return []
    rows = session.exec(
        select(ActionRow).where(col(ActionRow.id).in_(sorted(ids)), ActionRow.state == ActionState.PENDING.value)
    ).all()
    return sorted(rows, key=lambda r: (ACTION_ORDER[ActionKind(r.kind)], r.sku))


def open_action_skus(session: Session, shop_id: str) -> set[str]:
    """SKUs of a shop with outbox rows not finished (pending, in flight, failed)."""
    query = select(ActionRow.sku).where(ActionRow.shop_id == shop_id, col(ActionRow.state).in_(OPEN_STATES))
    return set(session.exec(query))


def open_drift_skus(session: Session, shop_id: str) -> set[str]:
    """SKUs of a shop with drift still open."""
    query = select(DriftRow.sku).where(DriftRow.shop_id == shop_id, col(DriftRow.resolved_at).is_(None))
    return set(session.exec(query))
