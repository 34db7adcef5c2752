"""Scenario (c): propagation with the daemon running.

`ocop-sync run` runs as a subprocess on SQLite, its shops pointing at the loopback sandboxes
(50 ms latency, published rate limits), the catalog already synced. This process then edits
random products' prices through `connector.catalog_store.set_product` on the same SQLite
file, spread over time, and polls the sandbox stores directly until all three marketplaces
hold each new price. Reported: p50/p95 of commit-to-visible-everywhere.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bench.resync import ROOT, bed, run_child
from connector.catalog.store import read_products, set_product
from connector.engine.desired import shop_price
from connector.store import make_engine, session_scope

__all__ = ["propagation"]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def start_daemon(env: dict[str, str], log_path: Path, *, settle_s: float = 3.0) -> subprocess.Popen[bytes]:
    """`ocop-sync run` as a child process logging to `log_path`, once its HTTP server is up and its
    start-up runs had `settle_s` to finish (as on a daemon that has been up a while)."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector", "run"],
            env={**env, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_http(log_path, proc, 60)
    except RuntimeError:
        proc.kill()
        proc.wait(timeout=10)
        raise
    time.sleep(settle_s)
    return proc


def _wait_for_http(log: Path, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if "HTTP on http" in log.read_text(encoding="utf-8", errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"daemon did not start:\n{log.read_text(encoding='utf-8', errors='replace')[-3000:]}")


def propagation(
    tmp: Path, *, skus: int = 500, edits: int = 100, per_second: float = 5.0, timeout_s: float = 120.0
) -> dict[str, Any]:
    """Run the daemon, make `edits` price edits at `per_second`, and time each until visible on every shop."""
    db_url = f"sqlite:///{tmp / 'propagation.db'}"
    daemon_settings = {"daemon": {"port": 0, "drain_s": 5.0}}
    with bed(tmp, db_url, skus, drift=0.0, missing=0.0, seed=19, settings=daemon_settings) as b:
        initial = run_child("sync", {"kind": "full"}, b.env, tmp, 600)  # the catalog is already synced
        log_path = tmp / "daemon.log"
        proc = start_daemon(b.env, log_path)
        try:
            result = _edit_and_watch(b, db_url, edits, per_second, timeout_s)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        result["initial_sync_s"] = initial["seconds"]
        result["daemon_exit"] = proc.returncode
        result["skus"] = skus
        return result


def _edit_and_watch(b: Any, db_url: str, edits: int, per_second: float, timeout_s: float) -> dict[str, Any]:
    engine = make_engine(db_url)
    rng = random.Random(23)
    with Session(engine) as session:
        products = {p.sku: p for p in read_products(session)}
    chosen = rng.sample(sorted(products), edits)
    stores = {s.marketplace: (b.boxes[s.marketplace].store.shop(s.seller_id), s) for s in b.shops}
    pending: dict[str, tuple[float, dict[str, int]]] = {}
    latencies: dict[str, float] = {}
    start = time.monotonic()
    next_edit = start
    done_editing_at: float | None = None
    queue = list(chosen)
    while queue or pending:
        now = time.monotonic()
        if queue and now >= next_edit:
            sku = queue.pop(0)
            product = products[sku]
            new_price = product.price_vnd + 1_000 * rng.randint(1, 50)
            with session_scope(engine) as session:
                set_product(session, product.model_copy(update={"price_vnd": new_price}), datetime.now(UTC))
            committed = time.monotonic()
            pending[sku] = (committed, {m: shop_price(new_price, shop) for m, (_, shop) in stores.items()})
            next_edit += 1.0 / per_second
            if not queue:
                done_editing_at = committed
        for sku, (committed, want) in list(pending.items()):
            if all((x := shelf.get(sku)) is not None and x.price == want[m] for m, (shelf, _) in stores.items()):
                latencies[sku] = time.monotonic() - committed
                del pending[sku]
        if done_editing_at is not None and time.monotonic() - done_editing_at > timeout_s:
            break
        time.sleep(0.02)
    engine.dispose()
    values = list(latencies.values())
    return {
        "edits": edits,
        "per_second": per_second,
        "visible": len(values),
        "not_visible": sorted(pending),
        "p50_s": _percentile(values, 50),
        "p95_s": _percentile(values, 95),
        "max_s": max(values) if values else float("nan"),
        "edit_span_s": (done_editing_at or start) - start,
    }
