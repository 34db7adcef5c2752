"""Persistence: SQLModel tables, engines and sessions, migrations."""

from connector.store import changes as _changes  # noqa: F401  (registers the catalog change-log hooks)
from connector.store.db import DatabaseBusy, is_busy, is_sqlite, make_engine, read_only, session_scope
from connector.store.migrate import upgrade

__all__ = ["DatabaseBusy", "is_busy", "is_sqlite", "make_engine", "read_only", "session_scope", "upgrade"]
