"""What the daemon's parts share: the app context, this worker's name, metrics, the stop and wake signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

from connector.context import AppContext
from connector.service.metrics import DaemonMetrics
from connector.service.ratelog import RateLimitedLog
from connector.settings import Settings

log = logging.getLogger("ocop_sync.daemon")


def worker_name(settings: Settings) -> str:
    """This process's name in leases and run records: settings, else host:pid."""
    return settings.daemon.worker_name or f"{socket.gethostname()}:{os.getpid()}"


class Runtime:
    """The daemon's shared state: context, worker name, metrics, `stopping` and `wake` events, clock, db calls."""

    def __init__(self, ctx: AppContext, *, log_interval_s: float = 30.0) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.engine = ctx.engine
        self.worker = worker_name(ctx.settings)
        self.metrics = DaemonMetrics(ctx.engine, ctx.settings, ctx.clock)
        self.stopping = asyncio.Event()
        self.wake = asyncio.Event()
        self.shop_ids = [s.id for s in ctx.settings.shops if s.enabled]
        # loops and jobs in a failure episode (these make /readyz fail), and other repeated lines
        self.health = RateLimitedLog(log, log_interval_s)
        self.noise = RateLimitedLog(log, log_interval_s)

    def now(self) -> datetime:
        """The app clock."""
        return self.ctx.clock()

    async def db(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking store call off the event loop."""
        return await asyncio.to_thread(func, *args, **kwargs)

    async def sleep(self, seconds: float) -> None:
        """Sleep up to `seconds`, returning early when the daemon starts stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
