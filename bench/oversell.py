"""Scenario (h): the oversell window, with Lazada pushes on and with polling only.

`ocop-sync run` runs as a subprocess (as in scenario (c)) over the loopback sandboxes, the
catalog already synced. This process places single-unit sales on Lazada, spread over time;
with pushes on, the Lazada sandbox POSTs its signed order push to the daemon's
`/webhooks/lazada/<shop>` route right after each sale. Each sale is timed from the moment it
was placed until Tiki and Voso both show a lower stock for that SKU. Reported: p50/p95 with
pushes (target p95 <= 10 s) and with polling only (the incremental interval is shortened to
`POLL_INTERVAL_S` to keep the bench bounded; the window scales with the real interval).
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.propagation import _percentile, start_daemon
from bench.resync import bed, run_child

__all__ = ["POLL_INTERVAL_S", "oversell_window"]

POLL_INTERVAL_S = 20.0
PUSH_RUN_INTERVAL_S = 300.0  # the default: with pushes on, polling is only the safety net
_URL = re.compile(r"HTTP on (http://[0-9.:]+)")


def oversell_window(tmp: Path, *, pushes: bool, skus: int = 200, sales: int = 12, gap_s: float = 1.5) -> dict[str, Any]:
    """Run the daemon, place `sales` Lazada sales `gap_s` apart, time each until Tiki and Voso show it."""
    interval = PUSH_RUN_INTERVAL_S if pushes else POLL_INTERVAL_S
    db_url = f"sqlite:///{tmp / 'oversell.db'}"
    extra = {"daemon": {"port": 0, "drain_s": 5.0}, "scheduler": {"incremental_interval_s": interval}}
    with bed(tmp, db_url, skus, drift=0.0, missing=0.0, seed=29, settings=extra) as b:
        run_child("sync", {"kind": "full"}, b.env, tmp, 600)
        log_path = tmp / "daemon.log"
        proc = start_daemon(b.env, log_path)
        try:
            match = _URL.search(log_path.read_text(encoding="utf-8", errors="replace"))
            lazada = next(s for s in b.shops if s.marketplace == "lazada")
            box = b.boxes["lazada"]
            if pushes and match:
                box.pusher.url = f"{match.group(1)}/webhooks/lazada/{lazada.id}"
            result = _sell_and_watch(b, lazada.seller_id, sales, gap_s, timeout_s=interval * 2 + 30)
        finally:
            box.pusher.url = None
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        result.update(pushes=pushes, interval_s=interval, skus=skus, push_failures=box.pusher.failed)
        return result


def _sell_and_watch(b: Any, lazada_seller: str, sales: int, gap_s: float, timeout_s: float) -> dict[str, Any]:
    box = b.boxes["lazada"]
    others = {
        s.marketplace: b.boxes[s.marketplace].store.shop(s.seller_id) for s in b.shops if s.marketplace != "lazada"
    }
    rng = random.Random(31)
    shelf = box.store.shop(lazada_seller)
    candidates = sorted(
        sku
        for sku, x in shelf.items()
        if x.status == "active"
        and x.stock > 10
        and all((o := other.get(sku)) is not None and o.stock > 10 for other in others.values())
    )
    chosen = rng.sample(candidates, min(sales, len(candidates)))
    pending: dict[str, tuple[float, dict[str, int]]] = {}
    windows: list[float] = []
    for sku in chosen:
        before = {m: other[sku].stock for m, other in others.items()}
        order = box.store.place_order(lazada_seller, sku, 1, box.clock.now())
        placed = time.monotonic()
        box.on_order_change(lazada_seller, [order])
        if box.pusher.enabled:
            asyncio.run(box.pusher.deliver())
        pending[sku] = (placed, before)
        _collect(pending, others, windows, until=time.monotonic() + gap_s, stop_when_done=False)
    _collect(pending, others, windows, until=time.monotonic() + timeout_s, stop_when_done=True)
    return {
        "sales": len(chosen),
        "seen_everywhere": len(windows),
        "not_seen": sorted(pending),
        "p50_s": _percentile(windows, 50),
        "p95_s": _percentile(windows, 95),
        "max_s": max(windows) if windows else float("nan"),
    }


def _collect(
    pending: dict[str, tuple[float, dict[str, int]]],
    others: dict[str, Any],
    windows: list[float],
    *,
    until: float,
    stop_when_done: bool,
) -> None:
    """Watch Tiki and Voso until `until`, timing each pending sale when both show a lower stock."""
    while time.monotonic() < until and not (stop_when_done and not pending):
        for sku, (placed, before) in list(pending.items()):
            if all(other[sku].stock < before[m] for m, other in others.items()):
                windows.append(time.monotonic() - placed)
                del pending[sku]
        time.sleep(0.02)
