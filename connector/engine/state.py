"""A run's view of the store: the parsed catalog, desired listings, bindings and the last observed listings.

`Run` is one shop's run in progress (its context, counters and caches); `read_state` gives
the plan its inputs, `record_fresh` binds and records what the marketplace reads found.
Reads use plain column rows where a large shop would otherwise build thousands of ORM objects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from connector.context import AppContext
from connector.engine.bindings import binding_view, load_bindings, record_observation
from connector.engine.desired import ContentMemo, desired_listings
from connector.engine.plan import BindingView
from connector.engine.shop import Fence, OpenShop, Progress, today
from connector.settings import ShopSettings
from connector.store import read_only, session_scope
from connector.store.models import BindingRow, ProducerRow, ProductRow
from schemas.catalog import Producer, Product
from schemas.listing import Listing, ListingStatus
from schemas.sync import DesiredListing, RunCounters, RunKind

__all__ = ["CatalogCache", "DesiredMemo", "Run", "Snapshot", "chunks", "read_state", "record_fresh", "record_read"]

RECORD_BATCH = 500  # SKUs recorded per write transaction (SQLite has one writer; the daemon writes too)


def chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """`items` in slices of at most `size` (bounded IN lists)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class CatalogCache:
    """The catalog parsed once per sync call and re-read only where a record's content hash changed.

    Shared by the shops of one `sync_shops` call (one event loop, no await inside `refresh`).
    Each entry keeps the hash read with its data, so a record changed while we read is simply
    re-read at the next refresh.
    """

    products: dict[str, tuple[str, Product]] = field(default_factory=dict)
    producers: dict[str, tuple[str, Producer]] = field(default_factory=dict)
    contents: ContentMemo = field(default_factory=ContentMemo)  # listing content by product, for every shop

    def refresh(self, session: Session, producer_id: str | None = None) -> None:
        """Bring the parsed catalog up to date with the store (only one producer's records when `producer_id`).

        A producer's shop needs only its producer's products: at 2,000 producer shops of 10 SKUs
        (bench (g)) parsing the whole catalog for each run was most of the run.
        """
        hash_query = select(ProductRow.sku, ProductRow.content_hash)
        if producer_id is not None:
            hash_query = hash_query.where(ProductRow.producer_id == producer_id)
        hashes = dict(session.exec(hash_query).all())
        mine = (
            set(self.products)
            if producer_id is None
            else {sku for sku, (_, p) in self.products.items() if p.producer_id == producer_id}
        )
        for sku in mine - set(hashes):
            del self.products[sku]
            self.contents.by_sku.pop(sku, None)
        stale = sorted(sku for sku, digest in hashes.items() if self.products.get(sku, ("",))[0] != digest)
        if len(stale) == len(hashes) and producer_id is None:
            rows: Iterable[ProductRow] = session.exec(select(ProductRow))
        else:
            rows = (
                r
                for chunk in chunks(stale)
                for r in session.exec(select(ProductRow).where(col(ProductRow.sku).in_(chunk)))
            )
        for row in rows:
            self.products[row.sku] = (row.content_hash, Product.model_validate(row.data))
        producer_query = select(ProducerRow)
        if producer_id is not None:
            producer_query = producer_query.where(ProducerRow.id == producer_id)
        fresh = {
            r.id: cached
            if (cached := self.producers.get(r.id)) is not None and cached[0] == r.content_hash
            else (r.content_hash, Producer.model_validate(r.data))
            for r in session.exec(producer_query)
        }
        if producer_id is None:
            self.producers = fresh
        else:
            self.producers = {**{k: v for k, v in self.producers.items() if k != producer_id}, **fresh}


@dataclass
class DesiredMemo:
    """One shop's desired listings, recomputed only for products (or producers) whose hash changed."""

    day: date | None = None
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # sku -> (product hash, producer hash)
    by_sku: dict[str, DesiredListing] = field(default_factory=dict)

    def update(self, catalog: CatalogCache, shop: ShopSettings, today: date) -> list[DesiredListing]:
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
            for d in desired_listings(stale, producers, shop, today, catalog.contents):
                self.by_sku[d.seller_sku] = d
        return [self.by_sku[sku] for sku in sorted(self.by_sku)]


class Snapshot(Mapping[str, Listing]):
    """The shop's last observed listings by SKU, each parsed from its stored JSON only when looked at.

    A full run only needs to know which SKUs were seen before, an incremental one only the
    listings in its scope, so most of a large shop's snapshot is never parsed.
    """

    def __init__(
        self, raw: dict[str, Mapping[str, Any]], statuses: dict[str, str], absent: frozenset[str] = frozenset()
    ) -> None:
        self._raw = raw
        self._statuses = statuses
        self._parsed: dict[str, Listing] = {}
        self.absent = absent  # SKUs a read looked for and did not find (bindings observed as "no listing")

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


@dataclass
class Run:
    """One shop's run in progress: what it was asked to do, its counters and its catalog caches."""

    ctx: AppContext
    shop: OpenShop
    run_id: int
    kind: RunKind
    force: bool
    fence: Fence | None
    progress: Progress | None
    started_at: datetime
    counters: RunCounters = field(default_factory=RunCounters)
    catalog: CatalogCache = field(default_factory=CatalogCache)
    desired: DesiredMemo = field(default_factory=DesiredMemo)
    # OCOP product set -> attributes its mapped marketplace category requires (from the category cache)
    required_by_set: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """A write transaction, fenced first."""
        with session_scope(self.ctx.engine) as session:
            if self.fence is not None:
                self.fence(session)
            yield session

    def note(self, stage: str, done: int, total: int) -> None:
        """Report progress of a stage, if anyone listens."""
        if self.progress is not None:
            self.progress(stage, done, total)


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


def _snapshot(session: Session, shop_id: str) -> Snapshot:
    query = select(BindingRow.sku, BindingRow.status, BindingRow.observed, BindingRow.last_observed_at).where(
        BindingRow.shop_id == shop_id
    )
    raw: dict[str, Mapping[str, Any]] = {}
    statuses: dict[str, str] = {}
    absent: set[str] = set()
    for sku, status, observed, seen_at in session.exec(query):
        if observed:
            raw[sku], statuses[sku] = observed, status
        elif seen_at is not None:
            absent.add(sku)
    return Snapshot(raw, statuses, frozenset(absent))


def read_state(run: Run, *, snapshot: bool = True) -> tuple[list[DesiredListing], dict[str, BindingView], Snapshot]:
    """Desired listings, binding views and (with `snapshot`) the last observed listings of the shop."""
    shop_id = run.shop.settings.id
    with Session(read_only(run.ctx.engine)) as session:  # parsing the catalog holds no write lock
        run.catalog.refresh(session, run.shop.settings.producer_id)
        views = _binding_views(session, shop_id)
        observed = _snapshot(session, shop_id) if snapshot else Snapshot({}, {})
    desired = run.desired.update(run.catalog, run.shop.settings, today(run.ctx))
    return desired, views, observed


def _bindings_of(session: Session, shop_id: str, skus: Collection[str]) -> dict[str, BindingRow]:
    """The bindings of `skus` on the shop (all of the shop's when that is cheaper)."""
    if len(skus) > 2_000:
        return load_bindings(session, shop_id)
    rows: dict[str, BindingRow] = {}
    for chunk in chunks(sorted(skus)):
        query = select(BindingRow).where(BindingRow.shop_id == shop_id, col(BindingRow.sku).in_(chunk))
        rows.update((r.sku, r) for r in session.exec(query))
    return rows


def record_read(run: Run, fresh: dict[str, Listing | None], desired_skus: set[str]) -> None:
    """`record_fresh` in short fenced write transactions of at most `RECORD_BATCH` SKUs each.

    A first full run of a 20,000-listing shop recorded in one transaction held SQLite's write lock
    for many seconds: the daemon's heartbeats, claims and scheduler writes timed out behind it.
    Each binding is recorded on its own merits, so batches committed one by one are as good.
    """
    skus = sorted(fresh)
    for start in range(0, len(skus), RECORD_BATCH):
        with run.tx() as session:
            record_fresh(session, run, {sku: fresh[sku] for sku in skus[start : start + RECORD_BATCH]}, desired_skus)


def record_fresh(session: Session, run: Run, fresh: dict[str, Listing | None], desired_skus: set[str]) -> None:
    """Record what the reads found on each binding, binding new listings of SKUs we own (never orphans)."""
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
            if sku not in desired_skus:
                continue  # never bind what we do not own (orphans)
            # A SKU of ours the read did not find gets a row too, observed as "no listing" at `now`:
            # later incremental runs then know it is absent (the since-feed shows it if it appears),
            # instead of reading the shop again for it (bench (i): 13,500 imported inactive products).
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
