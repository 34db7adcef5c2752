"""A demo restarted on the same database meets new, empty in-process sandboxes: without forgetting the
old bindings every run is blocked by the empty-observation guard; after forgetting them it converges."""

from __future__ import annotations

from sqlmodel import select

from connector.clock import utcnow
from connector.context import SandboxHub
from connector.engine.run import sync_shops
from connector.store import session_scope
from connector.store.models import BindingRow, DriftRow
from connector.store.sandbox_state import forget_sandbox_state
from schemas.sync import RunKind, RunOutcome
from tests.engine.conftest import BuildCtx, sandboxes, seller


async def test_new_sandboxes_after_a_restart_converge_once_old_state_is_forgotten(build_ctx: BuildCtx) -> None:
    ctx = build_ctx(catalog_size=12)
    first = await sync_shops(ctx, kind=RunKind.FULL)
    assert all(s.outcome is RunOutcome.CONVERGED for s in first), first
    created = {s.shop_id: s.counters.created for s in first}
    assert all(n > 0 for n in created.values()), created
    old_hub = ctx.sandbox_hub
    ctx.sandbox_hub = SandboxHub(old_hub.registry, options=old_hub.options)  # what a process restart does

    blocked = await sync_shops(ctx, kind=RunKind.FULL)
    assert {s.outcome for s in blocked} == {RunOutcome.BLOCKED}
    assert all(sb.store.shop(seller(m)) == {} for m, sb in sandboxes(ctx).items())

    shop_ids = [s.id for s in ctx.settings.shops]
    assert forget_sandbox_state(ctx.engine, shop_ids, utcnow()) == sum(created.values())
    with session_scope(ctx.engine) as session:
        assert session.exec(select(BindingRow)).all() == []
        assert session.exec(select(DriftRow).where(DriftRow.resolved_at == None)).all() == []  # noqa: E711

    again = await sync_shops(ctx, kind=RunKind.FULL)
    assert all(s.outcome is RunOutcome.CONVERGED for s in again), again
    assert {s.shop_id: s.counters.created for s in again} == created
