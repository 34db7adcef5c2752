"""The tick queue: one `sync_tick` row per (shop, slot), enqueued by the leader, claimed by workers.

The leader's jobs (`connector.service.jobs`) only *enqueue* a `sync_tick` row per shop; every worker
(the leader included) claims ticks with `FOR UPDATE SKIP LOCKED` and takes the shop's lease
before running it. The unique (shop_id, tick) slot makes a tick idempotent even when two
leaders briefly overlap, and the shop lease keeps two workers off one shop.

Tick names: ``inc:<n>`` (n-th incremental interval since the Unix epoch), ``full:<scheduled
local time>``, ``req:<request id>`` (manual resync) and ``cat:<ms>`` (catalog change).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.store import session_scope
from connector.store.leases import Lease, StaleLeaseError, check_fence, renew, shop_lease, take
from connector.store.models import LeaseRow, ResyncRequestRow, SyncRunRow, SyncTickRow, TickClaimRow
from connector.store.states import FAILED_TICK_OUTCOMES, TickOutcome, TickState, worst_outcome
from schemas.sync import RunKind, RunTrigger

log = logging.getLogger("ocop_sync.daemon")

# -- tick names -----------------------------------------------------------------------------


def incremental_tick(now: datetime, interval_s: float) -> str:
    """The incremental slot `now` falls in (rounded, so a fire up to half an interval late keeps its slot)."""
    return f"inc:{round(now.timestamp() / interval_s)}"


def aligned_start(now: datetime, interval_s: float) -> datetime:
    """The next multiple of `interval_s` since the epoch: interval jobs fire on slot boundaries."""
    return datetime.fromtimestamp(math.ceil(now.timestamp() / interval_s) * interval_s, tz=UTC)


def full_tick(now: datetime, cron: str, tz: str, jitter_s: int, grace_s: float) -> str:
    """The full-resync slot: the un-jittered cron time this (jittered, maybe late) fire belongs to."""
    trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(tz))
    scheduled = trigger.get_next_fire_time(None, now - timedelta(seconds=jitter_s + grace_s + 1))
    when = scheduled if scheduled is not None and scheduled <= now else now
    return f"full:{when.astimezone(ZoneInfo(tz)):%Y-%m-%dT%H:%M}"


# -- the tick queue ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedTick:
    """A tick this worker claimed, with the shop lease it runs under."""

    id: int
    shop_id: str
    tick: str
    kind: str
    trigger: str
    skus: tuple[str, ...] | None
    request_ids: tuple[int, ...]
    lease: Lease
    attempt: int = 0  # the tick's `attempts` after this claim: tells this claim from a later one
    claim_id: int = 0  # the `tick_claim` row of this claim


def _insert(engine: Engine) -> Callable[..., postgresql.Insert | sqlite.Insert]:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


def enqueue_tick(
    engine: Engine,
    leader: Lease,
    *,
    shop_id: str,
    tick: str,
    kind: str,
    trigger: str,
    now: datetime,
    skus: Collection[str] | None = None,
    request_ids: Sequence[int] = (),
) -> bool:
    """As the leader, add one shop's tick (idempotent per slot); False when the slot already exists.

    Raises StaleLeaseError when `leader` was taken over: a stale leader schedules nothing.
    """
    with session_scope(engine) as session:
        check_fence(session, leader)
        return _enqueue(session, engine, leader, shop_id, tick, kind, trigger, now, skus, request_ids)


def _enqueue(
    session: Session,
    engine: Engine,
    leader: Lease,
    shop_id: str,
    tick: str,
    kind: str,
    trigger: str,
    now: datetime,
    skus: Collection[str] | None,
    request_ids: Sequence[int],
) -> bool:
    values = {
        "shop_id": shop_id,
        "tick": tick,
        "kind": kind,
        "trigger": trigger,
        "skus": sorted(skus) if skus is not None else None,
        "request_ids": list(request_ids),
        "state": TickState.PENDING,
        "leader": leader.holder,
        "leader_epoch": leader.epoch,
        "due_at": now,
        "attempts": 0,
    }
    stmt = (
        _insert(engine)(SyncTickRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["shop_id", "tick"])
        .returning(SyncTickRow.id)  # type: ignore[call-overload]
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def enqueue_merged(
    engine: Engine,
    leader: Lease,
    *,
    shop_id: str,
    tick: str,
    kind: str,
    trigger: str,
    now: datetime,
    skus: Collection[str] | None = None,
    request_ids: Sequence[int] = (),
) -> int:
    """Add work to the shop's pending tick of the same trigger when there is one (coalescing), else a new tick.

    A merged full request upgrades the pending tick to a full run; merged SKUs are unioned.
    Returns the tick's id. Raises StaleLeaseError when `leader` is stale.
    """
    with session_scope(engine) as session:
        check_fence(session, leader)
        return merge_tick(session, engine, leader, shop_id, tick, kind, trigger, now, skus, request_ids)


def merge_tick(
    session: Session,
    engine: Engine,
    leader: Lease,
    shop_id: str,
    tick: str,
    kind: str,
    trigger: str,
    now: datetime,
    skus: Collection[str] | None,
    request_ids: Sequence[int],
) -> int:
    """Inside a fenced transaction: coalesce into the shop's pending tick of `trigger`, or add one."""
    pending = session.exec(
        select(SyncTickRow)
        .where(SyncTickRow.shop_id == shop_id, SyncTickRow.trigger == trigger, SyncTickRow.state == TickState.PENDING)
        .with_for_update()
    ).first()
    if pending is not None:
        if pending.skus is not None:
            pending.skus = None if skus is None else sorted({*pending.skus, *skus})
        if kind == "full":
            pending.kind = "full"
        pending.request_ids = sorted({*pending.request_ids, *request_ids})
        session.add(pending)
        session.flush()
        assert pending.id is not None
        return pending.id
    _enqueue(session, engine, leader, shop_id, tick, kind, trigger, now, skus, request_ids)
    row = session.exec(select(SyncTickRow).where(SyncTickRow.shop_id == shop_id, SyncTickRow.tick == tick)).one()
    assert row.id is not None
    return row.id


def claim_ticks(
    engine: Engine, worker: str, *, now: datetime, lease_s: float, limit: int, busy: Collection[str] = ()
) -> list[ClaimedTick]:
    """Claim up to `limit` due ticks for distinct shops whose lease this worker can take.

    Ticks left running by a dead worker (claim expired) are claimable again; so, at once, are
    ticks still claimed under this worker's own name for a shop it is not running (`busy`): this
    worker crashed or restarted, so nothing runs them. Rows other workers are claiming right now
    are skipped (SKIP LOCKED), never waited for. Claiming a scheduled incremental tick coalesces
    the shop's other due ones into it (they end `merged`): one run catches a shop up.
    """
    claimed: list[ClaimedTick] = []
    if limit <= 0:
        return claimed
    with session_scope(engine) as session:
        running = SyncTickRow.state == TickState.RUNNING
        rows = session.exec(
            select(SyncTickRow)
            .where(
                or_(
                    SyncTickRow.state == TickState.PENDING,  # type: ignore[arg-type]
                    running & (SyncTickRow.lease_until < now),  # type: ignore[arg-type,operator]
                    running & (SyncTickRow.claimed_by == worker),  # type: ignore[arg-type]
                ),
                SyncTickRow.due_at <= now,
            )
            .order_by(SyncTickRow.due_at, SyncTickRow.id)  # type: ignore[arg-type]
            .limit(limit * 4 + 8)
            .with_for_update(skip_locked=True)
        ).all()
        taken = set(busy)
        for row in rows:
            if len(claimed) >= limit or row.shop_id in taken:
                continue
            if row.state == TickState.RUNNING and row.claimed_by == worker:
                _drop_own_shop_lease(session, row.shop_id, worker)  # left by this worker's previous life
            lease = take(session, shop_lease(row.shop_id), worker, now=now, ttl_s=lease_s)
            if lease is None:
                continue
            taken.add(row.shop_id)
            row.state, row.claimed_by, row.claimed_at = TickState.RUNNING, worker, now
            row.lease_until = now + timedelta(seconds=lease_s)
            row.attempts += 1
            session.add(row)
            assert row.id is not None
            if _coalescable(row):
                _merge_others_into(session, row, [r for r in rows if r is not row], now)
            claim = TickClaimRow(
                tick_id=row.id,
                shop_id=row.shop_id,
                tick=row.tick,
                worker=worker,
                lease_epoch=lease.epoch,
                claimed_at=now,
            )
            session.add(claim)
            session.flush()
            assert claim.id is not None
            claimed.append(
                ClaimedTick(
                    row.id,
                    row.shop_id,
                    row.tick,
                    row.kind,
                    row.trigger,
                    tuple(row.skus) if row.skus is not None else None,
                    tuple(row.request_ids),
                    lease,
                    row.attempts,
                    claim.id,
                )
            )
    return claimed


def _drop_own_shop_lease(session: Session, shop_id: str, worker: str) -> None:
    """Free a shop lease this worker's name still holds though this worker runs nothing there."""
    session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == shop_lease(shop_id), LeaseRow.holder == worker)  # type: ignore[arg-type]
        .values(holder="")
    )


def _coalescable(row: SyncTickRow) -> bool:
    """A plain scheduled incremental tick: whole shop, no request to settle."""
    return (
        row.kind == RunKind.INCREMENTAL.value
        and row.trigger == RunTrigger.SCHEDULE.value
        and row.skus is None
        and not row.request_ids
    )


def _merge_others_into(session: Session, kept: SyncTickRow, locked: Sequence[SyncTickRow], now: datetime) -> None:
    """End the shop's other pending plain incremental ticks (already locked by this claim) as merged into `kept`."""
    for other in locked:
        if other.shop_id == kept.shop_id and other.state == TickState.PENDING and _coalescable(other):
            other.state, other.outcome, other.finished_at = TickState.DONE, TickOutcome.MERGED, now
            other.error = f"merged into {kept.tick}"
            session.add(other)


def heartbeat_tick(engine: Engine, claimed: ClaimedTick, *, now: datetime, lease_s: float) -> bool:
    """Extend a running tick and its shop lease; False when another worker took the shop over."""
    if not renew(engine, claimed.lease, now=now, ttl_s=lease_s):
        return False
    with session_scope(engine) as session:
        row = session.get(SyncTickRow, claimed.id)
        if row is not None and _still_ours(row, claimed):
            row.lease_until = now + timedelta(seconds=lease_s)
            session.add(row)
    return True


def _still_ours(row: SyncTickRow, claimed: ClaimedTick) -> bool:
    """The tick is still running under this very claim (not reclaimed, not re-claimed later)."""
    return row.state == TickState.RUNNING and row.claimed_by == claimed.lease.holder and row.attempts == claimed.attempt


def finish_tick(
    engine: Engine,
    claimed: ClaimedTick,
    *,
    now: datetime,
    outcome: str,
    run_id: int | None = None,
    error: str = "",
    requeue: bool = False,
) -> bool:
    """Record a tick's end, fenced by the shop lease, or put it back when `requeue`; False if not recorded.

    Putting back is not fenced: a worker may always return a tick it still holds under this very
    claim (a drain after its shop lease moved must not leave the tick running under its name). An
    end refused by the fence (the shop lease moved) also puts the tick back when it is still this
    claim's, so it runs again at once instead of after its claim expires. Either way the
    `tick_claim` row is closed.
    """
    recorded = False
    if not requeue:
        try:
            with session_scope(engine) as session:
                check_fence(session, claimed.lease)
                row = session.get(SyncTickRow, claimed.id)
                if row is not None:
                    row.state = TickState.FAILED if outcome in FAILED_TICK_OUTCOMES else TickState.DONE
                    row.finished_at, row.outcome, row.run_id, row.error = now, outcome, run_id, error[:500]
                    session.add(row)
                    session.flush()
                    if row.request_ids:
                        settle_requests(session, row.request_ids, now)
                    recorded = True
        except StaleLeaseError as exc:
            log.warning(
                "shop %s: end of tick %s refused by the fence (%s); putting it back", claimed.shop_id, claimed.tick, exc
            )
    with session_scope(engine) as session:
        if not recorded:
            row = session.get(SyncTickRow, claimed.id, with_for_update=True)
            if row is not None and _still_ours(row, claimed):
                row.state, row.claimed_by, row.lease_until = TickState.PENDING, "", None
                session.add(row)
                recorded = requeue
        claim = session.get(TickClaimRow, claimed.claim_id) if claimed.claim_id else None
        if claim is not None and claim.ended_at is None:
            claim.ended_at, claim.run_id = now, run_id
            claim.outcome = outcome if not requeue else "requeued"
            session.add(claim)
    return recorded


def settle_requests(session: Session, request_ids: Collection[int], now: datetime) -> None:
    """Inside a transaction: finish each request whose ticks have all ended, with the worst outcome."""
    for request_id in request_ids:
        req = session.get(ResyncRequestRow, request_id)
        if req is None or req.finished_at is not None or req.claimed_at is None:
            continue
        since = req.claimed_at - timedelta(seconds=1)
        ticks = [
            t
            for t in session.exec(
                select(SyncTickRow).where(SyncTickRow.trigger == RunTrigger.MANUAL.value, SyncTickRow.due_at >= since)
            ).all()
            if request_id in t.request_ids
        ]
        if any(t.state in (TickState.PENDING, TickState.RUNNING) for t in ticks):
            continue
        req.finished_at = now
        ended = [t.outcome for t in ticks if t.state in (TickState.DONE, TickState.FAILED)]
        req.outcome = worst_outcome(ended) or TickOutcome.CONVERGED
        session.add(req)
        for t in ticks:
            run = session.get(SyncRunRow, t.run_id) if t.run_id is not None else None
            if run is not None and run.request_id is None:
                run.request_id = request_id
                session.add(run)


def pending_ticks(engine: Engine) -> int:
    """Ticks waiting for a worker."""
    with Session(engine) as session:
        return len(session.exec(select(SyncTickRow.id).where(SyncTickRow.state == TickState.PENDING)).all())
