"""Database engines and sessions: SQLite (WAL, busy timeout, foreign keys, IMMEDIATE writes) or PostgreSQL.

On SQLite every transaction begins IMMEDIATE (takes the write lock at once, so writers queue
instead of deadlocking) and waits up to `lock_timeout_s` for it; a `read_only` view of an
engine begins deferred instead and never waits for a writer (WAL readers see the last commit).
When the lock stays taken, `DatabaseBusy` is raised: an expected operational condition.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

DEFAULT_LOCK_TIMEOUT_S = 10.0
QUICK_TRY_MS = 100  # how long the first attempt at the write lock waits before `on_lock_wait` is told
READ_ONLY_OPTION = "ocop_read_only"

LockWait = Callable[[float], None]


class DatabaseBusy(OperationalError):
    """Another process held the SQLite write lock for longer than the configured wait.

    An `OperationalError` (so code that handles database errors handles this one alike),
    carrying how long it waited.
    """

    def __init__(self, waited_s: float, orig: BaseException | None) -> None:
        super().__init__("BEGIN IMMEDIATE", None, orig or RuntimeError("database is locked"))
        self.waited_s = waited_s


def is_busy(exc: BaseException) -> bool:
    """True for a database error meaning "locked by another writer" (SQLite busy/locked)."""
    if isinstance(exc, DatabaseBusy):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, OperationalError) and ("database is locked" in text or "database is busy" in text)


def read_only(engine: Engine) -> Engine:
    """A view of `engine` for code that only reads: on SQLite its transactions never wait for the write lock."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def is_sqlite(engine: Engine) -> bool:
    """True when `engine` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def create_private_file(path: Path) -> None:
    """Make sure `path` exists readable by its owner only (0600), in a new directory made 0700.

    The database holds token hashes, sessions and encrypted marketplace tokens: no other local user
    should read it. SQLite gives its -wal and -shm files the database file's mode.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


def make_engine(
    url: str,
    *,
    echo: bool = False,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    on_lock_wait: LockWait | None = None,
) -> Engine:
    """Create an engine for `url`, configured for concurrent use by the daemon and the CLI.

    On SQLite a transaction waits up to `lock_timeout_s` for the write lock, then raises
    `DatabaseBusy`; `on_lock_wait(lock_timeout_s)` is called when a wait begins (e.g. to say so).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if "///" in url and path and path != ":memory:" and not path.startswith("file:") and "?" not in path:
            create_private_file(Path(path))
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": lock_timeout_s},
        )
        _configure_sqlite(engine, lock_timeout_s, on_lock_wait)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _configure_sqlite(engine: Engine, lock_timeout_s: float, on_lock_wait: LockWait | None) -> None:
    """WAL, busy timeout and foreign keys per connection; BEGIN IMMEDIATE so writers queue, not deadlock."""
    busy_ms = max(1, int(lock_timeout_s * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")  # deferred: a reader never waits for the write lock
            return
        if on_lock_wait is not None and busy_ms > QUICK_TRY_MS:
            try:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={QUICK_TRY_MS}")
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if not is_busy(exc):
                    raise
                on_lock_wait(lock_timeout_s)  # somebody else writes: say that we wait, then wait
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms}")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:
            if is_busy(exc):
                raise DatabaseBusy(lock_timeout_s, exc.orig) from exc
            raise


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
