"""Scenarios (a) full resync, (b) zero-change incremental, the naive baseline, and (e) PostgreSQL.

The setting is a migration: the three marketplaces already list the catalog (another tool
put it there), the ocop-sync database is empty apart from the catalog, ~2 % of listings have
drifted in price/stock and ~0.5 % are missing. A full resync must read every page, bind each
listing by seller SKU, and write only what differs. Sandboxes serve on loopback (uvicorn)
with 50 ms latency and their published rate limits; the engine runs in a child process.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from adapters.base import AdapterRegistry
from adapters.sandbox import FaultSpec, Sandbox, SandboxOptions
from bench.common import Figure, FloorTerms, PublishedLimits, floor_calls, rate_floor_s
from bench.market import Seeded, seed_shop
from connector.settings import ShopSettings
from connector.store import make_engine, upgrade
from connector.testing.loopback import credentials_env, make_sandboxes, serve, settings_toml
from connector.testing.world import desired_now, mismatches, seed_synthetic, shops

__all__ = ["Bed", "bed", "collect_full", "convergence", "run_child", "unconverged"]

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 50
RATE_SHARE = 0.8  # sync.rate_limit_share (the default): the share of the published rate we allow ourselves


@dataclass
class Bed:
    """One benchmark world: catalog database, served sandboxes seeded as already listed, child env."""

    tmp: Path
    db_url: str
    shops: tuple[ShopSettings, ...]
    boxes: dict[str, Sandbox]
    seeded: dict[str, Seeded]
    env: dict[str, str]
    published: dict[str, float] = field(default_factory=dict)


def run_child(mode: str, args: dict[str, Any], env: dict[str, str], tmp: Path, timeout_s: float) -> dict[str, Any]:
    """Run ``python -m bench.child`` and return its JSON result (raise with its stderr on failure)."""
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / f"{mode}-{time.monotonic_ns()}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.child", mode, json.dumps(args), str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {mode} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def spawn_child(mode: str, args: dict[str, Any], env: dict[str, str], tmp: Path) -> tuple[subprocess.Popen[str], Path]:
    """Start ``python -m bench.child`` without waiting; return the process and where it writes."""
    out = tmp / f"{mode}-{time.monotonic_ns()}.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.child", mode, json.dumps(args), str(out)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, out


def child_env(placed: tuple[ShopSettings, ...], settings_file: Path) -> dict[str, str]:
    """The environment of an engine child: shop credentials, settings file, import path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_SYNC")}
    env.update(credentials_env(placed))
    env["OCOP_SYNC_SETTINGS"] = str(settings_file)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def pg_schema_url(admin: str, schema: str) -> str:
    """The URL of a fresh PostgreSQL schema (created here), as tests/conftest.py builds it."""
    engine = make_engine(admin)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in admin else "?"
    return f"{admin}{sep}options=-csearch_path%3D{schema}"


def drop_pg_schema(admin: str, schema: str) -> None:
    """Drop a schema made by `pg_schema_url`."""
    engine = make_engine(admin)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@contextmanager
def bed(
    tmp: Path,
    db_url: str,
    skus: int,
    *,
    drift: float = 0.02,
    missing: float = 0.005,
    seed: int = 7,
    settings: dict[str, dict[str, Any]] | None = None,
    faults: FaultSpec | None = None,
) -> Iterator[Bed]:
    """Seed the catalog into `db_url` and the marketplaces from it, serve them, and yield the world.

    `faults` (default: none, 50 ms latency) is what every sandbox injects once seeded.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    engine = make_engine(db_url)
    upgrade(engine)
    seed_synthetic(engine, skus)
    unplaced = shops(rps=None)
    boxes = make_sandboxes(unplaced, SandboxOptions(faults=FaultSpec(latency_ms=LATENCY_MS), seed=seed))
    now = datetime.now(UTC)
    seeded = {
        s.marketplace: seed_shop(
            boxes[s.marketplace], s, desired_now(engine, s), now, drift=drift, missing=missing, seed=seed
        )
        for s in unplaced
    }
    engine.dispose()
    if faults is not None:
        for box in boxes.values():
            box.faults.set_spec(faults)
    with serve(boxes) as served:
        placed = tuple(s.model_copy(update={"base_url": served.urls[s.marketplace]}) for s in unplaced)
        settings_file = tmp / "settings.toml"
        sections = {"sync": {"rate_limit_share": RATE_SHARE}, **(settings or {})}
        settings_file.write_text(settings_toml(db_url, tmp, placed, **sections), encoding="utf-8")
        yield Bed(
            tmp=tmp,
            db_url=db_url,
            shops=placed,
            boxes=boxes,
            seeded=seeded,
            env=child_env(placed, settings_file),
            published={m: float(b.published_rate_limit_per_s) for m, b in boxes.items()},
        )


def log_marks(boxes: dict[str, Sandbox]) -> dict[str, int]:
    """Where each sandbox's request log stands now."""
    return {m: len(b.log) for m, b in boxes.items()}


def log_since(boxes: dict[str, Sandbox], marks: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Per marketplace, the requests the sandbox saw since `marks`: by operation, and throttles."""
    out: dict[str, dict[str, Any]] = {}
    for m, box in boxes.items():
        entries = box.log[marks[m] :]
        out[m] = {
            "requests": len(entries),
            "throttled": sum(1 for e in entries if e.outcome == "throttled"),
            "throttle_violations": len(box.throttle_violations()),
            "by_operation": dict(sorted(Counter(e.operation for e in entries).items())),
        }
    return out


def floors(b: Bed) -> dict[str, FloorTerms]:
    """The cost-model floor of a full resync on each marketplace of the bed, at the published limits."""
    return {
        m: floor_calls(m, listed=seeded.listed, changed=len(seeded.drifted), creates=len(seeded.missing))
        for m, seeded in b.seeded.items()
    }


def adapter_floors(b: Bed) -> dict[str, tuple[PublishedLimits, FloorTerms]]:
    """The page and batch sizes our adapters chose, and the floor at those sizes (reported, never judged)."""
    registry = AdapterRegistry.from_entry_points()
    out: dict[str, tuple[PublishedLimits, FloorTerms]] = {}
    for m, seeded in b.seeded.items():
        caps = registry.get(m).capabilities
        own = PublishedLimits(caps.page_size, caps.write_batch_size, 0, "adapter capabilities")
        changed, creates = len(seeded.drifted), len(seeded.missing)
        out[m] = own, floor_calls(m, listed=seeded.listed, changed=changed, creates=creates, limits=own)
    return out


def convergence(b: Bed) -> dict[str, dict[str, Any]]:
    """Per marketplace, how the sandbox's listings differ from what the catalog wants now.

    The world's mismatch check (`connector.testing.world.mismatches`): a desired-active listing
    must exist, be active and approved with the desired price, stock and title. Reviews due by
    the sandbox clock are resolved first, as the world check does.
    """
    engine = make_engine(b.db_url)
    try:
        out: dict[str, dict[str, Any]] = {}
        for s in b.shops:
            box = b.boxes[s.marketplace]
            box.tick_reviews()
            found = mismatches(s.marketplace, desired_now(engine, s), box.store.shop(s.seller_id))
            out[s.marketplace] = {
                "mismatches": len(found),
                "sample": [f"{x.sku} {x.field}: want {x.expected!r}, have {x.observed!r}" for x in found[:5]],
            }
        return out
    finally:
        engine.dispose()


def unconverged(state: dict[str, dict[str, Any]], run: dict[str, Any] | None = None) -> str:
    """Why a measured run does not count: listings off their desired state, or a failed shop run ("" if none)."""
    problems = [f"{m}: {v['mismatches']} listings off desired" for m, v in state.items() if v["mismatches"]]
    if run is not None:
        bad = {"failed", "dead_actions", "blocked", "interrupted", "running"}
        problems += [f"{s['shop_id']}: run {s['outcome']}" for s in run["summaries"] if s["outcome"] in bad]
    return "; ".join(problems)


def shop_of(b: Bed, marketplace: str) -> str:
    """Our shop id on a marketplace."""
    return next(s.id for s in b.shops if s.marketplace == marketplace)


def collect_full(b: Bed, run: dict[str, Any], seen: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Calls and time of one full resync against the floors, per marketplace and in total."""
    fl, own = floors(b), adapter_floors(b)
    per: dict[str, Any] = {}
    for m, terms in fl.items():
        sid = shop_of(b, m)
        summary = next((s for s in run["summaries"] if s["shop_id"] == sid), None)
        calls = int(run["calls"].get(sid, 0))
        per[m] = {
            "calls": calls,
            "floor": terms.total,
            "floor_terms": {k: v for k, v in vars(terms).items() if k != "marketplace"},
            "adapter_sizes": {
                "page_size": own[m][0].page_size,
                "write_batch": own[m][0].write_batch,
                "floor_at_adapter_sizes_without_scans": own[m][1].total,
            },
            "calls_over_floor": calls / terms.total,
            "published_rate_per_s": b.published[m],
            "rate_floor_s": rate_floor_s(terms.total, b.published[m]),
            "share_floor_s": rate_floor_s(terms.total, b.published[m] * RATE_SHARE),
            # every listing page waits for the one before (a cursor or a scroll position)
            "latency_floor_s": (terms.reads + terms.request_scans) * LATENCY_MS / 1000,
            "seconds": summary["seconds"] if summary else None,
            "outcome": summary["outcome"] if summary else "missing",
            "counters": summary["counters"] if summary else {},
            "sandbox": seen[m],
            "seeded": {
                "listed": b.seeded[m].listed,
                "drifted": len(b.seeded[m].drifted),
                "missing": len(b.seeded[m].missing),
            },
        }
    total_calls = sum(p["calls"] for p in per.values())
    total_floor = sum(p["floor"] for p in per.values())
    return {
        "seconds": run["seconds"],
        "cpu_s": run["cpu_s"],
        "calls": total_calls,
        "floor": total_floor,
        "rate_floor_s": max(p["rate_floor_s"] for p in per.values()),
        "share_floor_s": max(p["share_floor_s"] for p in per.values()),
        "latency_floor_s": max(p["latency_floor_s"] for p in per.values()),
        "throttled": sum(p["sandbox"]["throttled"] for p in per.values()),
        "marketplaces": per,
        "profile": run.get("profile", ""),
    }


def naive_sample(b: Bed, size: int, seed: int = 3) -> dict[str, list[str]]:
    """`size` random listed SKUs per shop for the naive baseline."""
    rng = random.Random(seed)
    out: dict[str, list[str]] = {}
    for s in b.shops:
        listed = sorted(b.boxes[s.marketplace].store.shop(s.seller_id))
        out[s.id] = sorted(rng.sample(listed, min(size, len(listed))))
    return out


def extrapolate_naive(run: dict[str, Any], catalog: int) -> dict[str, Any]:
    """Scale the naive sample linearly to the catalog: calls and seconds per SKU times the catalog size."""
    per: dict[str, Any] = {}
    for row in run["shops"]:
        per_sku_calls = row["calls"] / row["skus"]
        per_sku_s = row["seconds"] / row["skus"]
        per[row["shop_id"]] = {
            **row,
            "calls_per_sku": per_sku_calls,
            "seconds_per_sku": per_sku_s,
            "calls_full": math.ceil(per_sku_calls * catalog),
            "seconds_full": per_sku_s * catalog,
        }
    return {
        "sample_seconds": run["seconds"],
        "calls_full": sum(p["calls_full"] for p in per.values()),
        "seconds_full": max(p["seconds_full"] for p in per.values()),  # shops run side by side
        "shops": per,
    }


def settle(b: Bed, full: dict[str, Any], follow_up: dict[str, Any]) -> None:
    """Record in `full` whether the full resync and its review follow-up left every marketplace as desired."""
    state = convergence(b)
    full["convergence"] = state
    full["void"] = unconverged(state, follow_up)
    for m, p in full["marketplaces"].items():
        p["mismatches"] = state[m]["mismatches"]
        p["void"] = unconverged({m: state[m]}) or (f"run {p['outcome']}" if p["outcome"] == "failed" else "")


def full_figures(prefix: str, label: str, full: dict[str, Any], naive: dict[str, Any] | None) -> list[Figure]:
    """The judged figures of one full resync (calls and time vs floors, and vs naive when given).

    Every judged figure is void (FAIL) unless the resync and its review follow-up converged
    (`settle` must have run): a run that stops early makes fewer calls, and must not pass for it.
    """
    void = full.get("void", "convergence not checked")
    mismatched = sum(v["mismatches"] for v in full.get("convergence", {}).values())
    figs = [
        Figure(
            f"{prefix}.mismatches",
            f"{label} listings off desired after resync + review follow-up",
            mismatched if "convergence" in full else -1,
            "",
            0,
            note="connector.testing.world.mismatches over every shop",
        ),
        Figure(
            f"{prefix}.calls", f"{label} API calls", full["calls"], "calls", note="client-side count, auth included"
        ),
        Figure(f"{prefix}.calls_floor", f"{label} cost-model floor", full["floor"], "calls"),
        Figure(f"{prefix}.calls_vs_floor", f"{label} calls / floor", full["calls"] / full["floor"], "x", 1.05),
        Figure(f"{prefix}.seconds", f"{label} wall time", full["seconds"], "s"),
        Figure(f"{prefix}.rate_floor_s", f"{label} rate-limit floor (published rate)", full["rate_floor_s"], "s"),
        Figure(
            f"{prefix}.time_vs_rate_floor",
            f"{label} wall / rate floor (published)",
            full["seconds"] / full["rate_floor_s"],
            "x",
            1.25,
        ),
        Figure(
            f"{prefix}.time_vs_share_floor",
            f"{label} wall / floor at {RATE_SHARE:.0%} of published",
            full["seconds"] / full["share_floor_s"],
            "x",
            note="the engine allows itself sync.rate_limit_share of the published rate",
        ),
        Figure(
            f"{prefix}.time_vs_any_floor",
            f"{label} wall / max(rate floor, page-chain latency floor)",
            full["seconds"] / max(full["rate_floor_s"], full["latency_floor_s"]),
            "x",
            note="listing pages are read one after another: pages x 50 ms is a floor too",
        ),
        Figure(f"{prefix}.throttled", f"{label} throttle replies from sandboxes", full["throttled"], "", 0),
    ]
    figs = [f.unless(void) for f in figs]
    for m, p in full["marketplaces"].items():
        per_floor = Figure(
            f"{prefix}.{m}.calls_vs_floor", f"{label} {m} calls / floor", p["calls_over_floor"], "x", 1.05
        )
        figs.append(per_floor.unless(p.get("void", "convergence not checked")))
    if naive is not None:
        figs += [
            Figure("naive.calls_full", "naive calls (extrapolated to 10,000 SKUs)", naive["calls_full"], "calls"),
            Figure("naive.seconds_full", "naive wall time (extrapolated)", naive["seconds_full"], "s"),
            Figure(
                f"{prefix}.naive_calls_ratio",
                f"{label} naive calls / engine calls",
                naive["calls_full"] / full["calls"],
                "x",
                50,
                "ge",
            ).unless(void),
            Figure(
                f"{prefix}.naive_time_ratio",
                f"{label} naive time / engine time",
                naive["seconds_full"] / full["seconds"],
                "x",
                20,
                "ge",
            ).unless(void),
        ]
    return figs
