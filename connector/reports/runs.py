"""The run history report: the latest sync runs, newest first, with durations and counters."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from connector.clock import aware
from connector.redact import redact_secrets
from connector.store.models import SyncRunRow
from schemas.report import RunRecord, RunsReport


def run_history(session: Session, *, now: datetime, shop_id: str | None = None, limit: int = 50) -> RunsReport:
    """The latest `limit` sync runs (of one shop, or all), newest first."""
    query = select(SyncRunRow).order_by(col(SyncRunRow.started_at).desc(), col(SyncRunRow.id).desc()).limit(limit)
    if shop_id is not None:
        query = query.where(SyncRunRow.shop_id == shop_id)
    runs = []
    for row in session.exec(query):
        assert row.id is not None
        started, finished = aware(row.started_at), aware(row.finished_at)
        runs.append(
            RunRecord(
                id=row.id,
                shop_id=row.shop_id,
                marketplace=row.marketplace,
                kind=row.kind,
                trigger=row.trigger,
                worker=row.worker,
                started_at=started,
                finished_at=finished,
                duration_s=round((finished - started).total_seconds(), 3) if finished else None,
                outcome=row.outcome,
                error=redact_secrets(row.error),
                counters=dict(row.counters),
            )
        )
    return RunsReport(generated_at=now, shop_id=shop_id, runs=runs)
