"""Reports as queries over the store and the catalog: drift, run history, shops, producer listing status.

Every function here reads; none writes. They take an open session, the settings and the time
"now" so they are deterministic in tests. A producer report is scoped by the producer id it is
given — callers pass the authenticated producer's id, never one read from a URL unchecked.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from connector.clock import aware
from connector.reports.i18n import Lang, Translator
from connector.reports.invalid import invalid_text, open_invalid
from connector.settings import Settings
from connector.store.models import ActionRow, BindingRow, DriftRow, ProducerRow, ProductRow, ShopRow, SyncRunRow
from schemas.catalog import CertificateState, Producer, Product
from schemas.report import (
    CertificateWarning,
    DeadAction,
    DriftGroup,
    DriftItem,
    DriftPoint,
    DriftReport,
    ListingLine,
    ListingState,
    ProducerInfo,
    ProducerReport,
    ProductSummary,
    RunRecord,
    RunsReport,
    ShopProblem,
    ShopProblemKind,
    ShopsReport,
    ShopStatus,
)

TOKEN_WARNING_DAYS = 7
DEFAULT_DRIFT_PERIOD = timedelta(days=7)
ACTIVE_ACTION_STATES = ("pending", "in_flight", "failed")
_SECRET_PATTERN = re.compile(
    r"(?i)\b(access_token|refresh_token|app_secret|client_secret|secret|password|sign|token|authorization)"
    r"(\s*[=:]\s*|\"\s*:\s*\")(bearer\s+)?([^\s&\",;)]+)"
)


class UnknownProducerError(LookupError):
    """The catalog has no producer with this id."""


def redact(text: str) -> str:
    """`text` with anything that looks like a credential value replaced by `***`."""
    return _SECRET_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def db_time(moment: datetime) -> datetime:
    """`moment` in UTC, as the store's DateTime columns hold it, for comparisons in queries."""
    return moment.astimezone(UTC)


def local_today(now: datetime, settings: Settings) -> date:
    """The calendar date of `now` in the programme's time zone (certificates expire on local dates)."""
    return now.astimezone(ZoneInfo(settings.scheduler.timezone)).date()


@dataclass(frozen=True)
class ShopView:
    """A shop as reports see it: identity from settings (or the store), health from the store."""

    id: str
    marketplace: str
    seller_id: str
    producer_id: str | None
    enabled: bool
    last_success_at: datetime | None = None
    last_error: str = ""
    token_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None

    @property
    def shared(self) -> bool:
        """True for a provincial pavilion that sells every producer's products."""
        return self.producer_id is None


def shop_views(session: Session, settings: Settings) -> list[ShopView]:
    """Every shop known to settings or the store, sorted by id; settings decide identity and ownership."""
    rows = {row.id: row for row in session.exec(select(ShopRow))}
    views: dict[str, ShopView] = {}
    for s in settings.shops:
        row = rows.get(s.id)
        views[s.id] = ShopView(
            id=s.id,
            marketplace=s.marketplace,
            seller_id=s.seller_id,
            producer_id=s.producer_id,
            enabled=s.enabled,
            last_success_at=aware(row.last_success_at) if row else None,
            last_error=redact(row.last_error) if row else "",
            token_expires_at=aware(row.token_expires_at) if row else None,
            refresh_expires_at=aware(row.refresh_expires_at) if row else None,
        )
    for row in rows.values():
        if row.id not in views:
            views[row.id] = ShopView(
                id=row.id,
                marketplace=row.marketplace,
                seller_id=row.seller_id,
                producer_id=row.producer_id,
                enabled=row.enabled,
                last_success_at=aware(row.last_success_at),
                last_error=redact(row.last_error),
                token_expires_at=aware(row.token_expires_at),
                refresh_expires_at=aware(row.refresh_expires_at),
            )
    return [views[k] for k in sorted(views)]


# --------------------------------------------------------------------------- drift report


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
        expected=redact(row.expected),
        observed=redact(row.observed),
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
                last_error=redact(row.last_error),
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


# --------------------------------------------------------------------------- runs and shops


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
                error=redact(row.error),
                counters=dict(row.counters),
            )
        )
    return RunsReport(generated_at=now, shop_id=shop_id, runs=runs)


def _count_by_shop(session: Session, model: type[DriftRow] | type[ActionRow], *conditions: object) -> dict[str, int]:
    query = select(model.shop_id, func.count()).group_by(model.shop_id)
    for cond in conditions:
        query = query.where(cond)  # type: ignore[arg-type]
    return {shop: int(n) for shop, n in session.exec(query).all()}


def shops_report(session: Session, settings: Settings, *, now: datetime) -> ShopsReport:
    """Every shop with its last success, last error, token expiry, open drift and outbox counts."""
    drift = _count_by_shop(session, DriftRow, col(DriftRow.resolved_at).is_(None))
    pending = _count_by_shop(session, ActionRow, col(ActionRow.state).in_(ACTIVE_ACTION_STATES))
    dead = _count_by_shop(session, ActionRow, ActionRow.state == "dead")
    last_outcome: dict[str, str] = {}
    for row in session.exec(select(SyncRunRow).order_by(col(SyncRunRow.started_at), col(SyncRunRow.id))):
        last_outcome[row.shop_id] = row.outcome
    shops = [
        ShopStatus(
            id=v.id,
            marketplace=v.marketplace,
            seller_id=v.seller_id,
            producer_id=v.producer_id,
            enabled=v.enabled,
            last_success_at=v.last_success_at,
            last_error=v.last_error,
            token_expires_at=v.token_expires_at,
            refresh_expires_at=v.refresh_expires_at,
            open_drift=drift.get(v.id, 0),
            pending_actions=pending.get(v.id, 0),
            dead_actions=dead.get(v.id, 0),
            last_run_outcome=last_outcome.get(v.id, ""),
        )
        for v in shop_views(session, settings)
    ]
    return ShopsReport(generated_at=now, shops=shops)


# --------------------------------------------------------------------------- producer report


def producer_exists(session: Session, producer_id: str) -> bool:
    """True when the catalog has this producer."""
    return session.get(ProducerRow, producer_id) is not None


def producer_ids(session: Session) -> list[str]:
    """Every producer id in the catalog, sorted."""
    return list(session.exec(select(ProducerRow.id).order_by(col(ProducerRow.id))).all())


def _shop_problems(shops: Sequence[ShopView], now: datetime, t: Translator) -> dict[str, ShopProblem]:
    problems: dict[str, ShopProblem] = {}
    for shop in shops:
        # A person must act when the authorisation (refresh token) lapses; an access token alone is
        # renewed by the service, so it only counts once it is past expiry without being renewed.
        expiry = shop.refresh_expires_at or shop.token_expires_at
        kind: ShopProblemKind | None = None
        detail, since = "", None
        if expiry is not None and expiry <= now:
            kind, since = ShopProblemKind.TOKEN_EXPIRED, expiry
        elif shop.last_error:
            kind, detail = ShopProblemKind.CONNECTION_ERROR, shop.last_error
        elif shop.refresh_expires_at is not None and shop.refresh_expires_at - now <= timedelta(
            days=TOKEN_WARNING_DAYS
        ):
            kind, since = ShopProblemKind.TOKEN_EXPIRING, shop.refresh_expires_at
        elif shop.last_success_at is None:
            kind = ShopProblemKind.NEVER_SYNCED
        if kind is None:
            continue
        text = t(
            f"problem.{kind.value}",
            shop=shop.id,
            marketplace=shop.marketplace,
            detail=detail,
            date=expiry.date().isoformat() if expiry else "",
        )
        problems[shop.id] = ShopProblem(
            shop_id=shop.id, marketplace=shop.marketplace, kind=kind, detail=detail, since=since, text=text
        )
    return problems


@dataclass(frozen=True)
class _Facts:
    """Everything known about one product on one shop."""

    product: Product
    shop: ShopView
    binding: BindingRow | None
    drift_kinds: tuple[str, ...]
    dead_error: str | None
    shop_problem: ShopProblem | None
    today: date
    tz: str
    invalid: str = ""  # an open pre-flight failure ("missing: brand; wrong: title")


_AUTO_STEPS = ("auto_update", "will_create", "will_reactivate")
_BLOCKING_PROBLEMS = (ShopProblemKind.TOKEN_EXPIRED, ShopProblemKind.CONNECTION_ERROR)


def _classify(f: _Facts, t: Translator) -> tuple[ListingState, datetime | None, str, str, str, str]:
    """(state, since, reason, field, inactive_reason_code, reason_text) for one product on one shop."""
    p, b = f.product, f.binding
    if not p.shippable:
        return ListingState.NOT_LISTED, None, "", "", "not_shippable", t("inactive.not_shippable")
    if f.today > p.certificate.expires:
        text = t("inactive.cert_expired", date=p.certificate.expires.isoformat())
        return ListingState.CERT_EXPIRED, None, "", "", "cert_expired", text
    if b is not None and b.qc_status == "rejected":
        reason, field = redact(b.qc_reason), b.qc_field
        text = t("reason.rejected_field", field=field, reason=reason) if field else t("reason.rejected", reason=reason)
        return ListingState.REJECTED, aware(b.qc_since), reason, field, "", text
    if b is not None and b.qc_status == "pending":
        since = aware(b.qc_since)
        local = since.astimezone(ZoneInfo(f.tz)).strftime("%Y-%m-%d %H:%M") if since else ""
        text = t("reason.pending_since", since=local) if since else ""
        return ListingState.PENDING_REVIEW, since, "", "", "", text
    if b is not None and b.status == "active":
        return ListingState.LIVE, None, "", "", "", ""
    if not p.active:
        return ListingState.INACTIVE, None, "", "", "catalog_inactive", t("inactive.catalog_inactive")
    if b is not None and b.status == "inactive":
        return ListingState.INACTIVE, None, "", "", "marketplace", t("inactive.marketplace")
    return ListingState.MISSING, None, "", "", "", ""


def _next_step(state: ListingState, f: _Facts) -> str:
    if state is ListingState.NOT_LISTED:
        return "not_listed"
    if state is ListingState.CERT_EXPIRED:
        return "renew_cert"
    if state is ListingState.REJECTED:
        return "fix_rejected" if f.binding is not None and f.binding.qc_field else "fix_rejected_nofield"
    if state is ListingState.PENDING_REVIEW:
        return "wait_review"
    if f.dead_error is not None:
        return "contact_operator"
    if state is ListingState.INACTIVE:
        step = "reactivate_in_catalog" if not f.product.active else "will_reactivate"
    elif state is ListingState.MISSING:
        step = "will_create"
    else:
        fixable = {"price", "stock", "content", "status"}
        step = "auto_update" if fixable & set(f.drift_kinds) else "none"
    if step in _AUTO_STEPS and f.shop_problem is not None and f.shop_problem.kind in _BLOCKING_PROBLEMS:
        return "reconnect_shop"
    return step


def _listing_line(f: _Facts, t: Translator) -> ListingLine:
    state, since, reason, field, inactive_code, reason_text = _classify(f, t)
    step = _next_step(state, f)
    if f.invalid and state in (ListingState.MISSING, ListingState.LIVE, ListingState.INACTIVE):
        reason_text, step = invalid_text(f.invalid, t), "fix_invalid"
    if f.dead_error is not None and state not in (ListingState.REJECTED, ListingState.CERT_EXPIRED):
        reason = reason or f.dead_error
        reason_text = t("reason.dead_action", error=f.dead_error)
    b = f.binding
    return ListingLine(
        sku=f.product.sku,
        product_name=f.product.name,
        shop_id=f.shop.id,
        marketplace=f.shop.marketplace,
        shared_shop=f.shop.shared,
        state=state,
        state_text=t(f"state.{state.value}"),
        since=since,
        reason=reason,
        field=field,
        inactive_reason_code=inactive_code,
        reason_text=reason_text,
        catalog_price_vnd=f.product.price_vnd,
        sent_price_vnd=b.pushed_price if b else None,
        observed_price_vnd=b.observed_price if b else None,
        catalog_stock=f.product.stock,
        sent_stock=b.pushed_stock if b else None,
        observed_stock=b.observed_stock if b else None,
        open_drift=sorted(f.drift_kinds),
        last_checked_at=aware(b.last_observed_at) if b else None,
        last_success_at=f.shop.last_success_at,
        next_step_code=step,
        next_step=t(f"next.{step}", field=field),
    )


def _certificate_warnings(products: Sequence[Product], today: date, warn_days: int) -> list[CertificateWarning]:
    warnings = []
    for p in products:
        state = p.certificate.state(today, warn_days)
        if state is CertificateState.VALID:
            continue
        warnings.append(
            CertificateWarning(
                sku=p.sku,
                product_name=p.name,
                decision_no=p.certificate.decision_no,
                valid_until=p.certificate.expires,
                days_left=(p.certificate.expires - today).days,
                expired=state is CertificateState.EXPIRED,
            )
        )
    return sorted(warnings, key=lambda w: (w.valid_until, w.sku))


def producer_report(
    session: Session, settings: Settings, producer_id: str, *, now: datetime, lang: Lang = "vi"
) -> ProducerReport:
    """The listing status of `producer_id`'s products (and only theirs) on their own and shared shops.

    Raises `UnknownProducerError` when the catalog has no such producer.
    """
    row = session.get(ProducerRow, producer_id)
    if row is None:
        raise UnknownProducerError(producer_id)
    producer = Producer.model_validate(row.data)
    t = Translator(lang)
    today = local_today(now, settings)
    warn_days = settings.sync.cert_warning_days
    products = [
        Product.model_validate(r.data)
        for r in session.exec(
            select(ProductRow).where(ProductRow.producer_id == producer_id).order_by(col(ProductRow.sku))
        )
    ]
    shops = [v for v in shop_views(session, settings) if v.enabled and v.producer_id in (None, producer_id)]
    problems = _shop_problems(shops, now, t)
    skus = [p.sku for p in products]
    shop_ids = [s.id for s in shops]
    bindings, drifts, dead = _pair_facts(session, skus, shop_ids)
    invalid = open_invalid(session, skus, shop_ids)
    lines = []
    for product in products:
        for shop in shops:
            key = (shop.id, product.sku)
            facts = _Facts(
                product=product,
                shop=shop,
                binding=bindings.get(key),
                drift_kinds=tuple(sorted(set(drifts.get(key, ())))),
                dead_error=dead.get(key),
                shop_problem=problems.get(shop.id),
                today=today,
                tz=settings.scheduler.timezone,
                invalid=invalid.get(key, ""),
            )
            lines.append(_listing_line(facts, t))
    summary = Counter(line.state.value for line in lines)
    return ProducerReport(
        generated_at=now,
        lang=lang,
        producer=ProducerInfo(
            id=producer.id, name=producer.name, type=producer.type.value, province=producer.address_current.province
        ),
        cert_warning_days=warn_days,
        summary={state.value: summary.get(state.value, 0) for state in ListingState},
        products=[
            ProductSummary(
                sku=p.sku,
                name=p.name,
                stars=p.stars,
                product_set=p.product_set,
                active=p.active,
                price_vnd=p.price_vnd,
                stock=p.stock,
                certificate_no=p.certificate.decision_no,
                certificate_valid_until=p.certificate.expires,
                certificate_state=p.certificate.state(today, warn_days).value,
            )
            for p in products
        ],
        shops=shop_ids,
        listings=lines,
        certificates=_certificate_warnings(products, today, warn_days),
        shop_problems=[problems[s] for s in shop_ids if s in problems],
    )


def _pair_facts(
    session: Session, skus: Sequence[str], shop_ids: Sequence[str]
) -> tuple[dict[tuple[str, str], BindingRow], dict[tuple[str, str], list[str]], dict[tuple[str, str], str]]:
    """Bindings, open drift kinds and the latest dead-action error per (shop, sku), for these SKUs and shops only."""
    if not skus or not shop_ids:
        return {}, {}, {}
    bindings = {
        (b.shop_id, b.sku): b
        for b in session.exec(
            select(BindingRow).where(col(BindingRow.sku).in_(skus), col(BindingRow.shop_id).in_(shop_ids))
        )
    }
    drifts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for d in session.exec(
        select(DriftRow).where(
            col(DriftRow.resolved_at).is_(None), col(DriftRow.sku).in_(skus), col(DriftRow.shop_id).in_(shop_ids)
        )
    ):
        drifts[(d.shop_id, d.sku)].append(d.kind)
    dead: dict[tuple[str, str], str] = {}
    for a in session.exec(
        select(ActionRow)
        .where(ActionRow.state == "dead", col(ActionRow.sku).in_(skus), col(ActionRow.shop_id).in_(shop_ids))
        .order_by(col(ActionRow.updated_at))
    ):
        dead[(a.shop_id, a.sku)] = redact(a.last_error) or a.kind
    return bindings, dict(drifts), dead
