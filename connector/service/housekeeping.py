"""The leader's housekeeping queries: catalog changes to watch, stuck work to sweep, old ticks to forget.

The sweeper also closes *orphaned runs*: a `sync_run` still `running` whose tick is no longer
running under a live claim (the worker crashed, lost its lease, or could not record the end
through a database outage) is closed as `interrupted`, so no run stays `running` forever.
A run belongs to the latest `tick_claim` of its shop by its worker made before it started.

The catalog change log is pruned below every shop's position (`prune_changes`): a row goes only
once every shop that keeps a position has read past it, and only when it is older than the
retention, so no shop ever misses a change it has not synced.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from connector.clock import aware
from connector.store import read_only, session_scope
from connector.store.changes import changes_after, latest_change
from connector.store.models import ActionRow, CatalogChangeRow, ShopRow, SyncRunRow, SyncTickRow, TickClaimRow
from connector.store.states import TickOutcome, TickState


def changed_skus(engine: Engine, since: int, limit: int = 5000) -> tuple[list[str], int]:
    """SKUs of the catalog changes logged after position `since` (at most `limit` changes), and the new position.

    Positions come from the commit-ordered change log, so nothing committed late is skipped and a
    limit never splits a position; call again from the returned position until no SKU is left.
    """
    with Session(read_only(engine)) as session:
        rows = changes_after(session, since, limit)
    if not rows:
        return [], since
    return sorted({sku for _, sku in rows}), rows[-1][0]


def catalog_watermark(engine: Engine) -> int:
    """The newest catalog change-log position: where the catalog watcher starts."""
    with Session(read_only(engine)) as session:
        return latest_change(session)


def change_log_floor(engine: Engine) -> int | None:
    """The lowest catalog position any shop keeps (None: no shop keeps one, so no row may be judged read).

    Every shop row counts, enabled or not: a shop disabled today and enabled next month reads the
    log from its old position. A shop without a position reads every product on its next run,
    so it needs no row of the log.
    """
    with Session(read_only(engine)) as session:
        floor = session.execute(select(func.min(ShopRow.catalog_position))).scalar_one_or_none()
    return int(floor) if floor is not None else None


def prune_changes(engine: Engine, before: datetime, *, batch: int = 5000) -> int:
    """Delete catalog changes every shop has read (id <= every shop's position) and older than `before`.

    Deleted in batches of `batch` rows, one short transaction each (SQLite has one writer). The
    floor is read once: positions only move forward, so a floor read earlier is never above a
    shop's position later. How many rows went.
    """
    floor = change_log_floor(engine)
    if floor is None:
        return 0
    pruned = 0
    while True:
        with session_scope(engine) as session:
            ids = (
                select(col(CatalogChangeRow.id))
                .where(col(CatalogChangeRow.id) <= floor, col(CatalogChangeRow.changed_at) < before)
                .order_by(col(CatalogChangeRow.id))
                .limit(batch)
            )
            result = session.execute(delete(CatalogChangeRow).where(col(CatalogChangeRow.id).in_(ids)))
            count = int(result.rowcount)  # type: ignore[attr-defined]
        pruned += count
        if count < batch:
            return pruned


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


def close_orphaned_runs(engine: Engine, now: datetime) -> list[int]:
    """Close as `interrupted` every running run whose tick no longer runs under a live claim; their ids.

    Runs made outside any tick claim (a one-shot `ocop-sync sync`) are left alone.
    """
    closed: list[int] = []
    with session_scope(engine) as session:
        runs = session.exec(
            select(SyncRunRow)
            .where(SyncRunRow.outcome == "running", SyncRunRow.finished_at == None)  # noqa: E711
            .with_for_update(skip_locked=True)
        ).all()
        for run in runs:
            claim = session.exec(
                select(TickClaimRow)
                .where(
                    TickClaimRow.shop_id == run.shop_id,
                    TickClaimRow.worker == run.worker,
                    TickClaimRow.claimed_at <= run.started_at,
                )
                .order_by(TickClaimRow.claimed_at.desc())  # type: ignore[attr-defined]
            ).first()
            if claim is None or _runs_under_live_claim(session, claim, now):
                continue
            run.outcome, run.finished_at = TickOutcome.INTERRUPTED.value, now
            run.error = (run.error or f"closed by the sweeper: tick {claim.tick} no longer runs under its claim")[:500]
            session.add(run)
            assert run.id is not None
            closed.append(run.id)
    return closed


def _runs_under_live_claim(session: Session, claim: TickClaimRow, now: datetime) -> bool:
    tick = session.get(SyncTickRow, claim.tick_id)
    if tick is None or tick.state != TickState.RUNNING or tick.claimed_by != claim.worker:
        return False
    latest = session.exec(
        select(TickClaimRow.id).where(TickClaimRow.tick_id == claim.tick_id).order_by(TickClaimRow.id.desc())  # type: ignore[union-attr]
    ).first()
    until = aware(tick.lease_until)
    return latest == claim.id and until is not None and until >= now
