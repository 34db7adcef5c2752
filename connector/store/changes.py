"""The catalog change log: every committed product change, in commit order.

Why not `updated_at`: a stamp is taken before its transaction commits, so a 15 s import stamped
at its start commits rows *below* a watermark that a small edit, started later and committed
earlier, already moved past; those rows were never seen. Positions fix that:

- Any ORM write to a product (insert, update; a producer update counts for all its products)
  notes the SKU on its session. At commit (`before_commit`, after the final flush) the session
  appends one `catalog_change` row per noted SKU.
- Catalog commits are serialised around that append: on PostgreSQL a transaction advisory lock
  (the transaction's last lock, held to its commit, so it cannot take part in a deadlock with
  row locks); on SQLite there is only one writer. Ids are drawn under that lock, so they commit
  in id order and the *safe horizon* is simply the newest visible id: once id N is visible,
  no change with a smaller id can still commit.
- Readers keep a position and read `changes_after(position)` in id order; a limit splits only
  between rows (each row is one position), so batches taken until none is left miss nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session, object_session
from sqlmodel import col

from connector.clock import utcnow
from connector.store.models import CatalogChangeRow, ProducerRow, ProductRow

__all__ = ["changes_after", "latest_change", "note_changes", "stamp_at_commit"]

_NOTED = "ocop_sync.catalog_changes"  # session.info: SKUs changed in the open transaction
_STAMP_AT_COMMIT = "ocop_sync.stamp_at_commit"  # session.info: restamp changed rows' updated_at at commit
_CHUNK = 500


def note_changes(session: Session, skus: Iterable[str]) -> None:
    """Record that this transaction changed `skus`; they enter the change log when it commits."""
    session.info.setdefault(_NOTED, set()).update(skus)


def stamp_at_commit(session: Session) -> None:
    """Make this transaction's changed products carry its commit time in `updated_at` (long imports)."""
    session.info[_STAMP_AT_COMMIT] = True


def latest_change(session: Session) -> int:
    """The safe horizon: the newest visible change position (0 for an empty log)."""
    return int(session.execute(select(func.max(col(CatalogChangeRow.id)))).scalar_one_or_none() or 0)


def changes_after(session: Session, position: int, limit: int | None = None) -> list[tuple[int, str]]:
    """(position, SKU) of the changes after `position`, oldest first; at most `limit` rows."""
    query = (
        select(col(CatalogChangeRow.id), col(CatalogChangeRow.sku))
        .where(col(CatalogChangeRow.id) > position)
        .order_by(col(CatalogChangeRow.id))
    )
    if limit is not None:
        query = query.limit(limit)
    return [(int(i or 0), str(sku)) for i, sku in session.execute(query)]


def _product_written(_mapper: Mapper[Any], _connection: Connection, target: ProductRow) -> None:
    session = object_session(target)
    if session is not None:
        note_changes(session, [target.sku])


def _producer_written(_mapper: Mapper[Any], connection: Connection, target: ProducerRow) -> None:
    session = object_session(target)
    if session is not None:
        skus = connection.execute(select(col(ProductRow.sku)).where(col(ProductRow.producer_id) == target.id)).scalars()
        note_changes(session, skus)


def _log_noted(session: Session) -> None:
    """At commit: serialise catalog commits and append the noted SKUs to the log (and restamp, if asked)."""
    if session.new or session.dirty:
        session.flush()  # the last writes note their SKUs too
    noted: set[str] = session.info.pop(_NOTED, set())
    restamp = session.info.pop(_STAMP_AT_COMMIT, False)
    if not noted:
        return
    if session.get_bind().dialect.name == "postgresql":
        # The last lock this transaction takes, held until it commits: change ids commit in id order.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.catalog_change'))"))
    skus = sorted(noted)
    now = utcnow()
    session.execute(insert(CatalogChangeRow), [{"sku": sku, "changed_at": now} for sku in skus])
    if restamp:
        for start in range(0, len(skus), _CHUNK):
            chunk = skus[start : start + _CHUNK]
            session.execute(update(ProductRow).where(col(ProductRow.sku).in_(chunk)).values(updated_at=now))


def _forget_noted(session: Session) -> None:
    session.info.pop(_NOTED, None)
    session.info.pop(_STAMP_AT_COMMIT, None)


event.listen(ProductRow, "after_insert", _product_written)
event.listen(ProductRow, "after_update", _product_written)
event.listen(ProducerRow, "after_update", _producer_written)
event.listen(Session, "before_commit", _log_noted)
event.listen(Session, "after_rollback", _forget_noted)
