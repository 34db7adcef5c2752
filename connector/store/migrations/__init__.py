"""Alembic migrations for the store; applied by `connector.store.upgrade` (no alembic.ini needed)."""
