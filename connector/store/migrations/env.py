"""Alembic environment: migrates the connection handed over by `connector.store.migrate`.

`target_metadata` is `SQLModel.metadata` with every table of `connector.store.models`, so
`ocop-sync db revision -m MSG` can autogenerate a revision from a model change.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

from connector.store import models  # noqa: F401  (registers the tables)

# One arbitrary 64-bit key: concurrent `upgrade` calls on one PostgreSQL database take turns.
PG_MIGRATION_LOCK = 7_150_419_226_001


def run_migrations_online() -> None:
    """Run the migrations on `config.attributes["connection"]` (a connection inside a transaction)."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through connector.store.upgrade(engine) or `ocop-sync db upgrade`")
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=False,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
