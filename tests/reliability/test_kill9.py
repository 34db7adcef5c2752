"""SIGKILL a full resync at seeded random points, restart, and converge with no duplicate listing.

The sandboxes are served with uvicorn on 127.0.0.1 by this test process, so they outlive
the killed `ocop-sync resync --full --now` child. The kill point is "after the k-th write
request the sandboxes received" with k drawn from a seeded RNG, which lands mid-create,
mid-batch and mid-verify. The restart is a fresh AppContext on the same SQLite file.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.sandbox import Sandbox, SandboxOptions
from connector.catalog.store import read_products, set_product
from connector.context import AppContext
from connector.engine.run import sync_shops
from connector.store import session_scope
from connector.testing.loopback import credentials_env, make_sandboxes, serve, settings_toml
from connector.testing.world import desired_now, mismatches, seed_synthetic, settings_for, shops
from schemas.sync import RunKind
from tests.daemon.daemon_kit import env_for

KILLS = 10
BASE_SKUS = 30


def writes(boxes: dict[str, Sandbox]) -> int:
    """Write requests all sandboxes received so far."""
    return sum(1 for box in boxes.values() for e in list(box.log) if e.is_write)


def kill_after(cmd: list[str], env: dict[str, str], cwd: Path, boxes: dict[str, Sandbox], k: int) -> bool:
    """Start the child, SIGKILL it once the sandboxes saw `k` more writes; True if it was killed."""
    start = writes(boxes)
    child = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while child.poll() is None and time.monotonic() < deadline:
            if writes(boxes) - start >= k:
                child.send_signal(signal.SIGKILL)
                child.wait(10)
                return True
            time.sleep(0.002)
        assert child.poll() is not None, "child sync hung"
        return False
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


async def converge(ctx: AppContext, boxes: dict[str, Sandbox], runs: int = 5) -> int:
    """Full resyncs in this process until every shop holds its desired state; the number of runs."""
    for number in range(1, runs + 1):
        await sync_shops(ctx, kind=RunKind.FULL)
        left = []
        for shop in ctx.settings.shops:
            box = boxes[shop.marketplace]
            box.tick_reviews()
            left += mismatches(shop.marketplace, desired_now(ctx.engine, shop), box.store.shop(shop.seller_id))
        if not left:
            return number
    raise AssertionError(f"not converged after {runs} runs: {left[:5]}")


@pytest.mark.timeout(300)
async def test_sigkill_at_random_points_then_restart_converges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20261129)
    boxes = make_sandboxes(shops(), SandboxOptions(rate_limit_per_s=100_000, seed=5))
    db_url = f"sqlite:///{tmp_path / 'kill9.db'}"
    with serve(boxes) as served:
        shop_list = shops(served.urls, rps=500)
        settings = settings_for(db_url, tmp_path, shop_list)
        creds = credentials_env(shop_list)
        for key, value in creds.items():
            monkeypatch.setenv(key, value)
        settings_file = tmp_path / "settings.toml"
        settings_file.write_text(
            settings_toml(
                db_url,
                tmp_path,
                shop_list,
                daemon={"lease_s": 1.0},
                retry={"backoff_base_s": 0.01},
                # loopback calls: the longest call (connect + 3 x timeout) is what a new holder of the shop
                # waits out after finding a killed holder's unresolved create intent (docs/concurrency.md)
                http={"timeout_s": 1.0, "connect_timeout_s": 0.5},
            ),
            encoding="utf-8",
        )
        env = env_for(settings_file, **creds)
        cmd = [sys.executable, "-m", "connector", "resync", "--full", "--now"]
        killed = 0
        points: list[int] = []
        for round_no in range(KILLS + 4):
            ctx = AppContext.build(settings)  # a restart: fresh context on the same database
            seed_synthetic(ctx.engine, BASE_SKUS + 3 * round_no)  # new products every round
            with session_scope(ctx.engine) as session:
                for product in read_products(session, rng.sample([f"SYN-{i:06d}" for i in range(BASE_SKUS)], 4)):
                    bumped = product.model_copy(update={"price_vnd": product.price_vnd + 1000})
                    set_product(session, bumped, ctx.clock())
            k = rng.randint(1, 60 if round_no == 0 else 12)
            if kill_after(cmd, env, tmp_path, boxes, k):
                killed += 1
                points.append(k)
            ctx.engine.dispose()
            ctx = AppContext.build(settings)
            await converge(ctx, boxes)
            for marketplace, box in boxes.items():
                assert box.store.duplicate_creates() == {}, (marketplace, round_no, k)
            ctx.engine.dispose()
            if killed >= KILLS:
                break
    assert killed >= KILLS, f"only {killed} kills landed: {points}"
