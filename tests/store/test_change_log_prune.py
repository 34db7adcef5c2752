"""The catalog change log is pruned safely: a row goes only when every shop that keeps a position has
read past it and it is older than the retention, so no shop ever misses a change it has not synced.

Real store on SQLite and PostgreSQL; the sweeper job itself prunes (`LeaderJobs.sweep`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from connector.context import AppContext
from connector.service.housekeeping import change_log_floor, prune_changes
from connector.service.jobs import CHANGE_RETENTION, LeaderJobs
from connector.service.runtime import Runtime
from connector.store import make_engine, session_scope, upgrade
from connector.store.changes import changes_after
from connector.store.models import CatalogChangeRow, ShopRow
from tests.daemon.daemon_kit import short_settings

OLD = datetime(2026, 1, 1, tzinfo=UTC)
LATER = OLD + timedelta(days=30)


@pytest.fixture
def engine(any_db_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh SQLite file or PostgreSQL schema."""
    engine = make_engine(any_db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _log(engine: Engine, count: int, at: datetime) -> list[int]:
    """Append `count` changes stamped `at`; their ids."""
    with session_scope(engine) as session:
        rows = [CatalogChangeRow(sku=f"SKU-{i:04d}", changed_at=at) for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [int(r.id or 0) for r in rows]


def _shops(engine: Engine, positions: dict[str, int | None]) -> None:
    with session_scope(engine) as session:
        for shop_id, position in positions.items():
            row = session.get(ShopRow, shop_id) or ShopRow(id=shop_id, marketplace="voso", seller_id=shop_id)
            row.catalog_position = position
            session.add(row)


def _unread(engine: Engine, positions: dict[str, int | None]) -> dict[str, list[tuple[int, str]]]:
    with Session(engine) as session:
        return {s: changes_after(session, p) for s, p in positions.items() if p is not None}


def test_only_rows_every_shop_has_read_and_older_than_the_retention_are_pruned(engine: Engine) -> None:
    ids = _log(engine, 10, OLD)
    # lazada has read 4 changes, tiki 7; a disabled shop with no position needs no row (it reads every product)
    positions = {"lazada": ids[3], "tiki": ids[6], "voso-new": None}
    _shops(engine, positions)
    unread = _unread(engine, positions)
    assert change_log_floor(engine) == ids[3]

    assert prune_changes(engine, LATER, batch=3) == 4  # ids[0..3], in two batches
    with Session(engine) as session:
        left = [i for i, _ in changes_after(session, 0)]
    assert left == ids[4:]
    assert _unread(engine, positions) == unread  # no shop lost a change it has not read
    assert prune_changes(engine, LATER) == 0


def test_a_row_younger_than_the_retention_stays_even_when_every_shop_read_it(engine: Engine) -> None:
    old = _log(engine, 3, OLD)
    young = _log(engine, 2, LATER)
    _shops(engine, {"lazada": young[-1], "tiki": young[-1]})
    assert prune_changes(engine, LATER - timedelta(days=1)) == 3
    with Session(engine) as session:
        assert [i for i, _ in changes_after(session, 0)] == young
    del old


def test_nothing_is_pruned_while_no_shop_keeps_a_position_or_one_shop_has_read_nothing(engine: Engine) -> None:
    ids = _log(engine, 5, OLD)
    assert prune_changes(engine, LATER) == 0  # no shop row at all
    _shops(engine, {"lazada": None})
    assert prune_changes(engine, LATER) == 0  # a shop that never synced keeps no position
    _shops(engine, {"lazada": ids[-1], "tiki": 0})  # tiki (even if disabled now) has read nothing yet
    assert prune_changes(engine, LATER) == 0
    _shops(engine, {"tiki": ids[1]})
    assert prune_changes(engine, LATER) == 2


def test_the_sweeper_prunes_the_change_log(any_db_url: str, tmp_path: Path) -> None:
    ctx = AppContext.build(short_settings(any_db_url, tmp_path))
    try:
        now = datetime.now(UTC)
        old = _log(ctx.engine, 4, now - CHANGE_RETENTION - timedelta(hours=1))
        young = _log(ctx.engine, 2, now)
        _shops(ctx.engine, {"voso-ag": young[-1], "lazada-ag": old[2], "tiki-ag": young[0]})

        async def sweep() -> None:
            await LeaderJobs(Runtime(ctx), seat=None).sweep()  # type: ignore[arg-type]  # sweep needs no seat

        asyncio.run(sweep())
        with Session(ctx.engine) as session:
            assert [i for i, _ in changes_after(session, 0)] == [old[3], *young]
    finally:
        ctx.engine.dispose()
