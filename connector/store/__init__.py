"""Persistence: SQLModel tables, engines and sessions, migrations."""

from connector.store.db import DatabaseBusy, is_busy, is_sqlite, make_engine, read_only, session_scope
from connector.store.migrate import upgrade

__all__ = ["DatabaseBusy", "is_busy", "is_sqlite", "make_engine", "read_only", "session_scope", "upgrade"]
