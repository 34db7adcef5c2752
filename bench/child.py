"""The engine side of a benchmark, run as its own process: ``python -m bench.child MODE ARGS_JSON OUT``.

The marketplaces (sandboxes served by uvicorn) stay in the parent process; the engine runs
here, against them over loopback, as `ocop-sync` would. Every HTTP request a shop's client
sends is counted on the client side (auth calls included). Modes: ``sync`` (the engine),
``naive`` (the per-SKU baseline, `bench.naive`), ``plan`` (the planning benchmark).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import pstats
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connector.context import AppContext
from connector.engine.run import sync_shop, sync_shops
from connector.settings import ShopSettings, load_settings
from schemas.sync import RunKind, RunSummary

__all__ = ["CountingContext", "counting_context", "main", "profile_top"]


@dataclass
class CountingContext(AppContext):
    """An AppContext whose shop clients count every HTTP request they send, by shop."""

    calls: Counter[str] = field(default_factory=Counter)

    def http_client(self, shop: ShopSettings) -> httpx.AsyncClient:
        """The shop's usual client, with a request hook counting each request."""
        client = super().http_client(shop)

        async def count(request: httpx.Request) -> None:
            self.calls[shop.id] += 1

        client.event_hooks = {"request": [count], "response": []}
        return client


def cpu_s() -> float:
    """CPU seconds (user + system) this process used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def profile_top(profiler: cProfile.Profile, limit: int = 18, sort: str = "cumulative") -> str:
    """The top entries of a profile by cumulative time, as text."""
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(limit)
    return out.getvalue()


def _summary(s: RunSummary) -> dict[str, Any]:
    seconds = (s.finished_at - s.started_at).total_seconds() if s.finished_at else None
    return {
        "shop_id": s.shop_id,
        "marketplace": s.marketplace,
        "outcome": s.outcome.value,
        "error": s.error,
        "seconds": seconds,
        "started_at": s.started_at.isoformat(),
        "counters": s.counters.model_dump(),
    }


def counting_context() -> CountingContext:
    """A counting context from the settings file the environment names."""
    ctx = CountingContext.build(load_settings())
    assert isinstance(ctx, CountingContext)
    return ctx


def sync_mode(args: dict[str, Any]) -> dict[str, Any]:
    """Run the engine once: every shop concurrently, or the one shop `args["shop"]`."""
    ctx = counting_context()
    kind = RunKind(args.get("kind", "full"))
    shop = args.get("shop")
    profiler = cProfile.Profile() if args.get("profile") else None

    async def go() -> list[RunSummary]:
        if shop:
            return [await sync_shop(ctx, shop, kind=kind)]
        return await sync_shops(ctx, kind=kind)

    cpu0, wall0, t0 = cpu_s(), time.time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    summaries = asyncio.run(go())
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - t0
    result: dict[str, Any] = {
        "started": wall0,
        "finished": wall0 + seconds,
        "seconds": seconds,
        "cpu_s": cpu_s() - cpu0,
        "calls": dict(ctx.calls),
        "summaries": [_summary(s) for s in summaries],
    }
    if profiler is not None:
        result["profile"] = profile_top(profiler, 30, "tottime")
    ctx.engine.dispose()
    return result


def main(argv: list[str]) -> int:
    """Run one mode with its JSON arguments and write its JSON result to the given file."""
    mode, raw, out = argv
    args = json.loads(raw)
    if mode == "sync":
        result = sync_mode(args)
    elif mode == "naive":
        from bench.naive import naive_mode

        result = naive_mode(args)
    elif mode == "plan":
        from bench.planning import plan_mode

        result = plan_mode(args)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    Path(out).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
