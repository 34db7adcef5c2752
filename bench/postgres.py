"""Scenario (e): the full resync of (a) on PostgreSQL, one worker process per shop.

The same catalog and the same seeded marketplaces as (a), in a fresh schema of the `test`
database on 127.0.0.1:5432; three child processes each run `sync_shop` for one shop at once.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from bench.resync import (
    bed,
    collect_full,
    drop_pg_schema,
    log_marks,
    log_since,
    pg_schema_url,
    run_child,
    settle,
    spawn_child,
)

__all__ = ["PG_ADMIN_URL", "full_resync_postgres"]

PG_ADMIN_URL = os.environ.get("OCOP_SYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def full_resync_postgres(tmp: Path, skus: int) -> dict[str, Any]:
    """Run the three workers against fresh sandboxes; return (a)'s figures plus the worker spread."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        url = pg_schema_url(PG_ADMIN_URL, schema)
    except OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({exc.orig}); start it, or pass --skip-postgres"
            " to skip scenario (e) on purpose"
        ) from exc
    try:
        with bed(tmp, url, skus) as b:
            marks = log_marks(b.boxes)
            t0 = time.perf_counter()
            children = [spawn_child("sync", {"kind": "full", "shop": s.id}, b.env, tmp) for s in b.shops]
            results: list[dict[str, Any]] = []
            for proc, out in children:
                _, err = proc.communicate(timeout=900)
                if proc.returncode != 0:
                    raise RuntimeError(f"postgres worker failed ({proc.returncode}):\n{err[-4000:]}")
                results.append(json.loads(out.read_text(encoding="utf-8")))
            spawn_to_done = time.perf_counter() - t0
            merged = {
                "seconds": max(r["finished"] for r in results) - min(r["started"] for r in results),
                "cpu_s": sum(r["cpu_s"] for r in results),
                "calls": {k: v for r in results for k, v in r["calls"].items()},
                "summaries": [s for r in results for s in r["summaries"]],
            }
            full = collect_full(b, merged, log_since(b.boxes, marks))
            full["spawn_to_done_s"] = spawn_to_done
            full["workers"] = len(results)
            follow = run_child("sync", {"kind": "incremental"}, b.env, tmp, 600)  # activates Tiki's reviewed creates
            settle(b, full, follow)
            return full
    finally:
        drop_pg_schema(PG_ADMIN_URL, schema)
