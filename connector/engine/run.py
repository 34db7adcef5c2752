"""One reconcile run per shop: observe -> desired -> plan -> persist -> apply -> verify -> record.

This module is the run boundary: the only place that turns any failure of a shop's run
into a recorded outcome (`sync_run` row, `shop.last_error`) instead of an exception, so one
shop's failure never stops the others. Cancellation is recorded as interrupted and re-raised.
Every write transaction calls `fence(session)` first (the daemon passes a lease check).

Public API (the daemon and the CLI code against these names): `sync_shop`, `sync_shops`,
`plan_for_shop`, `plan_for_shop_async`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from adapters.base import MarketplaceAdapter
from adapters.errors import AdapterError, ConfigError
from connector.context import AppContext
from connector.engine.apply import Applier, PendingAction
from connector.engine.bindings import binding_view, load_bindings, record_observation
from connector.engine.desired import desired_listings
from connector.engine.observe import get_listings, read_listings, read_or_look_up
from connector.engine.outbox import open_action_skus, open_drift_skus, pending_actions, persist_plan, sync_drift
from connector.engine.plan import BindingView, PlanPolicy, plan_shop
from connector.engine.preflight import shop_preflight
from connector.engine.ratelimit import ShopLimiter, shop_rate
from connector.engine.retry import CallPolicy
from connector.engine.sales import SalesResult, pull_sales
from connector.engine.verify import reread, silent_failures
from connector.settings import ShopSettings
from connector.store import session_scope
from connector.store.models import ActionRow, BindingRow, ProducerRow, ProductRow, ShopRow, SyncRunRow
from schemas.catalog import Producer, Product
from schemas.listing import Listing, ListingStatus
from schemas.sync import (
    ActionKind,
    ActionState,
    DesiredListing,
    Plan,
    RunCounters,
    RunKind,
    RunOutcome,
    RunSummary,
    RunTrigger,
)

__all__ = ["plan_for_shop", "plan_for_shop_async", "sync_shop", "sync_shops"]

log = logging.getLogger("ocop_sync.sync")
Fence = Callable[[Session], None]
Progress = Callable[[str, int, int], None]


@dataclass
class _Shop:
    """One shop's open connection for a run: settings, HTTP client, adapter and call policy."""

    settings: ShopSettings
    http: httpx.AsyncClient
    adapter: MarketplaceAdapter
    calls: CallPolicy


@dataclass
class _Observation:
    observed: dict[str, Listing]
    fresh: dict[str, Listing | None]  # what this run actually read (None = looked up, not found)
    scope: frozenset[str] | None
    full: bool
    listings_mark: datetime | None
    catalog_mark: datetime | None
    unknown: set[str] = field(default_factory=set)  # look-ups that kept failing: left alone this run


@dataclass
class _Run:
    ctx: AppContext
    shop: _Shop
    run_id: int
    kind: RunKind
    force: bool
    fence: Fence | None
    progress: Progress | None
    started_at: datetime
    counters: RunCounters = field(default_factory=RunCounters)
    catalog: _Catalog = field(default_factory=lambda: _Catalog())
    desired: _DesiredMemo = field(default_factory=lambda: _DesiredMemo())

    @contextmanager
    def tx(self) -> Iterator[Session]:
        with session_scope(self.ctx.engine) as session:
            if self.fence is not None:
                self.fence(session)
            yield session

    def note(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


# -- opening a shop ---------------------------------------------------------------------------


def _today(ctx: AppContext) -> date:
    return ctx.clock().astimezone(ZoneInfo(ctx.settings.scheduler.timezone)).date()


def _mirror_shop(session: Session, shop: ShopSettings) -> ShopRow:
    row = session.get(ShopRow, shop.id) or ShopRow(id=shop.id, marketplace=shop.marketplace, seller_id=shop.seller_id)
    row.marketplace, row.seller_id, row.producer_id, row.enabled = (
        shop.marketplace,
        shop.seller_id,
        shop.producer_id,
        shop.enabled,
    )
    session.add(row)
    return row


def _load_tokens(ctx: AppContext, shop: ShopSettings, adapter: MarketplaceAdapter) -> None:
    from connector.engine.tokens import TokenVault, load_tokens

    vault = TokenVault.from_env()
    if vault is None:
        return  # no key configured: tokens live in memory for this run only
    with Session(ctx.engine) as session:
        stored = load_tokens(session, vault, shop.id)
    if stored:
        adapter.import_tokens(stored)


def _open_shop(ctx: AppContext, shop_id: str, fence: Fence | None) -> _Shop:
    try:
        settings = ctx.settings.shop(shop_id)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    http = ctx.http_client(settings)
    adapter = ctx.adapter(settings, http)
    caps = type(adapter).capabilities
    rate = shop_rate(caps.requests_per_second, ctx.settings.sync.rate_limit_share, settings.requests_per_second)
    calls = CallPolicy(ctx.settings.retry, ShopLimiter(rate), refresh=adapter.refresh_auth)
    _load_tokens(ctx, settings, adapter)
    with session_scope(ctx.engine) as session:
        if fence is not None:
            fence(session)
        _mirror_shop(session, settings)
    return _Shop(settings, http, adapter, calls)


# -- observe ----------------------------------------------------------------------------------


def _catalog_changes(session: Session, shop: ShopRow, today: date) -> tuple[set[str], set[str], datetime | None]:
    """SKUs whose catalog record (or producer) changed since the shop's watermark, expired SKUs, and the new mark."""
    mark = shop.catalog_watermark
    products = select(ProductRow.sku, ProductRow.updated_at, ProductRow.producer_id)
    rows = list(session.exec(products if mark is None else products.where(ProductRow.updated_at > mark)))
    skus = {r[0] for r in rows}
    newest = max((r[1] for r in rows), default=None)
    producers = select(ProducerRow.id, ProducerRow.updated_at)
    changed_producers = list(
        session.exec(producers if mark is None else producers.where(ProducerRow.updated_at > mark))
    )
    if changed_producers:
        ids = [p[0] for p in changed_producers]
        skus |= set(session.exec(select(ProductRow.sku).where(col(ProductRow.producer_id).in_(ids))))
        stamps = [p[1] for p in changed_producers] + ([newest] if newest is not None else [])
        newest = max(stamps)
    expired = set(session.exec(select(ProductRow.sku).where(ProductRow.cert_valid_until < today)))
    return skus, expired, newest or mark


def _max_updated(listings: Collection[Listing | None], default: datetime | None) -> datetime | None:
    stamps = [x.updated_at for x in listings if x is not None and x.updated_at is not None]
    if default is not None:
        stamps.append(default)
    return max(stamps) if stamps else None


async def _resolve_intents(run: _Run, bindings: dict[str, BindingView], unknown: set[str]) -> dict[str, Listing | None]:
    """Look up every SKU whose create outcome is unknown, before anything else is planned."""
    skus = [s for s, b in bindings.items() if b.create_intent]
    return await get_listings(run.shop.calls, run.shop.adapter, skus, unknown) if skus else {}


async def _observe(
    run: _Run,
    desired: Sequence[DesiredListing],
    bindings: dict[str, BindingView],
    snapshot: _Snapshot,
    skus: Collection[str] | None,
) -> _Observation:
    shop = run.shop
    caps = type(shop.adapter).capabilities
    with Session(run.ctx.engine) as session:
        session_shop = session.get(ShopRow, shop.settings.id)
        assert session_shop is not None
        changed, expired, catalog_mark = _catalog_changes(session, session_shop, _today(run.ctx))
        listings_mark = session_shop.listings_watermark
        open_skus = open_action_skus(session, shop.settings.id) | open_drift_skus(session, shop.settings.id)
    live = snapshot.active()
    changed |= expired & live  # a certificate lapsed since the last run: its live listing must come down
    unknown: set[str] = set()
    fresh: dict[str, Listing | None] = dict(await _resolve_intents(run, bindings, unknown))
    full = run.kind is RunKind.FULL or (skus is None and listings_mark is None)
    if full:
        run.note("observe", 0, 1)
        wanted = {d.seller_sku for d in desired} | set(snapshot) | set(bindings)
        # A complete scroll saw every listing (review requests included), so it already binds by
        # seller SKU: what it did not show is not there. Only an incomplete scroll falls back to
        # looking the wanted SKUs up one by one; unresolved create intents were looked up above.
        listed, _complete = await read_or_look_up(shop.calls, shop.adapter, sorted(wanted - set(fresh)), None, unknown)
        fresh.update(listed)
        for sku in snapshot:
            fresh.setdefault(sku, None)
        observed = {k: v for k, v in fresh.items() if v is not None}
        mark = _max_updated(listed.values(), listings_mark)
        everything = {d.seller_sku for d in desired} | set(observed) | set(bindings)
        full_scope = frozenset(everything - unknown) if unknown else None
        return _Observation(observed, fresh, full_scope, True, mark, catalog_mark, unknown)
    feed: dict[str, Listing] = {}
    if skus is None and caps.listing_since:
        feed = await read_listings(shop.calls, shop.adapter, since=listings_mark)
    scope = (
        set(skus)
        if skus is not None
        else changed | set(feed) | open_skus | {s for s in bindings if bindings[s].create_intent}
    )
    known = {**snapshot, **feed}
    lookup = sorted(
        s for s in scope if s not in fresh and s not in feed and (s not in snapshot or not caps.listing_since)
    )
    fresh.update(feed)
    fresh.update(await get_listings(shop.calls, shop.adapter, lookup, unknown))
    scope -= unknown
    observed = {**known, **{k: v for k, v in fresh.items() if v is not None}}
    for sku, listing in fresh.items():
        if listing is None:
            observed.pop(sku, None)
    mark = _max_updated(feed.values(), listings_mark)
    catalog = catalog_mark if skus is None and not unknown else None  # unknown SKUs must be looked at again
    return _Observation(observed, fresh, frozenset(scope), False, mark, catalog, unknown)


# -- the run ----------------------------------------------------------------------------------


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Catalog:
    """The catalog parsed once per sync call and re-read only where a record's content hash changed.

    Shared by the shops of one `sync_shops` call (one event loop, no await inside `refresh`).
    Each entry keeps the hash read with its data, so a record changed while we read is simply
    re-read at the next refresh.
    """

    products: dict[str, tuple[str, Product]] = field(default_factory=dict)
    producers: dict[str, tuple[str, Producer]] = field(default_factory=dict)

    def refresh(self, session: Session) -> None:
        """Bring the parsed catalog up to date with the store."""
        hashes = dict(session.exec(select(ProductRow.sku, ProductRow.content_hash)).all())
        for sku in set(self.products) - set(hashes):
            del self.products[sku]
        stale = sorted(sku for sku, digest in hashes.items() if self.products.get(sku, ("",))[0] != digest)
        if len(stale) == len(hashes):
            rows: Iterable[ProductRow] = session.exec(select(ProductRow))
        else:
            rows = (
                r
                for chunk in _chunks(stale)
                for r in session.exec(select(ProductRow).where(col(ProductRow.sku).in_(chunk)))
            )
        for row in rows:
            self.products[row.sku] = (row.content_hash, Product.model_validate(row.data))
        producers = {r.id: r for r in session.exec(select(ProducerRow))}
        self.producers = {
            pid: cached
            if (cached := self.producers.get(pid)) is not None and cached[0] == r.content_hash
            else (r.content_hash, Producer.model_validate(r.data))
            for pid, r in producers.items()
        }


@dataclass
class _DesiredMemo:
    """One shop's desired listings, recomputed only for products (or producers) whose hash changed."""

    day: date | None = None
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # sku -> (product hash, producer hash)
    by_sku: dict[str, DesiredListing] = field(default_factory=dict)

    def update(self, catalog: _Catalog, shop: ShopSettings, today: date) -> list[DesiredListing]:
        """The shop's desired listings for the catalog as `catalog` holds it now, sorted by SKU."""
        if self.day != today:
            self.day, self.keys, self.by_sku = today, {}, {}
        for sku in set(self.keys) - set(catalog.products):
            del self.keys[sku]
            self.by_sku.pop(sku, None)
        stale: list[Product] = []
        for sku, (digest, product) in catalog.products.items():
            key = (digest, catalog.producers.get(product.producer_id, ("", None))[0])
            if self.keys.get(sku) != key:
                self.keys[sku] = key
                self.by_sku.pop(sku, None)
                stale.append(product)
        if stale:
            producers = {pid: producer for pid, (_, producer) in catalog.producers.items()}
            for d in desired_listings(stale, producers, shop, today):
                self.by_sku[d.seller_sku] = d
        return [self.by_sku[sku] for sku in sorted(self.by_sku)]


class _Snapshot(Mapping[str, Listing]):
    """The shop's last observed listings by SKU, each parsed from its stored JSON only when looked at.

    A full run only needs to know which SKUs were seen before, an incremental one only the
    listings in its scope, so most of a large shop's snapshot is never parsed.
    """

    def __init__(self, raw: dict[str, Mapping[str, Any]], statuses: dict[str, str]) -> None:
        self._raw = raw
        self._statuses = statuses
        self._parsed: dict[str, Listing] = {}

    def __getitem__(self, sku: str) -> Listing:
        found = self._parsed.get(sku)
        if found is None:
            found = self._parsed[sku] = Listing.model_validate(self._raw[sku])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def active(self) -> set[str]:
        """SKUs last seen active (the binding's status column mirrors the stored listing)."""
        return {sku for sku in self._raw if self._statuses.get(sku) == ListingStatus.ACTIVE.value}


_VIEW_COLUMNS = (
    col(BindingRow.sku),
    col(BindingRow.external_id),
    col(BindingRow.external_sku_id),
    col(BindingRow.request_id),
    col(BindingRow.create_intent_at),
    col(BindingRow.qc_status),
    col(BindingRow.qc_reason),
    col(BindingRow.qc_field),
    col(BindingRow.pushed_content_hash),
)


def _binding_views(session: Session, shop_id: str) -> dict[str, BindingView]:
    """The plan's view of every binding of the shop, from the columns `binding_view` reads.

    Selected as plain rows (attribute access by column name), not ORM objects: loading a
    10,000-row shop as objects cost more than the whole rest of a zero-change run.
    """
    query = sa_select(*_VIEW_COLUMNS).where(col(BindingRow.shop_id) == shop_id)
    return {row.sku: binding_view(cast(BindingRow, row)) for row in session.connection().execute(query)}


def _snapshot(session: Session, shop_id: str) -> _Snapshot:
    query = select(BindingRow.sku, BindingRow.status, BindingRow.observed).where(BindingRow.shop_id == shop_id)
    raw: dict[str, Mapping[str, Any]] = {}
    statuses: dict[str, str] = {}
    for sku, status, observed in session.exec(query):
        if observed:
            raw[sku], statuses[sku] = observed, status
    return _Snapshot(raw, statuses)


def _read_state(run: _Run, *, snapshot: bool = True) -> tuple[list[DesiredListing], dict[str, BindingView], _Snapshot]:
    """Desired listings, binding views and (with `snapshot`) the last observed listings of the shop."""
    shop_id = run.shop.settings.id
    with Session(run.ctx.engine) as session:
        run.catalog.refresh(session)
        views = _binding_views(session, shop_id)
        observed = _snapshot(session, shop_id) if snapshot else _Snapshot({}, {})
    desired = run.desired.update(run.catalog, run.shop.settings, _today(run.ctx))
    return desired, views, observed


def _policy(run: _Run, obs: _Observation, bindings: dict[str, BindingView]) -> PlanPolicy:
    caps = type(run.shop.adapter).capabilities
    return PlanPolicy(
        max_deactivate_ratio=run.ctx.settings.sync.max_deactivate_ratio,
        force=run.force,
        full_observation=obs.full,
        scope=obs.scope,
        shop_size=sum(1 for b in bindings.values() if b.bound),
        reviewed_content_updates=caps.reviewed_content_updates,
        preflight=shop_preflight(caps.content_rules, run.shop.settings.options),
    )


def _bindings_of(session: Session, shop_id: str, skus: Collection[str]) -> dict[str, BindingRow]:
    """The bindings of `skus` on the shop (all of the shop's when that is cheaper)."""
    if len(skus) > 2_000:
        return load_bindings(session, shop_id)
    rows: dict[str, BindingRow] = {}
    for chunk in _chunks(sorted(skus)):
        query = select(BindingRow).where(BindingRow.shop_id == shop_id, col(BindingRow.sku).in_(chunk))
        rows.update((r.sku, r) for r in session.exec(query))
    return rows


def _record_fresh(session: Session, run: _Run, fresh: dict[str, Listing | None], desired_skus: set[str]) -> None:
    now = run.ctx.clock()
    reviewed = type(run.shop.adapter).capabilities.reviewed_content_updates
    shop_id = run.shop.settings.id
    rows = _bindings_of(session, shop_id, fresh)  # read in this transaction: no other writer holds the shop
    new_rows: list[dict[str, Any]] = []
    defaults = {
        name: info.get_default(call_default_factory=True)
        for name, info in BindingRow.model_fields.items()
        if name != "id"
    }
    for sku, listing in sorted(fresh.items()):
        row = rows.get(sku)
        if row is None:
            if listing is None or sku not in desired_skus:
                continue  # never bind what we do not own (orphans)
            # A first full run binds a whole shop: fill plain values through the same
            # `record_observation` and insert them in one statement (an ORM object per row
            # costs ~10x more here than everything else a listing needs).
            values = SimpleNamespace(**{**defaults, "shop_id": shop_id, "sku": sku})
            record_observation(cast(BindingRow, values), listing, now, reviewed_content=reviewed)
            new_rows.append(vars(values))
            continue
        if listing is None and row.create_intent_at is not None:
            row.create_intent_at = None  # looked up: the create never happened
        if listing is not None:
            row.create_intent_at = None
        record_observation(row, listing, now, reviewed_content=reviewed)
        session.add(row)
    if new_rows:
        session.execute(insert(BindingRow), new_rows)


def _start_run(
    ctx: AppContext, shop: _Shop, kind: RunKind, trigger: RunTrigger, worker: str, fence: Fence | None
) -> tuple[int, datetime]:
    started = ctx.clock()
    with session_scope(ctx.engine) as session:
        if fence is not None:
            fence(session)
        row = SyncRunRow(
            shop_id=shop.settings.id,
            marketplace=shop.settings.marketplace,
            kind=kind.value,
            trigger=trigger.value,
            worker=worker,
            started_at=started,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id, started


async def _reconcile(run: _Run, skus: Collection[str] | None) -> tuple[RunOutcome, _Observation]:
    desired, bindings, snapshot = _read_state(run)
    obs = await _observe(run, desired, bindings, snapshot, skus)
    # Every sale the listing read already reflects must lower canonical stock before desired
    # stock is recomputed below; otherwise the plan would push pre-sale stock back (oversell).
    late = await _pull(run.ctx, run.shop, run.fence)
    run.counters.sales_recorded += late.recorded if late is not None else 0
    desired_skus = {d.seller_sku for d in desired}
    with run.tx() as session:  # bind what the reads found before planning against the bindings
        _record_fresh(session, run, obs.fresh, desired_skus)
    desired, bindings, _ = _read_state(run, snapshot=False)
    plan = plan_shop(run.shop.settings.id, desired, obs.observed, bindings, _policy(run, obs, bindings))
    run.note("plan", len(plan.actions), len(plan.actions))
    with run.tx() as session:
        persisted = persist_plan(
            session, run.run_id, run.shop.settings.id, plan.actions, plan.drifts, obs.scope, run.ctx.clock()
        )
        _save_counters(session, run)
    run.counters.drift_opened += persisted.drift_opened
    run.counters.drift_closed += persisted.drift_closed
    if plan.guard_blocked:
        return RunOutcome.BLOCKED, obs
    with Session(run.ctx.engine) as session:
        todo = [PendingAction.of(r) for r in pending_actions(session, persisted.pending_ids)]
    applier = Applier(
        run.ctx.engine, run.shop.settings.id, run.shop.adapter, run.shop.calls, run.ctx.clock, run.fence, run.progress
    )
    outcome = await applier.run(todo)
    run.counters.created, run.counters.updated = outcome.created, outcome.updated
    run.counters.deactivated, run.counters.reactivated = outcome.deactivated, outcome.reactivated
    run.counters.failed, run.counters.dead = outcome.failed, outcome.dead + persisted.dead
    final = await _verify(run, obs, outcome.done, desired_skus)
    if run.counters.dead:
        return RunOutcome.DEAD_ACTIONS, obs
    if run.counters.failed or run.counters.silent_failures or final.actions:
        return RunOutcome.PARTIAL, obs
    return RunOutcome.CONVERGED, obs


async def _verify(run: _Run, obs: _Observation, done: dict[str, set[ActionKind]], desired_skus: set[str]) -> Plan:
    since = _max_updated(obs.observed.values(), None) or run.started_at - timedelta(minutes=1)
    run.note("verify", 0, len(done))
    unknown: set[str] = set()
    reread_now = await reread(run.shop.calls, run.shop.adapter, done, since, unknown)
    run.note("verify", len(done), len(done))
    with run.tx() as session:
        _record_fresh(session, run, reread_now, desired_skus)
    observed = dict(obs.observed)
    for sku, listing in reread_now.items():
        if listing is None:
            observed.pop(sku, None)
        else:
            observed[sku] = listing
    desired, bindings, _ = _read_state(run, snapshot=False)
    final = plan_shop(run.shop.settings.id, desired, observed, bindings, _policy(run, obs, bindings))
    silent = {(sku, kind) for sku, kind in silent_failures(done, final.drifts) if sku not in unknown}
    run.counters.silent_failures = len({sku for sku, _ in silent})
    with run.tx() as session:
        opened, closed = sync_drift(session, run.shop.settings.id, final.drifts, obs.scope, run.ctx.clock(), silent)
    run.counters.drift_opened += opened
    run.counters.drift_closed += closed
    obs.observed = observed
    return final


def _save_counters(session: Session, run: _Run) -> None:
    counts = run.shop.calls.counts
    run.counters.reads, run.counters.writes = counts.reads, counts.writes
    run.counters.retries, run.counters.throttle_waits = counts.retries, counts.throttle_waits
    row = session.get(SyncRunRow, run.run_id)
    if row is not None:
        row.counters = run.counters.model_dump()
        session.add(row)


def _finish(run: _Run, outcome: RunOutcome, error: str, obs: _Observation | None) -> RunSummary:
    finished = run.ctx.clock()
    with run.tx() as session:
        _save_counters(session, run)
        row = session.get(SyncRunRow, run.run_id)
        assert row is not None
        row.finished_at, row.outcome, row.error = finished, outcome.value, error[:1000]
        session.add(row)
        shop = session.get(ShopRow, run.shop.settings.id)
        assert shop is not None
        _finish_shop(shop, run, outcome, error, obs, finished)
        session.add(shop)
        _store_tokens(session, run, finished)
    return RunSummary(
        run_id=run.run_id,
        shop_id=run.shop.settings.id,
        marketplace=run.shop.settings.marketplace,
        kind=run.kind,
        trigger=RunTrigger(row.trigger),
        started_at=run.started_at,
        finished_at=finished,
        outcome=outcome,
        error=error,
        counters=run.counters,
    )


def _finish_shop(
    shop: ShopRow, run: _Run, outcome: RunOutcome, error: str, obs: _Observation | None, now: datetime
) -> None:
    info = run.shop.adapter.token_info()
    shop.token_expires_at = info.access_expires_at or shop.token_expires_at
    shop.refresh_expires_at = info.refresh_expires_at or shop.refresh_expires_at
    shop.last_error = error[:1000]
    if outcome in (RunOutcome.FAILED, RunOutcome.INTERRUPTED, RunOutcome.BLOCKED):
        return
    shop.last_success_at = now
    if obs is not None:  # watermarks move only after the run's writes committed
        shop.listings_watermark = obs.listings_mark or shop.listings_watermark
        shop.catalog_watermark = obs.catalog_mark or shop.catalog_watermark


def _store_tokens(session: Session, run: _Run, now: datetime) -> None:
    from connector.engine.tokens import TokenVault, save_tokens

    if not run.shop.calls.counts.refreshes:
        return
    vault = TokenVault.from_env()
    tokens = run.shop.adapter.export_tokens()
    if vault is not None and tokens:
        save_tokens(session, vault, run.shop.settings.id, tokens, now)


async def _run_shop(
    ctx: AppContext,
    shop: _Shop,
    *,
    kind: RunKind,
    trigger: RunTrigger,
    force: bool,
    skus: Collection[str] | None,
    fence: Fence | None,
    progress: Progress | None,
    worker: str,
    sales: SalesResult | None,
    catalog: _Catalog | None = None,
) -> RunSummary:
    run_id, started = _start_run(ctx, shop, kind, trigger, worker, fence)
    run = _Run(ctx, shop, run_id, kind, force, fence, progress, started, catalog=catalog or _Catalog())
    obs: _Observation | None = None
    try:
        run.counters.sales_recorded = sales.recorded if sales is not None else 0
        outcome, obs = await _reconcile(run, skus)
        return _finish(run, outcome, "", obs)
    except asyncio.CancelledError:
        _finish(run, RunOutcome.INTERRUPTED, "cancelled", None)
        raise
    except (AdapterError, ConfigError) as exc:
        log.warning("shop %s: run failed: %s", shop.settings.id, exc)
        return _finish(run, RunOutcome.FAILED, f"{type(exc).__name__}: {exc}", None)
    except Exception as exc:  # the documented run boundary: record it, never crash the other shops
        log.exception("shop %s: run failed unexpectedly", shop.settings.id)
        return _finish(run, RunOutcome.FAILED, f"{type(exc).__name__}: {exc}", None)


async def _pull(ctx: AppContext, shop: _Shop, fence: Fence | None) -> SalesResult | None:
    if not type(shop.adapter).capabilities.orders:
        return None
    return await pull_sales(ctx.engine, shop.settings.id, shop.adapter, shop.calls, ctx.clock, fence)


# -- public API -------------------------------------------------------------------------------


async def sync_shop(
    ctx: AppContext,
    shop_id: str,
    *,
    kind: RunKind = RunKind.INCREMENTAL,
    trigger: RunTrigger = RunTrigger.MANUAL,
    force: bool = False,
    dry_run: bool = False,
    skus: Collection[str] | None = None,
    fence: Fence | None = None,
    progress: Progress | None = None,
    worker: str = "",
) -> RunSummary:
    """Run one shop once (observe, pull sales, plan, apply, verify) and return its recorded summary.

    With `dry_run` nothing is written anywhere: the plan is computed and summarised only.
    `skus` limits the run to those SKUs. Never raises for a failure of the shop's run (it is
    recorded); raises ConfigError for an unknown shop and re-raises cancellation.
    """
    if dry_run:
        return await _dry_run(ctx, shop_id, kind=kind, trigger=trigger, force=force, skus=skus)
    shop = _open_shop(ctx, shop_id, fence)
    try:
        return await _run_shop(
            ctx,
            shop,
            kind=kind,
            trigger=trigger,
            force=force,
            skus=skus,
            fence=fence,
            progress=progress,
            worker=worker,
            sales=None,
        )
    finally:
        await shop.http.aclose()


async def sync_shops(
    ctx: AppContext,
    shop_ids: Sequence[str] | None = None,
    *,
    kind: RunKind = RunKind.INCREMENTAL,
    trigger: RunTrigger = RunTrigger.MANUAL,
    force: bool = False,
    dry_run: bool = False,
    skus: Collection[str] | None = None,
    fence: Fence | None = None,
    progress: Callable[[str, str, int, int], None] | None = None,
    worker: str = "",
) -> list[RunSummary]:
    """Run several shops (default: every enabled one): orders of all shops first, then each shop concurrently.

    Pulling every shop's sales before any plan means a sale on one marketplace lowers the
    stock pushed to every other shop in this same run. `progress` also gets the shop id.
    """
    chosen = [s.id for s in ctx.settings.shops if s.enabled and (shop_ids is None or s.id in shop_ids)]
    if dry_run:
        return [await _dry_run(ctx, s, kind=kind, trigger=trigger, force=force, skus=skus) for s in chosen]
    shops = [_open_shop(ctx, s, fence) for s in chosen]
    catalog = _Catalog()  # parsed once for every shop of this call
    try:
        sales: dict[str, SalesResult | BaseException | None] = {}
        for shop in shops:
            try:
                sales[shop.settings.id] = await _pull(ctx, shop, fence)
            except (AdapterError, ConfigError) as exc:
                sales[shop.settings.id] = exc

        async def one(shop: _Shop) -> RunSummary:
            pulled = sales.get(shop.settings.id)
            shop_progress: Progress | None = None
            if progress is not None:
                shop_progress = lambda stage, done, total, sid=shop.settings.id: progress(sid, stage, done, total)  # noqa: E731
            return await _run_shop(
                ctx,
                shop,
                kind=kind,
                trigger=trigger,
                force=force,
                skus=skus,
                fence=fence,
                progress=shop_progress,
                worker=worker,
                sales=pulled if isinstance(pulled, SalesResult) else None,  # a failed pull is retried in the run
                catalog=catalog,
            )

        return list(await asyncio.gather(*(one(s) for s in shops)))
    finally:
        for shop in shops:
            await shop.http.aclose()


async def _dry_run(
    ctx: AppContext, shop_id: str, *, kind: RunKind, trigger: RunTrigger, force: bool, skus: Collection[str] | None
) -> RunSummary:
    started = ctx.clock()
    plan = await plan_for_shop_async(ctx, shop_id, kind=kind, force=force, skus=skus)
    settings = ctx.settings.shop(shop_id)
    outcome = (
        RunOutcome.BLOCKED if plan.guard_blocked else RunOutcome.CONVERGED if not plan.actions else RunOutcome.PARTIAL
    )
    return RunSummary(
        run_id=0,
        shop_id=shop_id,
        marketplace=settings.marketplace,
        kind=kind,
        trigger=trigger,
        started_at=started,
        finished_at=ctx.clock(),
        outcome=outcome,
        error=plan.guard_blocked,
    )


async def plan_for_shop_async(
    ctx: AppContext,
    shop_id: str,
    *,
    kind: RunKind = RunKind.FULL,
    force: bool = False,
    skus: Collection[str] | None = None,
) -> Plan:
    """The plan a run would carry out now, without writing anything (reads the marketplace)."""
    try:
        settings = ctx.settings.shop(shop_id)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    http = ctx.http_client(settings)
    try:
        adapter = ctx.adapter(settings, http)
        caps = type(adapter).capabilities
        rate = shop_rate(caps.requests_per_second, ctx.settings.sync.rate_limit_share, settings.requests_per_second)
        calls = CallPolicy(ctx.settings.retry, ShopLimiter(rate), refresh=adapter.refresh_auth)
        _load_tokens(ctx, settings, adapter)
        shop = _Shop(settings, http, adapter, calls)
        with session_scope(ctx.engine) as session:
            _mirror_shop(session, settings)
        run = _Run(ctx, shop, 0, kind, force, None, None, ctx.clock())
        desired, bindings, snapshot = _read_state(run)
        obs = await _observe(run, desired, bindings, snapshot, skus)
        views = _dry_bindings(bindings, obs, {d.seller_sku for d in desired})
        return plan_shop(shop_id, desired, obs.observed, views, _policy(run, obs, views))
    finally:
        await http.aclose()


def _dry_bindings(
    bindings: dict[str, BindingView], obs: _Observation, desired_skus: set[str]
) -> dict[str, BindingView]:
    """Bindings as a real run would have them after binding what the reads found (nothing is written)."""
    views = dict(bindings)
    for sku, listing in obs.fresh.items():
        if listing is None or (sku not in views and sku not in desired_skus):
            continue
        ref = listing.ref
        base = views.get(sku, BindingView(sku=sku))
        views[sku] = BindingView(
            sku=sku,
            external_id=ref.external_id or base.external_id,
            external_sku_id=ref.external_sku_id or base.external_sku_id,
            request_id=ref.request_id or base.request_id,
            create_intent=False,
            qc_status=listing.qc_status.value,
            qc_reason=listing.qc_reason,
            qc_field=listing.qc_field,
            pushed_content_hash=base.pushed_content_hash,
        )
    return views


def plan_for_shop(ctx: AppContext, shop_id: str, **kwargs: object) -> Plan:
    """Synchronous `plan_for_shop_async` (for the CLI)."""
    return asyncio.run(plan_for_shop_async(ctx, shop_id, **kwargs))  # type: ignore[arg-type]


def dead_actions(ctx: AppContext, shop_id: str | None = None) -> list[ActionRow]:
    """Outbox rows that failed permanently and wait for a person (for reports and the CLI)."""
    with Session(ctx.engine) as session:
        query = select(ActionRow).where(ActionRow.state == ActionState.DEAD.value)
        if shop_id is not None:
            query = query.where(ActionRow.shop_id == shop_id)
        return list(session.exec(query.order_by(col(ActionRow.shop_id), col(ActionRow.sku))))
