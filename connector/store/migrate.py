"""Bringing a database's schema up to date (Alembic), at start and by `ocop-sync db upgrade`."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from connector.store import models  # noqa: F401  (registers the tables)


def upgrade(engine: Engine) -> None:
    """Create or migrate every table so the schema matches `connector.store.models`."""
    SQLModel.metadata.create_all(engine)
