"""Scenario (i): a province's big import into a synced catalog, with the daemon running.

10,000 products are already listed on the three loopback marketplaces and synced; the daemon
(`ocop-sync run`, SQLite) is up. `ocop-sync catalog import` then brings 15,000 new products, a
share of them active (to be listed) and the rest inactive (nothing to list). Measured: the API
calls the marketplaces received until every shop holds every new active listing, live, against
the cost-model floor of that work (one read of the shop, the order feed, one call per create),
and the time from the import's commit until every shop converged.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.base import AdapterRegistry
from bench.common import Figure, floor_calls
from bench.propagation import start_daemon
from bench.resync import ROOT, bed, log_marks, log_since, run_child
from connector.catalog.io import CatalogFormat, export_catalog
from connector.testing.world import synthetic_catalog

__all__ = ["big_import", "big_import_figures"]

BASE_SKUS = 10_000
IMPORTED = 15_000
ACTIVE_EVERY = 10  # one imported product in ten is active (to be listed); the others are inactive


def _import_file(tmp: Path, base: int, count: int) -> tuple[Path, list[str]]:
    """A CSV of `count` new products after the first `base`; the SKUs of the active ones."""
    producers, products = synthetic_catalog(base + count)
    new = [p.model_copy(update={"active": i % ACTIVE_EVERY == 0}) for i, p in enumerate(products[base:])]
    path = tmp / "import.csv"
    path.write_bytes(export_catalog(producers, new, CatalogFormat.CSV))
    return path, [p.sku for p in new if p.active]


def _live(box: Any, seller: str, skus: list[str]) -> int:
    shelf = box.store.shop(seller)
    live = (x for s in skus if (x := shelf.get(s)) is not None)
    return sum(1 for x in live if x.status == "active" and x.qc_status == "approved")


def big_import(
    tmp: Path, *, base: int = BASE_SKUS, imported: int = IMPORTED, timeout_s: float = 600.0
) -> dict[str, Any]:
    """Run the daemon on a synced catalog, import `imported` products, and measure until every shop converged."""
    db_url = f"sqlite:///{tmp / 'big-import.db'}"
    daemon_settings = {"daemon": {"port": 0, "drain_s": 5.0}}
    with bed(tmp, db_url, base, drift=0.0, missing=0.0, seed=29, settings=daemon_settings) as b:
        initial = run_child("sync", {"kind": "full"}, b.env, tmp, 900)  # the catalog is already synced
        csv, active = _import_file(tmp, base, imported)
        log_path = tmp / "daemon.log"
        daemon = start_daemon(b.env, log_path)
        try:
            marks = log_marks(b.boxes)
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "connector", "catalog", "import", str(csv)],
                env=b.env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            committed = time.monotonic()
            if done.returncode != 0:
                raise RuntimeError(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
            converged: dict[str, float] = {}
            while len(converged) < len(b.shops) and time.monotonic() - committed < timeout_s:
                for s in b.shops:
                    if s.marketplace not in converged and _live(b.boxes[s.marketplace], s.seller_id, active) == len(
                        active
                    ):
                        converged[s.marketplace] = time.monotonic() - committed
                time.sleep(0.5)
            time.sleep(2.0)  # the last run's verification read
            seen = log_since(b.boxes, marks)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(timeout=10)
        registry = AdapterRegistry.from_entry_points()
        per: dict[str, Any] = {}
        for s in b.shops:
            caps = registry.get(s.marketplace).capabilities
            floor = floor_calls(
                s.marketplace,
                listed=base,
                changed=0,
                creates=len(active),
                requests=len(active) if caps.reviewed_creates else 0,
            )
            calls = seen[s.marketplace]["requests"]
            per[s.marketplace] = {
                "calls": calls,
                "floor": floor.total,
                "calls_over_floor": calls / floor.total,
                "floor_terms": {k: v for k, v in vars(floor).items() if k != "marketplace"},
                "converged_s": converged.get(s.marketplace),
                "sandbox": seen[s.marketplace],
                "throttled": seen[s.marketplace]["throttled"],
            }
        runs = [line for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if "→" in line]
        return {
            "base": base,
            "imported": imported,
            "active_imported": len(active),
            "initial_sync_s": initial["seconds"],
            "import_s": committed - started,
            "converged_all_s": max(converged.values()) if len(converged) == len(b.shops) else math.nan,
            "marketplaces": per,
            "daemon_runs": runs[-40:],
            "daemon_exit": daemon.returncode,
            "at": datetime.now(UTC).isoformat(),
        }


def big_import_figures(r: dict[str, Any]) -> list[Figure]:
    """The judged figures of the big import: calls vs floor per marketplace (<= 1.05x) and time to converge."""
    label = f"(i) import {r['imported']:,} ({r['active_imported']:,} active) into {r['base']:,} x 3"
    calls = sum(p["calls"] for p in r["marketplaces"].values())
    floor = sum(p["floor"] for p in r["marketplaces"].values())
    figs = [
        Figure("i.calls", f"{label}: API calls", calls, "calls", note="sandbox-side count, daemon running"),
        Figure("i.calls_floor", "(i) cost-model floor", floor, "calls"),
        Figure("i.calls_vs_floor", "(i) calls / floor", calls / floor, "x", 1.05),
        Figure("i.converged_s", "(i) import commit -> every shop converged", r["converged_all_s"], "s"),
        Figure("i.import_s", "(i) ocop-sync catalog import (daemon running)", r["import_s"], "s"),
    ]
    for m, p in r["marketplaces"].items():
        figs.append(Figure(f"i.{m}.calls_vs_floor", f"(i) {m} calls / floor", p["calls_over_floor"], "x", 1.05))
    return figs
