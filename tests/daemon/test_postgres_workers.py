"""Three `ocop-sync run` processes on one PostgreSQL database, sharing sandboxes served on loopback.

What is allowed, exactly:
- per shop-lease epoch at most one run per (shop, tick): every `sync_run` row is attributed to
  the claim (`tick_claim`: tick, worker, epoch) it ran under, and no claim has two runs;
- a tick once done is never claimed (so never run) again;
- a SIGKILLed worker's running tick is reclaimed by another worker (observed, with a bounded wait);
- after a clean stop (SIGTERM) no tick is left `running`: not under a stopped worker's claim, not at all;
- a SIGKILLed leader is replaced after its lease expires; a leader frozen past its lease (SIGSTOP)
  cannot schedule when it wakes: its epoch is stale and it steps down.
"""

from __future__ import annotations

import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from daemon_kit import (
    DaemonProcess,
    ServedSandboxes,
    runs_of,
    seed_catalog,
    serve_sandboxes,
    shop_env,
    start_daemon,
    stop,
    utc,
    wait_sync,
    write_settings,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.store import make_engine
from connector.store.leases import LEADER_LEASE, LeaseView, read_leases
from connector.store.models import SyncRunRow, SyncTickRow, TickClaimRow

pytestmark = pytest.mark.postgres
LEASE_S = 5.0  # short, so takeovers are quick; long enough that a loaded machine does not expire live leases
SHOP_IDS = {"voso-ag", "lazada-ag", "tiki-ag"}


@pytest.fixture
def workers() -> Iterator[list[DaemonProcess]]:
    """Daemon processes of the test; every one is SIGCONTed and killed in teardown."""
    started: list[DaemonProcess] = []
    yield started
    for proc in started:
        if proc.proc.poll() is None:
            proc.proc.send_signal(signal.SIGCONT)
        proc.kill()


def _ticks(engine: Engine) -> list[SyncTickRow]:
    with Session(engine) as session:
        return list(session.exec(select(SyncTickRow)).all())


def _leader(engine: Engine) -> LeaseView:
    return read_leases(engine)[LEADER_LEASE]


def test_three_workers_run_each_shop_once_per_tick_and_survive_their_leader(
    pg_url: str, tmp_path: Path, workers: list[DaemonProcess]
) -> None:
    served: ServedSandboxes = serve_sandboxes()
    try:
        _scenario(pg_url, tmp_path, workers, served)
    finally:
        for proc in workers:
            if proc.proc.poll() is None:
                proc.proc.send_signal(signal.SIGCONT)
                proc.kill()
        served.stop()


def _scenario(pg_url: str, tmp_path: Path, workers: list[DaemonProcess], served: ServedSandboxes) -> None:
    seed_catalog(pg_url, 4)
    settings = write_settings(
        tmp_path / "settings.toml", url=pg_url, data_dir=tmp_path, served=served, interval_s=2.0, lease_s=LEASE_S
    )
    engine = make_engine(pg_url)
    by_name = {}
    for name in ("w1", "w2", "w3"):
        proc = start_daemon(settings, tmp_path, name, **shop_env(served))
        workers.append(proc)
        by_name[name] = proc
    for proc in workers:
        proc.port(90)  # three interpreters starting at once on a loaded machine

    def ticks_done(n: int) -> bool:
        done = Counter(t.shop_id for t in _ticks(engine) if t.trigger == "schedule" and t.state == "done")
        return all(done[s] >= n for s in SHOP_IDS)

    wait_sync(lambda: ticks_done(3), 90, "three scheduled ticks per shop")  # slow on a loaded machine

    # the leader dies without a word while it runs a tick: another worker reclaims that tick once
    # the claim expires, and another worker leads once the leader lease expires
    first = _leader(engine)
    crashed = by_name[first.holder]
    held = _freeze_holding_a_tick(crashed, engine, 60)
    killed_at = time.monotonic()
    crashed.proc.kill()
    crashed.proc.wait(timeout=10)
    wait_sync(lambda: _reclaimed(engine, held, crashed.name), 3 * LEASE_S + 20, f"ticks {held} to be reclaimed")
    wait_sync(lambda: _leader(engine).holder not in ("", first.holder), 30, "a new leader")
    assert time.monotonic() - killed_at < 30 + 3 * LEASE_S
    second = _leader(engine)
    assert second.epoch > first.epoch

    # the new leader freezes past its lease; when it wakes, its epoch is stale and it schedules nothing
    frozen = by_name[second.holder]
    frozen.proc.send_signal(signal.SIGSTOP)
    wait_sync(lambda: _leader(engine).holder not in ("", second.holder), 30, "a leader after the freeze")
    third = _leader(engine)
    took_over = datetime.now(UTC)
    assert third.epoch > second.epoch
    frozen.proc.send_signal(signal.SIGCONT)
    wait_sync(lambda: "no longer leader" in frozen.log(), 15, "the stale leader to step down")
    late = [t for t in _ticks(engine) if t.leader_epoch == second.epoch and utc(t.due_at) > took_over]
    assert late == [], "a stale leader enqueued work"
    before = sum(1 for t in _ticks(engine) if t.trigger == "schedule")
    wait_sync(lambda: sum(1 for t in _ticks(engine) if t.trigger == "schedule") > before + 3, 20, "ticks to go on")

    stopped = [p for p in workers if p.proc.poll() is None]
    for proc in stopped:
        code, _ = stop(proc, 30)
        assert code == 0, proc.log()[-2000:]

    ticks = _ticks(engine)
    # a clean stop leaves no claim behind: no tick runs under a stopped worker's name (nor any other)
    assert [(t.shop_id, t.tick, t.claimed_by) for t in ticks if t.state == "running"] == []
    claims, runs = _claims(engine), runs_of(engine)
    per_claim = _runs_per_claim(claims, runs)
    # per shop-lease epoch at most one run per (shop, tick)
    claim_by_id = {c.id: c for c in claims}
    assert {
        (claim_by_id[k].shop_id, claim_by_id[k].tick, claim_by_id[k].lease_epoch): v
        for k, v in per_claim.items()
        if len(v) > 1
    } == {}
    by_tick = {t.id: t for t in ticks}
    # a done tick is never claimed again after it was done (so never run twice to completion)
    assert [
        (c.shop_id, c.tick, c.worker, c.lease_epoch)
        for c in claims
        if by_tick[c.tick_id].state == "done" and utc(c.claimed_at) > utc(by_tick[c.tick_id].finished_at)
    ] == []
    # a done tick that ran names a run made under one of its own claims
    run_tick = {r: claim_by_id[k].tick_id for k, rs in per_claim.items() for r in rs}
    ran = [t for t in ticks if t.state == "done" and t.outcome != "merged"]  # merged: coalesced, never ran
    assert [(t.id, t.run_id) for t in ran if t.run_id is None or run_tick.get(t.run_id) != t.id] == []
    assert len({r.worker for r in runs if r.trigger == "schedule"}) >= 2  # the work really was shared
    engine.dispose()


def _claims(engine: Engine) -> list[TickClaimRow]:
    with Session(engine) as session:
        return list(session.exec(select(TickClaimRow).order_by(TickClaimRow.claimed_at)).all())  # type: ignore[arg-type]


def _runs_per_claim(claims: list[TickClaimRow], runs: list[SyncRunRow]) -> dict[int, list[int]]:
    """Each run belongs to the latest claim of its shop by its worker made before it started."""
    per_claim: dict[int, list[int]] = defaultdict(list)
    for run in runs:
        own = [
            c
            for c in claims
            if c.shop_id == run.shop_id and c.worker == run.worker and utc(c.claimed_at) <= utc(run.started_at)
        ]
        assert own, f"run {run.id} ({run.shop_id} by {run.worker}) ran under no claim"
        assert run.id is not None
        claim = max(own, key=lambda c: utc(c.claimed_at))
        assert claim.id is not None
        per_claim[claim.id].append(run.id)
    return per_claim


def _freeze_holding_a_tick(proc: DaemonProcess, engine: Engine, timeout_s: float) -> list[int]:
    """SIGSTOP `proc` at a moment it holds a running tick (retrying briefly); the ids of its running ticks."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        proc.proc.send_signal(signal.SIGSTOP)
        held = [t.id for t in _ticks(engine) if t.state == "running" and t.claimed_by == proc.name]
        if held:
            return [i for i in held if i is not None]
        proc.proc.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError(f"{proc.name} never held a running tick within {timeout_s:g}s")


def _reclaimed(engine: Engine, tick_ids: list[int], dead: str) -> bool:
    """Every tick in `tick_ids` was claimed by a worker other than `dead`."""
    others = {c.tick_id for c in _claims(engine) if c.worker != dead}
    return set(tick_ids) <= others
