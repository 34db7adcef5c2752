"""The same reports on SQLite and PostgreSQL: identical contents (time zones, JSON columns, grouping)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from report_world import NOW, A, build_world, world_settings
from sqlalchemy.engine import Engine

from connector.reports import queries as reports
from connector.store import make_engine, session_scope, upgrade


@pytest.fixture
def engine(any_db_url: str) -> Iterator[Engine]:
    engine = make_engine(any_db_url)
    upgrade(engine)
    build_world(engine)
    yield engine
    engine.dispose()


def test_reports_match_across_databases(engine: Engine, any_db_url: str) -> None:
    settings = world_settings(any_db_url)
    with session_scope(engine) as s:
        producer = reports.producer_report(s, settings, A, now=NOW)
        drift = reports.drift_report(s, settings, now=NOW)
        runs = reports.run_history(s, now=NOW)
        shops = reports.shops_report(s, settings, now=NOW)
        timeline = reports.drift_timeline(s, settings, now=NOW)
    assert producer.summary["rejected"] == 1 and producer.summary["cert_expired"] == 3
    assert drift.open_count == 9 and [d.sku for d in drift.resolved] == ["AG-0052", "AG-0010"]
    assert all(d.first_seen.tzinfo is not None for d in drift.open)
    assert [r.shop_id for r in runs.runs] == ["voso-ag", "tiki-ag", "lazada-ag", "voso-ag"]
    assert {x.id: x.open_drift for x in shops.shops} == {"lazada-ag": 2, "lazada-b": 1, "tiki-ag": 3, "voso-ag": 3}
    assert timeline[-1].open_at_end == 9
