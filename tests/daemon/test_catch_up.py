"""After a restart the daemon catches up at once: one incremental run per shop not synced within an interval.

A real `Daemon` object with the real store, the real sync engine and a marketplace sandbox served
over HTTP on loopback (it outlives the daemon, as a marketplace does). The incremental interval is
an hour, so no scheduled tick fires during the test: every run after the restart is the catch-up.
"Three intervals later" is told to the restarted daemon through its clock (`AppContext.clock`),
the one clock the daemon reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from daemon_kit import (
    SHOPS,
    ServedSandboxes,
    runs_of,
    seed_catalog,
    serve_sandboxes,
    shop_env,
    short_settings,
    wait_until,
)

from connector.clock import utcnow
from connector.context import AppContext
from connector.reports.health import SUCCESS_OUTCOMES, HealthState
from connector.reports.status import read_status
from connector.service.daemon import Daemon, DaemonOptions

INTERVAL_S = 3600.0
pytestmark = pytest.mark.slow


SHOP = SHOPS[2]


@pytest.fixture
def marketplace(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedSandboxes]:
    served = serve_sandboxes((SHOP,))
    for name, value in shop_env(served, (SHOP,)).items():
        monkeypatch.setenv(name, value)
    yield served
    served.stop()


def _daemon(url: str, tmp: Path, served: ServedSandboxes, offset: timedelta) -> tuple[Daemon, AppContext]:
    shop = SHOP.model_copy(update={"base_url": served.urls[SHOP.marketplace]})
    settings = short_settings(url, tmp, interval_s=INTERVAL_S).model_copy(update={"shops": (shop,)})
    ctx = AppContext.build(settings)
    ctx.clock = lambda: utcnow() + offset
    return Daemon(ctx, options=DaemonOptions(claim_poll_s=0.1, serve_http=False)), ctx


def _finished(ctx: AppContext) -> list[str]:
    return [r.outcome for r in runs_of(ctx) if r.finished_at is not None]


async def test_a_restart_after_missed_intervals_runs_one_catch_up_per_shop(
    sqlite_url: str, tmp_path: Path, marketplace: ServedSandboxes
) -> None:
    seed_catalog(sqlite_url, 3)
    first, ctx = _daemon(sqlite_url, tmp_path, marketplace, timedelta(0))
    serving = asyncio.create_task(first.serve())
    try:
        await wait_until(lambda: len(_finished(ctx)) == 1, 60, "the first start's catch-up run")
    finally:
        first.stop()
        assert await asyncio.wait_for(serving, 30) == 0
    assert _finished(ctx)[0] in SUCCESS_OUTCOMES
    ctx.engine.dispose()

    later = timedelta(seconds=3 * INTERVAL_S + 60)  # three scheduled ticks missed while the daemon was down
    second, ctx2 = _daemon(sqlite_url, tmp_path, marketplace, later)
    before: datetime = ctx2.clock()
    assert read_status(ctx2.engine, ctx2.settings, before).shops[0].state is HealthState.STALLED
    serving = asyncio.create_task(second.serve())
    try:
        await wait_until(lambda: len(_finished(ctx2)) == 2, 60, "the catch-up run after the restart")
    finally:
        second.stop()
        assert await asyncio.wait_for(serving, 30) == 0
    runs = runs_of(ctx2)
    assert [(r.shop_id, r.kind, r.trigger) for r in runs] == [("tiki-ag", "incremental", "schedule")] * 2
    assert {r.outcome for r in runs} <= set(SUCCESS_OUTCOMES), [(r.outcome, r.error) for r in runs]
    assert runs[1].started_at.replace(tzinfo=before.tzinfo) >= before  # run by the restarted daemon
    status = read_status(ctx2.engine, ctx2.settings, ctx2.clock()).shops[0]
    assert status.state is not HealthState.STALLED
    assert status.last_success_at is not None and status.last_success_at >= before
    ctx2.engine.dispose()


async def test_a_restart_after_fixing_credentials_catches_up_within_the_same_interval(
    sqlite_url: str, tmp_path: Path, marketplace: ServedSandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's fix for `needs reconnect`: set the shop's credentials again and restart the daemon."""
    seed_catalog(sqlite_url, 3)
    secret = SHOP.credential_env("client_secret")
    right = shop_env(marketplace, (SHOP,))[secret]
    monkeypatch.setenv(secret, "wrong-secret")
    first, ctx = _daemon(sqlite_url, tmp_path, marketplace, timedelta(0))
    serving = asyncio.create_task(first.serve())
    try:
        await wait_until(lambda: len(_finished(ctx)) == 1, 60, "the first start's catch-up run")
    finally:
        first.stop()
        assert await asyncio.wait_for(serving, 30) == 0
    assert _finished(ctx) == ["failed"] and runs_of(ctx)[0].error.startswith("AuthFailed")
    status = read_status(ctx.engine, ctx.settings, ctx.clock()).shops[0]
    assert status.state is HealthState.NEEDS_RECONNECT
    ctx.engine.dispose()

    monkeypatch.setenv(secret, right)  # reconnected; restart at once, well within the same interval
    second, ctx2 = _daemon(sqlite_url, tmp_path, marketplace, timedelta(0))
    serving = asyncio.create_task(second.serve())
    try:
        await wait_until(lambda: len(_finished(ctx2)) == 2, 60, "the catch-up run after the restart")
    finally:
        second.stop()
        assert await asyncio.wait_for(serving, 30) == 0
    assert _finished(ctx2)[0] == "failed" and _finished(ctx2)[1] in SUCCESS_OUTCOMES
    assert read_status(ctx2.engine, ctx2.settings, ctx2.clock()).shops[0].state is not HealthState.NEEDS_RECONNECT
    ctx2.engine.dispose()
