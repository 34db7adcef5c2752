"""Database engines and sessions: SQLite (WAL, busy timeout, foreign keys, IMMEDIATE writes) or PostgreSQL.

On SQLite every transaction begins IMMEDIATE (takes the write lock at once, so writers queue
instead of deadlocking) and waits up to `lock_timeout_s` for it; a `read_only` view of an
engine begins deferred instead and never waits for a writer (WAL readers see the last commit).
When the lock stays taken, `DatabaseBusy` is raised: an expected operational condition.

Within one process, write transactions on a SQLite file also queue at a first-come,
first-served `WriterGate` before `BEGIN IMMEDIATE`. SQLite's own busy handler polls (sleeping
up to 100 ms between tries), so a thread that writes back to back (a shop run on the engine's
loop thread) could take the lock again and again before a waiting thread (the daemon's
heartbeat or claim) woke up: the waiter then failed with "database is locked" after its full
timeout although the lock was free most of that time. The gate hands the lock over in arrival
order; the busy handler is left to deal with other processes (a CLI import) only.
"""

from __future__ import annotations

import os
import threading
from collections import deque
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
_GATED = "ocop_writer_gate"  # connection.info: this connection's open transaction holds the gate

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


class WriterGate:
    """A first-come, first-served lock for the write transactions of one SQLite file in this process."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._queue: deque[threading.Lock] = deque()

    def acquire(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for our turn; False when it did not come."""
        with self._mutex:
            if not self._held and not self._queue:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        if turn.acquire(timeout=max(0.0, timeout_s)):
            return True  # handed over by `release`
        with self._mutex:
            if turn in self._queue:
                self._queue.remove(turn)
                return False
        return True  # handed over just as the wait ran out: ours now

    def release(self) -> None:
        """End our turn: hand the gate to the longest waiter, or open it."""
        with self._mutex:
            if self._queue:
                self._queue.popleft().release()
            else:
                self._held = False


_gates: dict[str, WriterGate] = {}
_gates_mutex = threading.Lock()


def writer_gate(key: str) -> WriterGate:
    """The process-wide writer gate of one SQLite file (by its path)."""
    with _gates_mutex:
        return _gates.setdefault(key, WriterGate())


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
        gate_key = os.path.realpath(path) if path and path != ":memory:" else f"engine:{id(engine)}"
        _configure_sqlite(engine, lock_timeout_s, on_lock_wait, writer_gate(gate_key))
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _configure_sqlite(engine: Engine, lock_timeout_s: float, on_lock_wait: LockWait | None, gate: WriterGate) -> None:
    """WAL, busy timeout and foreign keys per connection; the writer gate, then BEGIN IMMEDIATE, so writers queue."""
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
        told = _enter_gate(gate, lock_timeout_s, on_lock_wait)
        connection.info[_GATED] = True
        try:
            _begin_immediate(connection, busy_ms, lock_timeout_s, None if told else on_lock_wait)
        except BaseException:
            _leave_gate(connection, gate)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(connection: Any) -> None:
        _leave_gate(connection, gate)

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Any) -> None:
        if not connection.invalidated:  # an invalidated one gave its turn back when it was invalidated
            _leave_gate(connection, gate)

    # a connection given back or dropped with its transaction still open (never a leaked turn)
    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            _leave_gate(record, gate)

    @event.listens_for(engine.pool, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
        _leave_gate(record, gate)


def _enter_gate(gate: WriterGate, lock_timeout_s: float, on_lock_wait: LockWait | None) -> bool:
    """Wait for this process's turn to write; True when `on_lock_wait` was told (the wait took a while)."""
    if on_lock_wait is not None and lock_timeout_s * 1000 > QUICK_TRY_MS:
        if gate.acquire(QUICK_TRY_MS / 1000):
            return False
        on_lock_wait(lock_timeout_s)
        if gate.acquire(lock_timeout_s):
            return True
        raise DatabaseBusy(lock_timeout_s, None)
    if not gate.acquire(lock_timeout_s):
        raise DatabaseBusy(lock_timeout_s, None)
    return False


def _leave_gate(holder: Any, gate: WriterGate) -> None:
    """Give the gate back if `holder` (a connection or its pool record) took it for its transaction."""
    if holder.info.pop(_GATED, False):
        gate.release()


def _begin_immediate(connection: Any, busy_ms: int, lock_timeout_s: float, on_lock_wait: LockWait | None) -> None:
    """BEGIN IMMEDIATE, waiting up to the busy timeout for another process's write lock."""
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
