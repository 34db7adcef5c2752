"""Reading and writing the canonical catalog in the store, and the catalog change log.

The store keeps each producer and product as its full JSON (`data`) next to the columns
queries need. Writes go through here so the projections, the content hash and `updated_at`
stay consistent: an unchanged record is never rewritten, so its `updated_at` does not move. Every
change to a product — an edit, an import, a sale — bumps its `row_version` and records the product
as it now is in `product_revision` (kept `REVISION_RETENTION`), so an import of an older export can
be merged against what its author saw instead of undoing what happened since.

Change detection does not use `updated_at` (a stamp taken before commit can land below a
watermark that a shorter, later-starting transaction already moved past): every committed
product write enters the commit-ordered change log (`connector.store.changes`), read with
`changes_after(position)`; a long import also restamps its rows at commit (`stamp_at_commit`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from connector.catalog.ledger import MoveKind, record_move
from connector.store.changes import changes_after, latest_change, stamp_at_commit
from connector.store.models import ProducerRow, ProductRevisionRow, ProductRow
from schemas.catalog import Producer, Product

__all__ = [
    "UnknownSkuError",
    "UpsertCounts",
    "adjust_stock",
    "changes_after",
    "latest_change",
    "producer_hash",
    "products_changed_since",
    "read_producers",
    "read_products",
    "set_product",
    "stamp_at_commit",
    "upsert_catalog",
]


@dataclass(frozen=True)
class UpsertCounts:
    """How many records an upsert inserted, changed, and left untouched."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )

    @property
    def total(self) -> int:
        """Every record the upsert looked at."""
        return self.inserted + self.updated + self.unchanged


class UnknownSkuError(KeyError):
    """The catalog has no product with this SKU."""


REVISION_RETENTION = timedelta(days=90)


def producer_hash(producer: Producer) -> str:
    """A stable hash of every field of `producer` (same recipe as `Product.content_hash`)."""
    payload = json.dumps(producer.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _fill_producer(row: ProducerRow, producer: Producer, digest: str, now: datetime) -> None:
    row.name = producer.name
    row.type = producer.type.value
    row.province = producer.address_current.province
    row.contact_email = producer.contact_email
    row.data = producer.model_dump(mode="json")
    row.content_hash = digest
    row.updated_at = now


def _fill_product(row: ProductRow, product: Product, digest: str, now: datetime) -> None:
    row.producer_id = product.producer_id
    row.name = product.name
    row.product_set = product.product_set
    row.stars = product.stars
    row.potential_5 = product.potential_5
    row.cert_valid_until = product.certificate.expires
    row.price_vnd = product.price_vnd
    row.stock = product.stock
    row.active = product.active
    row.data = product.model_dump(mode="json")
    row.content_hash = digest
    row.updated_at = now


def _record_revision(session: Session, row: ProductRow, now: datetime) -> None:
    """Bump the product's version and keep the product as it now is; drop revisions past retention."""
    row.row_version = (row.row_version or 0) + 1
    session.add(ProductRevisionRow(sku=row.sku, version=row.row_version, data=row.data, recorded_at=now))
    session.exec(
        delete(ProductRevisionRow).where(
            col(ProductRevisionRow.sku) == row.sku,
            col(ProductRevisionRow.recorded_at) < now - REVISION_RETENTION,
            col(ProductRevisionRow.version) < row.row_version,
        )
    )


def _upsert_producer(session: Session, producer: Producer, now: datetime) -> UpsertCounts:
    digest = producer_hash(producer)
    row = session.get(ProducerRow, producer.id)
    if row is None:
        row = ProducerRow(id=producer.id, name=producer.name, type=producer.type.value, data={}, updated_at=now)
        _fill_producer(row, producer, digest, now)
        session.add(row)
        return UpsertCounts(inserted=1)
    if row.content_hash == digest:
        return UpsertCounts(unchanged=1)
    _fill_producer(row, producer, digest, now)
    session.add(row)
    return UpsertCounts(updated=1)


def _upsert_product(session: Session, product: Product, now: datetime, kind: MoveKind) -> UpsertCounts:
    digest = product.content_hash()
    # the row lock (PostgreSQL; SQLite writers are already serial) makes the version bump and the stock
    # move read the row as committed now, so two writers never both take version n+1
    row = session.get(ProductRow, product.sku, with_for_update=True, populate_existing=True)
    if row is None:
        row = _new_product_row(product, digest, now)
        # a SKU deleted and created again continues its numbering: an old export never matches the new product
        row.row_version = (
            session.exec(
                select(func.max(ProductRevisionRow.version)).where(col(ProductRevisionRow.sku) == product.sku)
            ).one()
            or 0
        )
        _record_revision(session, row, now)
        session.add(row)
        if product.stock:
            record_move(session, product.sku, kind, product.stock, product.stock, now, note="new product")
        return UpsertCounts(inserted=1)
    if row.content_hash == digest:
        return UpsertCounts(unchanged=1)
    if product.stock != row.stock:
        record_move(session, product.sku, kind, product.stock - row.stock, product.stock, now)
    _fill_product(row, product, digest, now)
    _record_revision(session, row, now)
    session.add(row)
    return UpsertCounts(updated=1)


def _new_product_row(product: Product, digest: str, now: datetime) -> ProductRow:
    row = ProductRow(
        sku=product.sku,
        producer_id=product.producer_id,
        name=product.name,
        product_set=product.product_set,
        stars=product.stars,
        cert_valid_until=product.certificate.expires,
        price_vnd=product.price_vnd,
        stock=product.stock,
        data={},
        content_hash=digest,
        updated_at=now,
    )
    _fill_product(row, product, digest, now)
    return row


def upsert_catalog(
    session: Session, producers: Sequence[Producer], products: Sequence[Product], now: datetime
) -> UpsertCounts:
    """Insert or update producers (by id) then products (by SKU); unchanged records are not touched.

    The returned counts cover producers and products together. Producers are flushed first so
    products may reference producers introduced in the same call.
    """
    counts = UpsertCounts()
    for producer in producers:
        counts += _upsert_producer(session, producer, now)
    session.flush()
    for product in products:
        counts += _upsert_product(session, product, now, MoveKind.IMPORT)
    session.flush()
    return counts


def _product_of(row: ProductRow) -> Product:
    return Product.model_validate(row.data)


def _producer_of(row: ProducerRow) -> Producer:
    return Producer.model_validate(row.data)


def read_products(session: Session, skus: Iterable[str] | None = None) -> list[Product]:
    """Products in the catalog (all, or those whose SKU is in `skus`), sorted by SKU."""
    query = select(ProductRow).order_by(col(ProductRow.sku))
    if skus is not None:
        wanted = sorted(set(skus))
        if not wanted:
            return []
        query = query.where(col(ProductRow.sku).in_(wanted))
    return [_product_of(row) for row in session.exec(query)]


def read_producers(session: Session, ids: Iterable[str] | None = None) -> list[Producer]:
    """Producers in the catalog (all, or those whose id is in `ids`), sorted by id."""
    query = select(ProducerRow).order_by(col(ProducerRow.id))
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        query = query.where(col(ProducerRow.id).in_(wanted))
    return [_producer_of(row) for row in session.exec(query)]


def products_changed_since(session: Session, since: datetime | None) -> list[Product]:
    """Products whose record changed strictly after `since` (all when `since` is None), sorted by SKU."""
    query = select(ProductRow).order_by(col(ProductRow.sku))
    if since is not None:
        query = query.where(col(ProductRow.updated_at) > since)
    return [_product_of(row) for row in session.exec(query)]


def set_product(session: Session, product: Product, now: datetime) -> None:
    """Write one product (an API or catalog edit); a no-op when nothing changed."""
    _upsert_product(session, product, now, MoveKind.MANUAL)
    session.flush()


def adjust_stock(session: Session, sku: str, delta: int, now: datetime) -> tuple[int, int]:
    """Add `delta` to the product's stock, never going below zero; return (applied delta, new stock).

    The caller records the movement in the ledger (it knows the source: which order line).

    Raises `UnknownSkuError` when the SKU is not in the catalog.
    """
    row = session.get(ProductRow, sku, with_for_update=True, populate_existing=True)
    if row is None:
        raise UnknownSkuError(sku)
    new_stock = max(0, row.stock + delta)
    applied = new_stock - row.stock
    if applied == 0:
        return 0, row.stock
    data: dict[str, Any] = dict(row.data)
    data["stock"] = new_stock
    product = Product.model_validate(data)
    _fill_product(row, product, product.content_hash(), now)
    _record_revision(session, row, now)
    session.add(row)
    session.flush()
    return applied, new_stock


def product_versions(session: Session, skus: Iterable[str] | None = None) -> dict[str, int]:
    """The current `row_version` of each product (all, or those whose SKU is in `skus`)."""
    query = select(ProductRow.sku, ProductRow.row_version)
    if skus is not None:
        query = query.where(col(ProductRow.sku).in_(sorted(set(skus))))
    return {sku: int(version) for sku, version in session.exec(query).all()}


def product_at_version(session: Session, sku: str, version: int) -> Product | None:
    """The product as it was at `version`, or None when that revision is not (or no longer) kept."""
    row = session.get(ProductRevisionRow, (sku, version))
    return None if row is None else Product.model_validate(row.data)
