"""Scenario (f): the full resync of (a) while every marketplace fails 2 % of requests transiently.

The same world as (a) (10,000 SKUs x 3, already listed, 2 % drifted, 0.5 % missing, 50 ms
latency, published rate limits), but each sandbox answers 1 % of requests with a 5xx (or its
in-band equivalent), drops 0.5 % of connections and lets 0.5 % hang past the client's timeout.
A resumable read retries the failed page alone, so the run should cost the fault-free calls
plus one retry per failed call: judged `calls <= 1.05 x (floor + failed calls)` per marketplace
and in total, and `wall <= 1.5 x` the fault-free run of (a) in the same bench run (or, when (a)
is not run, a fault-free full resync on an identical world measured here first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sandbox import FaultSpec
from bench.common import Figure
from bench.resync import LATENCY_MS, bed, collect_full, log_marks, log_since, run_child, settle

__all__ = ["FAILED_OUTCOMES", "FAULTS", "scenario_f"]

FAULTS = FaultSpec(latency_ms=LATENCY_MS, error_rate=0.01, reset_rate=0.005, timeout_rate=0.005, seed=14)
FAILED_OUTCOMES = ("error", "reset", "timeout", "outage")


def _failed(seen: dict[str, Any]) -> int:
    """Requests of one marketplace that met a transient fault."""
    return sum(int(n) for outcome, n in seen["outcomes"].items() if outcome in FAILED_OUTCOMES)


def full_resync(tmp: Path, skus: int, faults: FaultSpec | None) -> dict[str, Any]:
    """One full resync and its review follow-up on a fresh (a) world; calls, time and sandbox counts."""
    with bed(tmp, f"sqlite:///{tmp / 'f.db'}", skus, faults=faults) as b:
        marks = log_marks(b.boxes)
        run = run_child("sync", {"kind": "full"}, b.env, tmp, 1200)
        seen = log_since(b.boxes, marks)
        for m, box in b.boxes.items():
            outcomes: dict[str, int] = {}
            for entry in box.log[marks[m] :]:
                outcomes[entry.outcome] = outcomes.get(entry.outcome, 0) + 1
            seen[m]["outcomes"] = outcomes
        full = collect_full(b, run, seen)
        follow = run_child("sync", {"kind": "incremental"}, b.env, tmp, 600)
        settle(b, full, follow)
    for p in full["marketplaces"].values():
        p["failed_calls"] = _failed(p["sandbox"])
    full["failed_calls"] = sum(p["failed_calls"] for p in full["marketplaces"].values())
    return full


def scenario_f(tmp: Path, skus: int, fault_free_s: float | None) -> tuple[list[Figure], dict[str, Any]]:
    """(f) the full resync under 2 % transient faults, against the floor plus failed calls and the fault-free time."""
    reference = None
    if fault_free_s is None:
        reference = full_resync(tmp / "fault-free", skus, None)
        fault_free_s = float(reference["seconds"])
    full = full_resync(tmp / "faults", skus, FAULTS)
    void = full.get("void", "convergence not checked")
    budget = full["floor"] + full["failed_calls"]
    figs = [
        Figure("f.failed_calls", "(f) requests that met a fault (5xx, reset, timeout)", full["failed_calls"], "calls"),
        Figure("f.calls", "(f) API calls", full["calls"], "calls", note="client-side count, auth included"),
        Figure(
            "f.calls_vs_floor_plus_failed", "(f) calls / (floor + failed calls)", full["calls"] / budget, "x", 1.05
        ).unless(void),
        Figure("f.seconds", "(f) wall time", full["seconds"], "s"),
        Figure(
            "f.time_vs_fault_free",
            "(f) wall / fault-free full resync",
            full["seconds"] / fault_free_s,
            "x",
            1.5,
            note="fault-free: (a) of this run" if reference is None else "fault-free: measured by (f) itself",
        ).unless(void),
        Figure("f.throttled", "(f) throttle replies from sandboxes", full["throttled"], "", 0).unless(void),
    ]
    for m, p in full["marketplaces"].items():
        ratio = p["calls"] / (p["floor"] + p["failed_calls"])
        figs.append(
            Figure(f"f.{m}.calls_vs_floor_plus_failed", f"(f) {m} calls / (floor + failed)", ratio, "x", 1.05).unless(
                p.get("void", "convergence not checked")
            )
        )
    details: dict[str, Any] = {"f": full, "f_faults": FAULTS.model_dump(), "f_fault_free_s": fault_free_s}
    if reference is not None:
        details["f_reference"] = reference
    return figs, details
