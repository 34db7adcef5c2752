"""Report contents over a hand-built store: what producers and operators are told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from report_world import (
    A_EXPIRED,
    A_SKUS,
    B_SECRET_REASON,
    B_SKUS,
    LEAKED_SECRET,
    NOW,
    REJECT_REASON,
    SHARED_SHOPS,
    A,
    B,
)
from sqlalchemy.engine import Engine

from connector.redact import redact_secrets
from connector.reports import queries as reports
from connector.settings import Settings
from connector.store import session_scope
from schemas.report import ListingState, ShopProblemKind


def _producer(engine: Engine, settings: Settings, producer_id: str, lang: str = "vi"):  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return reports.producer_report(s, settings, producer_id, now=NOW, lang=lang)  # type: ignore[arg-type]


def test_producer_report_lists_each_own_product_on_each_shared_shop(world_engine: Engine, settings: Settings) -> None:
    report = _producer(world_engine, settings, A)
    assert report.shops == list(SHARED_SHOPS)
    assert {(line.sku, line.shop_id) for line in report.listings} == {(s, h) for s in A_SKUS for h in SHARED_SHOPS}
    assert [p.sku for p in report.products] == list(A_SKUS)
    assert all(line.shared_shop for line in report.listings)


def test_producer_report_states_reasons_and_next_steps(world_engine: Engine, settings: Settings) -> None:
    report = _producer(world_engine, settings, A)
    line = {(x.sku, x.shop_id): x for x in report.listings}

    rejected = line[("AG-0030", "lazada-ag")]
    assert rejected.state is ListingState.REJECTED
    assert (rejected.reason, rejected.field) == (REJECT_REASON, "images")
    assert rejected.since == NOW - timedelta(days=2)
    assert rejected.next_step_code == "fix_rejected" and "«Hình ảnh sản phẩm»" in rejected.next_step
    assert REJECT_REASON in rejected.reason_text

    pending = line[("AG-0030", "tiki-ag")]
    assert pending.state is ListingState.PENDING_REVIEW and pending.since == NOW - timedelta(hours=5)
    assert pending.next_step_code == "wait_review"

    live = line[("AG-0030", "voso-ag")]
    assert live.state is ListingState.LIVE and live.open_drift == ["price"]
    assert (live.catalog_price_vnd, live.sent_price_vnd, live.observed_price_vnd) == (
        live.catalog_price_vnd,
        120_000,
        99_000,
    )
    assert live.next_step_code == "auto_update"
    assert live.last_success_at == NOW - timedelta(minutes=10)

    for shop in SHARED_SHOPS:
        expired = line[(A_EXPIRED, shop)]
        assert expired.state is ListingState.CERT_EXPIRED and expired.next_step_code == "renew_cert"

    dead = line[("AG-0032", "voso-ag")]
    assert dead.state is ListingState.MISSING and dead.next_step_code == "contact_operator"
    assert "category 1234" in dead.reason_text
    hidden = line[("AG-0032", "tiki-ag")]
    assert hidden.state is ListingState.INACTIVE and hidden.inactive_reason_code == "marketplace"
    assert hidden.next_step_code == "will_reactivate"
    assert line[("AG-0032", "lazada-ag")].next_step_code == "none"
    assert report.summary == {
        "live": 2,
        "pending_review": 1,
        "rejected": 1,
        "inactive": 1,
        "missing": 1,
        "cert_expired": 3,
        "not_listed": 0,
    }


def test_producer_report_certificates_and_shop_problems(world_engine: Engine, settings: Settings) -> None:
    report = _producer(world_engine, settings, A)
    assert [(c.sku, c.expired) for c in report.certificates] == [(A_EXPIRED, True)]
    assert report.certificates[0].days_left < 0
    problems = {p.shop_id: p for p in report.shop_problems}
    assert problems["lazada-ag"].kind is ShopProblemKind.TOKEN_EXPIRED
    assert problems["tiki-ag"].kind is ShopProblemKind.TOKEN_EXPIRING
    assert "voso-ag" not in problems


def test_expiring_certificate_is_warned_within_the_window(world_engine: Engine, settings: Settings) -> None:
    report = _producer(world_engine, settings, "AG-DN-02")  # owns AG-0015, expiring within 60 days
    warning = {c.sku: c for c in report.certificates}["AG-0015"]
    assert not warning.expired and 0 <= warning.days_left <= settings.sync.cert_warning_days
    line = {(x.sku, x.shop_id): x for x in report.listings}[("AG-0015", "voso-ag")]
    assert line.state is ListingState.MISSING and line.next_step_code == "will_create"


def test_producer_never_sees_another_producers_data(world_engine: Engine, settings: Settings) -> None:
    a = _producer(world_engine, settings, A)
    text = a.model_dump_json()
    assert "lazada-b" not in text and B_SECRET_REASON not in text
    assert not any(sku in text for sku in B_SKUS)

    b = _producer(world_engine, settings, B)
    assert b.shops == ["lazada-ag", "lazada-b", "tiki-ag", "voso-ag"]
    assert {line.sku for line in b.listings} == set(B_SKUS)
    own = {(x.sku, x.shop_id): x for x in b.listings}[("AG-0052", "lazada-b")]
    assert own.state is ListingState.REJECTED and own.reason == B_SECRET_REASON and not own.shared_shop
    assert not any(sku in b.model_dump_json() for sku in A_SKUS)


def test_reports_never_carry_secrets(world_engine: Engine, settings: Settings) -> None:
    with session_scope(world_engine) as s:
        dumps = [
            reports.producer_report(s, settings, A, now=NOW).model_dump_json(),
            reports.drift_report(s, settings, now=NOW).model_dump_json(),
            reports.run_history(s, now=NOW).model_dump_json(),
            reports.shops_report(s, settings, now=NOW).model_dump_json(),
        ]
    assert all(LEAKED_SECRET not in d for d in dumps)
    assert "access_token=***" in dumps[3]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refresh failed access_token=abc123&x=1", "refresh failed access_token=***&x=1"),
        ('{"app_secret": "s3cr3t"}', '{"app_secret": "***"}'),
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: ***"),
        ("400 category not allowed", "400 category not allowed"),
        (
            "GET /products/get?app_key=123&sign=ABCD&sign_method=sha256",
            "GET /products/get?app_key=***&sign=***&sign_method=sha256",
        ),
        ("client_id: 42, token=t0k", "client_id: ***, token=***"),
        ("postgresql://ocop:hunter2@db/ocop failed", "postgresql://ocop:***@db/ocop failed"),
        ("header Basic dXNlcjpwYXNz sent", "header Basic *** sent"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


def test_unknown_producer_is_an_error(world_engine: Engine, settings: Settings) -> None:
    with session_scope(world_engine) as s, pytest.raises(reports.UnknownProducerError):
        reports.producer_report(s, settings, "NOPE", now=NOW)


def test_drift_report_groups_ages_and_sections(world_engine: Engine, settings: Settings) -> None:
    with session_scope(world_engine) as s:
        report = reports.drift_report(s, settings, now=NOW)
    assert report.open_count == 9 == len(report.open)
    assert report.open_by_kind["qc_rejected"] == 2
    assert report.open_by_shop == {"lazada-ag": 2, "lazada-b": 1, "tiki-ag": 3, "voso-ag": 3}
    assert report.open_by_producer == {"": 1, A: 6, B: 2}
    group = next(g for g in report.groups if (g.kind, g.shop_id) == ("qc_rejected", "lazada-ag"))
    assert (group.producer_id, group.count) == (A, 1)
    orphan = next(d for d in report.open if d.kind == "orphan")
    assert orphan.producer_id is None and orphan.age_s == 6 * 86_400 and orphan.marketplace == "lazada"
    missing = next(d for d in report.open if d.kind == "missing")
    assert (missing.expected, missing.first_seen) == ("listed", NOW - timedelta(days=4))
    assert [d.sku for d in report.resolved] == ["AG-0052", "AG-0010"]  # the 30-day-old one is outside 7 days
    assert report.resolved[0].age_s == 86_400
    assert [(a.sku, a.kind, a.attempts) for a in report.dead_actions] == [("AG-0032", "create", 6)]
    assert "sign=***" in report.dead_actions[0].last_error
    assert [(d.sku, d.kind) for d in report.silent_failures] == [("AG-0053", "stock")]


def test_drift_report_filters_by_shop_and_period(world_engine: Engine, settings: Settings) -> None:
    with session_scope(world_engine) as s:
        report = reports.drift_report(s, settings, now=NOW, shop_id="tiki-ag", since=NOW - timedelta(days=60))
    assert {d.shop_id for d in report.open + report.resolved} == {"tiki-ag"}
    assert [d.sku for d in report.resolved] == ["AG-0011", "AG-0010"]
    assert report.dead_actions == []


def test_run_history_newest_first_with_durations(world_engine: Engine) -> None:
    with session_scope(world_engine) as s:
        runs = reports.run_history(s, now=NOW).runs
        voso = reports.run_history(s, now=NOW, shop_id="voso-ag", limit=1).runs
    assert [r.shop_id for r in runs] == ["voso-ag", "tiki-ag", "lazada-ag", "voso-ag"]
    assert runs[0].duration_s == 42.0 and runs[0].counters["writes"] == 5
    assert [(r.shop_id, r.outcome) for r in voso] == [("voso-ag", "converged")]


def test_shops_report_counts(world_engine: Engine, settings: Settings) -> None:
    with session_scope(world_engine) as s:
        shops = {x.id: x for x in reports.shops_report(s, settings, now=NOW).shops}
    assert (shops["voso-ag"].open_drift, shops["voso-ag"].pending_actions, shops["voso-ag"].dead_actions) == (3, 1, 1)
    assert shops["lazada-b"].producer_id == B and shops["lazada-ag"].last_run_outcome == "failed"


def test_drift_timeline_counts_per_local_day(world_engine: Engine, settings: Settings) -> None:
    with session_scope(world_engine) as s:
        points = reports.drift_timeline(s, settings, now=NOW, days=14)
    assert len(points) == 14 and points[-1].day == NOW.date()
    assert points[-1].open_at_end == 9
    assert sum(p.resolved for p in points) == 2
    assert all(p.open_at_end >= 0 for p in points)
