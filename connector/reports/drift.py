"""The drift report and timeline: open drift by kind, shop and producer; what was resolved; dead actions."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, or_, select

from connector.clock import aware
from connector.redact import redact_secrets
from connector.reports.common import db_time
from connector.reports.health import shop_views
from connector.settings import Settings
from connector.store.models import ActionRow, DriftRow, ProductRow
from schemas.report import DeadAction, DriftGroup, DriftItem, DriftPoint, DriftReport

DEFAULT_DRIFT_PERIOD = timedelta(days=7)


def _products_by_sku(session: Session, skus: Iterable[str]) -> dict[str, ProductRow]:
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = session.exec(select(ProductRow).where(col(ProductRow.sku).in_(wanted)))
    return {row.sku: row for row in rows}


def _drift_item(row: DriftRow, product: ProductRow | None, marketplace: str, now: datetime) -> DriftItem:
    first_seen = aware(row.first_seen)
    resolved = aware(row.resolved_at)
    age = ((resolved or now) - first_seen).total_seconds()
    assert row.id is not None
    return DriftItem(
        id=row.id,
        shop_id=row.shop_id,
        marketplace=marketplace,
        producer_id=product.producer_id if product else None,
        sku=row.sku,
        product_name=product.name if product else "",
        kind=row.kind,
        expected=redact_secrets(row.expected),
        observed=redact_secrets(row.observed),
        first_seen=first_seen,
        last_seen=aware(row.last_seen),
        age_s=max(0, int(age)),
        resolved_at=resolved,
        silent_failure=row.silent_failure,
    )


def _drift_sort_key(item: DriftItem) -> tuple[str, str, str, str, int]:
    return (item.kind, item.shop_id, item.producer_id or "", item.sku, item.id)


def _groups(items: Sequence[DriftItem]) -> list[DriftGroup]:
    buckets: dict[tuple[str, str, str | None], list[DriftItem]] = defaultdict(list)
    for item in items:
        buckets[(item.kind, item.shop_id, item.producer_id)].append(item)
    return [
        DriftGroup(
            kind=kind,
            shop_id=shop,
            producer_id=producer,
            count=len(members),
            oldest_first_seen=min(m.first_seen for m in members),
        )
        for (kind, shop, producer), members in sorted(
            buckets.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
        )
    ]


def _dead_actions(session: Session, shop_id: str | None, producer_of: dict[str, str]) -> list[DeadAction]:
    query = select(ActionRow).where(ActionRow.state == "dead").order_by(col(ActionRow.shop_id), col(ActionRow.sku))
    if shop_id is not None:
        query = query.where(ActionRow.shop_id == shop_id)
    result = []
    for row in session.exec(query):
        assert row.id is not None
        result.append(
            DeadAction(
                id=row.id,
                shop_id=row.shop_id,
                sku=row.sku,
                producer_id=producer_of.get(row.sku),
                kind=row.kind,
                reason=row.reason,
                attempts=row.attempts,
                last_error=redact_secrets(row.last_error),
                created_at=aware(row.created_at),
                updated_at=aware(row.updated_at),
            )
        )
    return result


def drift_report(
    session: Session,
    settings: Settings,
    *,
    now: datetime,
    shop_id: str | None = None,
    since: datetime | None = None,
) -> DriftReport:
    """Open drift by kind, shop and producer; drift resolved since `since` (default 7 days); dead, silent failures."""
    since = aware(since) or now - DEFAULT_DRIFT_PERIOD
    marketplaces = {v.id: v.marketplace for v in shop_views(session, settings)}
    query = (
        select(DriftRow)
        .where(or_(col(DriftRow.resolved_at).is_(None), col(DriftRow.resolved_at) >= db_time(since)))
        .order_by(col(DriftRow.id))
    )
    if shop_id is not None:
        query = query.where(DriftRow.shop_id == shop_id)
    rows = list(session.exec(query))
    dead_rows_skus = session.exec(select(ActionRow.sku).where(ActionRow.state == "dead")).all()
    products = _products_by_sku(session, [r.sku for r in rows] + list(dead_rows_skus))
    items = [_drift_item(r, products.get(r.sku), marketplaces.get(r.shop_id, ""), now) for r in rows]
    open_items = sorted((i for i in items if i.resolved_at is None), key=_drift_sort_key)
    resolved = sorted((i for i in items if i.resolved_at is not None), key=lambda i: (i.resolved_at or now, i.id))
    producer_of = {sku: row.producer_id for sku, row in products.items()}
    return DriftReport(
        generated_at=now,
        shop_id=shop_id,
        since=since,
        open_count=len(open_items),
        open_by_kind=dict(sorted(Counter(i.kind for i in open_items).items())),
        open_by_shop=dict(sorted(Counter(i.shop_id for i in open_items).items())),
        open_by_producer=dict(sorted(Counter(i.producer_id or "" for i in open_items).items())),
        groups=_groups(open_items),
        open=open_items,
        resolved=resolved,
        dead_actions=_dead_actions(session, shop_id, producer_of),
        silent_failures=sorted((i for i in items if i.silent_failure), key=_drift_sort_key),
    )


def drift_timeline(session: Session, settings: Settings, *, now: datetime, days: int = 14) -> list[DriftPoint]:
    """Per local day over the last `days` days: drift opened, resolved, and open at the end of the day."""
    tz = ZoneInfo(settings.scheduler.timezone)
    today = now.astimezone(tz).date()
    first_day = today - timedelta(days=days - 1)
    start = datetime.combine(first_day, datetime.min.time(), tz).astimezone(UTC)
    rows = session.exec(
        select(DriftRow.first_seen, DriftRow.resolved_at).where(
            or_(col(DriftRow.resolved_at).is_(None), col(DriftRow.resolved_at) >= db_time(start))
        )
    ).all()
    spans = [(aware(first), aware(resolved)) for first, resolved in rows]
    points = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        begin = datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)
        end = begin + timedelta(days=1)
        points.append(
            DriftPoint(
                day=day,
                opened=sum(1 for f, _ in spans if begin <= f < end),
                resolved=sum(1 for _, r in spans if r is not None and begin <= r < end),
                open_at_end=sum(1 for f, r in spans if f < end and (r is None or r >= end)),
            )
        )
    return points
