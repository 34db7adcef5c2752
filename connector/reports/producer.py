"""The producer report: the listing status of one producer's products on their own and shared shops.

A producer report is scoped by the producer id it is given — callers pass the authenticated
producer's id, never one read from a URL unchecked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from connector.clock import aware
from connector.redact import redact_secrets
from connector.reports.common import TOKEN_WARNING_DAYS, UnknownProducerError, local_today
from connector.reports.health import ShopView, shop_views
from connector.reports.i18n import Lang, Translator
from connector.reports.invalid import invalid_text, open_invalid
from connector.settings import Settings
from connector.store.models import ActionRow, BindingRow, DriftRow, ProducerRow, ProductRow
from schemas.catalog import CertificateState, Producer, Product
from schemas.report import (
    CertificateWarning,
    ListingLine,
    ListingState,
    ProducerInfo,
    ProducerReport,
    ProductSummary,
    ShopProblem,
    ShopProblemKind,
)


def producer_exists(session: Session, producer_id: str) -> bool:
    """True when the catalog has this producer."""
    return session.get(ProducerRow, producer_id) is not None


def producer_ids(session: Session) -> list[str]:
    """Every producer id in the catalog, sorted."""
    return list(session.exec(select(ProducerRow.id).order_by(col(ProducerRow.id))).all())


def _shop_problems(shops: Sequence[ShopView], now: datetime, t: Translator, tz: str) -> dict[str, ShopProblem]:
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
            date=expiry.astimezone(ZoneInfo(tz)).date().isoformat() if expiry else "",  # the local day, as elsewhere
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
        reason, field = redact_secrets(b.qc_reason), b.qc_field
        text = (
            t("reason.rejected_field", field=t.field(field), reason=reason)
            if field
            else t("reason.rejected", reason=reason)
        )
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
        next_step=t(f"next.{step}", field=t.field(field)),
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
    problems = _shop_problems(shops, now, t, settings.scheduler.timezone)
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
        dead[(a.shop_id, a.sku)] = redact_secrets(a.last_error) or a.kind
    return bindings, dict(drifts), dead
