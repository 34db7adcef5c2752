"""Real `ocop-sync run` processes with the real engine: resync pickup, SIGTERM drain, single SQLite daemon.

Sandboxes run in-process in the daemon where state need not outlive it, and on uvicorn in the
test process where a restart must find the same marketplace (no duplicate creates).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from daemon_kit import (
    SHOPS,
    DaemonProcess,
    ServedSandboxes,
    cli,
    runs_of,
    seed_catalog,
    serve_sandboxes,
    shop_env,
    start_daemon,
    stop,
    wait_sync,
    write_settings,
)
from sqlmodel import Session

from connector.clock import aware
from connector.store import make_engine
from connector.store.models import ResyncRequestRow
from connector.testing.world import desired_now


@pytest.fixture
def procs() -> Iterator[list[DaemonProcess]]:
    """Daemon processes started by a test; every one is killed in teardown."""
    started: list[DaemonProcess] = []
    yield started
    for proc in started:
        proc.kill()


@pytest.fixture
def served() -> Iterator[ServedSandboxes]:
    """The three sandboxes on uvicorn, shared by every daemon of a test."""
    sandboxes = serve_sandboxes()
    yield sandboxes
    sandboxes.stop()


def test_daemon_picks_up_a_cli_resync_and_refuses_a_second_daemon(
    sqlite_url: str, tmp_path: Path, procs: list[DaemonProcess]
) -> None:
    seed_catalog(sqlite_url, 4)
    settings = write_settings(tmp_path / "settings.toml", url=sqlite_url, data_dir=tmp_path)
    engine = make_engine(sqlite_url)
    daemon = start_daemon(settings, tmp_path, "d1")
    procs.append(daemon)
    port = daemon.port()
    wait_sync(lambda: len([r for r in runs_of(engine) if r.finished_at]) >= 3, 60, "the start-up runs")
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200

    second = start_daemon(settings, tmp_path, "d2")
    procs.append(second)
    assert second.proc.wait(timeout=30) == 3
    assert "another daemon" in second.log()

    result = cli(settings, tmp_path, "resync", "--full", "--shop", "voso-ag")
    assert result.returncode == 0, result.stderr
    assert "picks it up" in result.stdout
    wait_sync(lambda: bool(runs_of(engine, trigger="manual", kind="full")), 10, "the daemon to start the resync")
    wait_sync(lambda: all(r.finished_at for r in runs_of(engine, trigger="manual")), 30, "the resync to finish")
    (manual,) = runs_of(engine, trigger="manual")
    assert manual.shop_id == "voso-ag" and manual.worker == "d1" and manual.request_id is not None
    with Session(engine) as session:
        request = session.get(ResyncRequestRow, manual.request_id)
    assert request is not None
    # the 5 s promise, from the request's row to the run's start (the CLI's own start-up is not the daemon's)
    assert (aware(manual.started_at) - aware(request.requested_at)).total_seconds() < 5

    shown = cli(settings, tmp_path, "runs")
    assert shown.returncode == 0, shown.stderr
    assert f"{manual.id}" in shown.stdout and "manual" in shown.stdout and "full" in shown.stdout
    status = cli(settings, tmp_path, "status")
    assert status.returncode == 0 and "d1" in status.stdout  # the scheduler leader
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for marketplace in ("voso", "lazada", "tiki"):
        assert f'marketplace="{marketplace}"' in metrics

    code, took = stop(daemon, 30)
    assert code == 0 and took < 5 + 5
    assert "stopped cleanly" in daemon.log()
    engine.dispose()


def test_sigterm_during_a_large_sync_drains_and_a_restart_converges(
    sqlite_url: str, tmp_path: Path, procs: list[DaemonProcess], served: ServedSandboxes
) -> None:
    skus = seed_catalog(sqlite_url, 60)
    drain_s = 2.0
    settings = write_settings(
        tmp_path / "settings.toml", url=sqlite_url, data_dir=tmp_path, served=served, drain_s=drain_s
    )
    engine = make_engine(sqlite_url)
    first = start_daemon(settings, tmp_path, "first", **shop_env(served))
    procs.append(first)
    first.port()
    wait_sync(lambda: any(r.reads > 0 for r in _progress(served)), 30, "the first sync to be under way")
    code, took = stop(first, drain_s + 10)
    assert code == 0, first.log()[-3000:]
    assert took < drain_s + 5, f"took {took:.1f}s"

    second = start_daemon(settings, tmp_path, "second", **shop_env(served))
    procs.append(second)
    second.port()

    interrupted = {r.shop_id for r in runs_of(engine, worker="first") if r.outcome == "interrupted"}
    assert interrupted, "the drain budget was meant to interrupt a run"

    def converged_after_restart() -> bool:
        # partial is still accepted: after the restart Tiki's resumed run ends 'partial' and no later run
        # follows within the wait (docs/testing.md, open question); convergence is proven below by the
        # exact create check instead of the outcome
        done = [r for r in runs_of(engine) if r.outcome in ("converged", "partial")]
        resumed = {r.shop_id for r in done if r.worker == "second"}
        return {r.shop_id for r in done} == {"voso-ag", "lazada-ag", "tiki-ag"} and interrupted <= resumed

    try:
        wait_sync(converged_after_restart, 120, "every shop to sync after the restart")
    except AssertionError as exc:
        seen = [(r.shop_id, r.worker, r.outcome) for r in runs_of(engine)]
        raise AssertionError(f"{exc}; runs (shop, worker, outcome): {seen}") from None
    for shop in SHOPS:
        creates = served.creates(shop.marketplace)
        assert creates["duplicates"] == 0, creates
        # every listable SKU created, each once (a subset check passed with zero creates)
        listable = {d.seller_sku for d in desired_now(engine, shop) if d.active}
        assert listable and listable <= set(skus)
        created = [c["seller_sku"] for c in creates["creates"]]
        assert sorted(created) == sorted(listable), shop.marketplace
    assert stop(second, 30)[0] == 0
    engine.dispose()


class _Progress:
    def __init__(self, reads: int) -> None:
        self.reads = reads


def _progress(served: ServedSandboxes) -> list[_Progress]:
    """How many creates each sandbox has seen so far (the sync is under way once any has)."""
    return [_Progress(len(served.creates(m)["creates"])) for m in served.urls]


def test_a_second_signal_exits_at_once(sqlite_url: str, tmp_path: Path, procs: list[DaemonProcess]) -> None:
    seed_catalog(sqlite_url, 60)
    settings = write_settings(tmp_path / "settings.toml", url=sqlite_url, data_dir=tmp_path, drain_s=60)
    engine = make_engine(sqlite_url)
    daemon = start_daemon(settings, tmp_path, "d1")
    procs.append(daemon)
    daemon.port()
    wait_sync(lambda: any(r.outcome == "running" for r in runs_of(engine)), 30, "a sync to be running")
    daemon.signal(signal.SIGTERM)
    wait_sync(lambda: "draining" in daemon.log(), 10, "the drain to begin")
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=10) == 128 + signal.SIGTERM  # not the 60 s drain
    assert time.monotonic() - started < 5
    engine.dispose()
