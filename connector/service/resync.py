"""Manual resync requests: recorded by the CLI (or API), dispatched by the leader, settled by workers.

`ocop-sync resync` only inserts a `resync_request` row, so it works the same whether the
daemon runs in this host or another. The leader turns unclaimed requests into one manual
tick per shop, merging requests that name the same shop (two requests, one run). When the
last tick carrying a request finishes, the request is settled with the worst outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.service.ticks import merge_tick
from connector.store import session_scope
from connector.store.leases import (
    Lease,
    LeaseFence,
    StaleLeaseError,
    check_fence,
    keep_alive,
    release,
    shop_lease,
    try_acquire,
)
from connector.store.models import ResyncRequestRow, SyncRunRow
from connector.store.states import TickOutcome, worst_outcome
from schemas.sync import RunKind, RunSummary, RunTrigger

if TYPE_CHECKING:
    from connector.context import AppContext


class RunShop(Protocol):
    """The engine's one-shop run (`connector.engine.run.sync_shop`), as the daemon calls it."""

    async def __call__(
        self,
        ctx: AppContext,
        shop_id: str,
        *,
        kind: RunKind = RunKind.INCREMENTAL,
        trigger: RunTrigger = RunTrigger.MANUAL,
        force: bool = False,
        dry_run: bool = False,
        skus: Collection[str] | None = None,
        fence: Callable[[Session], None] | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        worker: str = "",
    ) -> RunSummary:
        """Run one shop once and return its summary."""
        ...


def engine_run_shop() -> RunShop:
    """The reconcile engine's one-shop run (`connector.engine.run.sync_shop`)."""
    from connector.engine.run import sync_shop

    run: RunShop = sync_shop
    return run


def submit_request(engine: Engine, *, shop_id: str | None, kind: str, requested_by: str, now: datetime) -> int:
    """Record a manual resync request (all shops when `shop_id` is None); its id."""
    with session_scope(engine) as session:
        row = ResyncRequestRow(shop_id=shop_id, kind=kind, requested_by=requested_by, requested_at=now)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def dispatch_requests(engine: Engine, leader: Lease, shop_ids: Sequence[str], *, now: datetime) -> list[int]:
    """As the leader: claim unclaimed requests and merge them into one manual tick per shop.

    Returns the ids of the requests dispatched. Raises StaleLeaseError when `leader` is stale.
    """
    known = set(shop_ids)
    with session_scope(engine) as session:
        check_fence(session, leader)
        requests = session.exec(
            select(ResyncRequestRow)
            .where(ResyncRequestRow.claimed_at == None)  # noqa: E711
            .order_by(ResyncRequestRow.id)  # type: ignore[arg-type]
            .with_for_update(skip_locked=True)
        ).all()
        per_shop: dict[str, tuple[str, list[int]]] = {}
        for req in requests:
            assert req.id is not None
            req.claimed_by, req.claimed_at = leader.holder, now
            targets = sorted(known) if req.shop_id is None else [req.shop_id]
            if req.shop_id is not None and req.shop_id not in known:
                req.finished_at, req.outcome = now, "unknown_shop"
                targets = []
            for shop in targets:
                kind, ids = per_shop.get(shop, ("incremental", []))
                per_shop[shop] = ("full" if req.kind == "full" else kind, [*ids, req.id])
            session.add(req)
        for shop, (kind, ids) in sorted(per_shop.items()):
            merge_tick(session, engine, leader, shop, f"req:{ids[0]}", kind, RunTrigger.MANUAL.value, now, None, ids)
        return [r.id for r in requests if r.id is not None]


@dataclass(frozen=True)
class RequestView:
    """A request as `ocop-sync runs` and `--wait` show it."""

    id: int
    shop_id: str | None
    kind: str
    requested_at: datetime
    claimed_by: str
    finished_at: datetime | None
    outcome: str

    @property
    def state(self) -> str:
        """waiting, running or finished."""
        if self.finished_at is not None:
            return "finished"
        return "running" if self.claimed_by else "waiting"


def read_requests(engine: Engine, *, limit: int = 10, ids: Collection[int] | None = None) -> list[RequestView]:
    """Recent resync requests, newest first (or exactly `ids`)."""
    with Session(engine) as session:
        query = select(ResyncRequestRow).order_by(ResyncRequestRow.id.desc()).limit(limit)  # type: ignore[union-attr]
        if ids is not None:
            query = select(ResyncRequestRow).where(ResyncRequestRow.id.in_(list(ids)))  # type: ignore[union-attr]
        return [
            RequestView(r.id or 0, r.shop_id, r.kind, r.requested_at, r.claimed_by, r.finished_at, r.outcome)
            for r in session.exec(query).all()
        ]


async def run_now(
    ctx: AppContext,
    request_id: int,
    run_shop: RunShop,
    *,
    worker: str,
    lease_wait_s: float = 60.0,
) -> list[RunSummary]:
    """Run a recorded request in this process (no daemon running): claim it, run each shop under its lease."""
    engine, now = ctx.engine, ctx.clock()
    with session_scope(engine) as session:
        req = session.get(ResyncRequestRow, request_id)
        if req is None or req.claimed_at is not None:
            return []
        req.claimed_by, req.claimed_at = worker, now
        session.add(req)
        shops = [req.shop_id] if req.shop_id else [s.id for s in ctx.settings.shops if s.enabled]
        kind = RunKind.FULL if req.kind == "full" else RunKind.INCREMENTAL
    summaries: list[RunSummary] = []
    lease_s = ctx.settings.daemon.lease_s
    for shop_id in shops:
        lease = await _wait_for_lease(ctx, shop_lease(shop_id), worker, lease_s, lease_wait_s)
        heartbeat = asyncio.create_task(keep_alive(engine, lease, ttl_s=lease_s, clock=ctx.clock))
        try:
            summary = await run_shop(
                ctx,
                shop_id,
                kind=kind,
                trigger=RunTrigger.MANUAL,
                fence=LeaseFence(
                    engine,
                    lease,
                    ctx.clock,
                    ttl_s=lease_s,
                    call_s=ctx.settings.http.connect_timeout_s + 3 * ctx.settings.http.timeout_s,
                ),
                worker=worker,
            )
            summaries.append(summary)
        finally:
            heartbeat.cancel()
            await asyncio.to_thread(release, engine, lease)
    with session_scope(engine) as session:
        req = session.get(ResyncRequestRow, request_id)
        if req is not None:
            req.finished_at = ctx.clock()
            req.outcome = worst_outcome([s.outcome.value for s in summaries]) or TickOutcome.CONVERGED
            session.add(req)
        for s in summaries:
            run = session.get(SyncRunRow, s.run_id)
            if run is not None:
                run.request_id = request_id
                session.add(run)
    return summaries


async def _wait_for_lease(ctx: AppContext, name: str, worker: str, lease_s: float, wait_s: float) -> Lease:
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        lease = await asyncio.to_thread(try_acquire, ctx.engine, name, worker, now=ctx.clock(), ttl_s=lease_s)
        if lease is not None:
            return lease
        if asyncio.get_running_loop().time() > deadline:
            raise StaleLeaseError(name, worker, 0, "another worker", -1)
        await asyncio.sleep(0.5)
