"""(k) The history test, longer and over several seeds: three PostgreSQL workers under the nemesis.

Runs `tests/reliability/test_history.run_history` for each seed in OCOP_BENCH_HISTORY_SEEDS
(default 1,2,3) with OCOP_BENCH_HISTORY_S seconds of faults each (default 120) and reports
the number of seeds whose history broke a guarantee (target 0).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from bench.common import Figure
from bench.postgres import PG_ADMIN_URL
from bench.resync import drop_pg_schema, pg_schema_url

__all__ = ["scenario_history"]


def scenario_history(tmp: Path) -> tuple[list[Figure], dict[str, Any]]:
    """Run the history check per seed; a figure of violating seeds and the details of each."""
    from tests.reliability.test_history import run_history

    seeds = [int(s) for s in os.environ.get("OCOP_BENCH_HISTORY_SEEDS", "1,2,3").split(",") if s.strip()]
    duration = float(os.environ.get("OCOP_BENCH_HISTORY_S", "120"))
    details: dict[str, Any] = {}
    broken = 0
    for seed in seeds:
        schema = f"bench_h_{uuid.uuid4().hex[:10]}"
        url = pg_schema_url(PG_ADMIN_URL, schema)
        work = tmp / f"seed-{seed}"
        work.mkdir(parents=True, exist_ok=True)
        try:
            history = run_history(url, work, seed=seed, duration_s=duration)
        finally:
            drop_pg_schema(PG_ADMIN_URL, schema)
        broken += bool(history.violations)
        details[str(seed)] = {
            "faults": history.faults,
            "edits": history.edits,
            "imported": history.imported,
            "orders": len(history.orders),
            "violations": history.violations,
        }
    figure = Figure("k.violating_seeds", f"(k) history: seeds breaking a guarantee of {len(seeds)}", broken, "", 0)
    return [figure], {"h": details}
