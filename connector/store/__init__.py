"""Persistence: SQLModel tables, engines and sessions, migrations."""

from connector.store.db import is_sqlite, make_engine, session_scope
from connector.store.migrate import upgrade

__all__ = ["is_sqlite", "make_engine", "session_scope", "upgrade"]
