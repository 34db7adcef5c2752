"""Bindings (product x shop) in the store: the marketplace's ids, what we observed and what we pushed.

The binding is how a run remembers a listing between runs: the last observed listing (so
incremental runs plan without re-reading everything), the ids the marketplace gave us, the
review state, and the unresolved create intent that forces a look-up before any re-create.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from connector.engine.desired import content_hash, same_pushed_content
from connector.engine.plan import BindingView
from connector.store.models import BindingRow
from schemas.listing import Listing, ListingRef, QcStatus

__all__ = [
    "binding_view",
    "get_or_create",
    "load_bindings",
    "observed_of",
    "record_observation",
    "record_ref",
]


def load_bindings(session: Session, shop_id: str) -> dict[str, BindingRow]:
    """Every binding of one shop, by SKU."""
    rows = session.exec(select(BindingRow).where(BindingRow.shop_id == shop_id).order_by(col(BindingRow.sku)))
    return {row.sku: row for row in rows}


def get_or_create(session: Session, shop_id: str, sku: str) -> BindingRow:
    """The binding of `sku` on `shop_id`, created (and flushed) when missing."""
    row = session.exec(select(BindingRow).where(BindingRow.shop_id == shop_id, BindingRow.sku == sku)).first()
    if row is None:
        row = BindingRow(shop_id=shop_id, sku=sku)
        session.add(row)
        session.flush()
    return row


def binding_view(row: BindingRow) -> BindingView:
    """The immutable view of a binding the plan works with."""
    return BindingView(
        sku=row.sku,
        external_id=row.external_id,
        external_sku_id=row.external_sku_id,
        request_id=row.request_id,
        create_intent=row.create_intent_at is not None,
        qc_status=row.qc_status,
        qc_reason=row.qc_reason,
        qc_field=row.qc_field,
        pushed_content_hash=row.pushed_content_hash,
    )


def observed_of(row: BindingRow) -> Listing | None:
    """The listing as last observed, or None when never seen (or seen gone)."""
    return Listing.model_validate(row.observed) if row.observed else None


def record_ref(row: BindingRow, ref: ListingRef) -> None:
    """Keep the marketplace ids of a listing (never erasing ones we already hold)."""
    row.external_id = ref.external_id or row.external_id
    row.external_sku_id = ref.external_sku_id or row.external_sku_id
    row.request_id = ref.request_id or row.request_id


def record_observation(row: BindingRow, listing: Listing | None, now: datetime, *, reviewed_content: bool) -> None:
    """Store what the marketplace showed for this SKU (None = it has no such listing)."""
    row.last_observed_at = now
    if listing is None:
        row.observed = None
        row.status = ""
        return
    record_ref(row, listing.ref)
    row.observed = listing.model_dump(mode="json")
    row.status = listing.status.value
    row.observed_price, row.observed_stock = listing.price_vnd, listing.stock
    row.observed_title = listing.content.title
    row.observed_content_hash = content_hash(listing.content)
    awaiting_update = (
        reviewed_content
        and row.qc_status == QcStatus.PENDING
        and row.pushed_content_hash
        and not same_pushed_content(row.pushed_content_hash, listing.content, row.observed_content_hash)
        and listing.qc_status == QcStatus.APPROVED
    )
    if awaiting_update:
        return  # a content update is under review; the live listing still shows the old content
    if listing.qc_status.value != row.qc_status or listing.qc_reason != row.qc_reason:
        row.qc_since = now
    row.qc_status, row.qc_reason, row.qc_field = listing.qc_status.value, listing.qc_reason, listing.qc_field


def skus_with_intents(rows: Iterable[BindingRow]) -> list[str]:
    """SKUs whose create outcome is unknown (an intent was recorded and not resolved)."""
    return sorted(r.sku for r in rows if r.create_intent_at is not None)
