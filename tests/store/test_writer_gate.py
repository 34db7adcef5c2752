"""SQLite writers in one process take turns in arrival order (`connector.store.db.WriterGate`).

Without the gate, a thread committing back to back (a shop run on the engine's loop thread)
starved a writer waiting in SQLite's polling busy handler: it failed with "database is locked"
after its whole timeout although the lock was free between the other thread's transactions.
A transaction that ends any way at all (commit, rollback, closed, invalidated) gives its turn back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from connector.store import make_engine

LOCK_TIMEOUT_S = 2.0


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite engine with a short lock timeout and a one-column table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}", lock_timeout_s=LOCK_TIMEOUT_S)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def _write(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})


def test_a_waiting_writer_gets_its_turn_beside_a_thread_writing_back_to_back(engine: Engine) -> None:
    stop = threading.Event()
    hog_writes = 0

    def hog() -> None:  # transactions of ~20 ms of work each, the next one begun as soon as one commits
        nonlocal hog_writes
        while not stop.is_set():
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t (n) VALUES (-1)"))
                time.sleep(0.02)
            hog_writes += 1

    thread = threading.Thread(target=hog, name="hog", daemon=True)
    thread.start()
    waits: list[float] = []
    try:
        time.sleep(0.1)
        for n in range(10):
            started = time.monotonic()
            _write(engine, n)  # without the gate: DatabaseBusy after LOCK_TIMEOUT_S
            waits.append(time.monotonic() - started)
            time.sleep(0.03)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert hog_writes >= 5  # the other thread really did write back to back meanwhile
    assert max(waits) < LOCK_TIMEOUT_S / 2, waits


def test_a_turn_is_given_back_however_the_transaction_ends(engine: Engine) -> None:
    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t (n) VALUES (1)"))
    conn.close()  # closed with its transaction open: rolled back
    _write(engine, 2)

    conn = engine.connect()
    transaction = conn.begin()
    conn.invalidate()  # the connection dropped mid-transaction: its turn is given back at once
    _write(engine, 3)
    transaction.rollback()
    conn.close()

    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t (n) VALUES (4)"))
        raise RuntimeError("rolled back")
    started = time.monotonic()
    _write(engine, 5)
    assert time.monotonic() - started < LOCK_TIMEOUT_S / 2
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT n FROM t ORDER BY n"))] == [2, 3, 5]
