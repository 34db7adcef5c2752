"""Named leases with an epoch fencing token: the scheduler leader and each shop's worker.

A lease is a row `lease(name, holder, epoch, expires_at)`. Taking it over (free or expired)
bumps `epoch`; renewing it requires the same holder *and* epoch. A holder that was paused past
its expiry (GC, SIGSTOP, network partition) still believes it holds the lease; `check_fence`,
called inside every write transaction, re-reads the row (`SELECT ... FOR UPDATE` on PostgreSQL)
and raises `StaleLeaseError` when the epoch moved on, so the stale holder's writes roll back.

On SQLite one daemon owns the file (see `DaemonFileLock`), so the same code runs there with
no contention; the file lock is what refuses a second daemon.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import case, event, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.clock import aware
from connector.store import session_scope
from connector.store.models import LeaseRow

LEADER_LEASE = "scheduler"
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class StaleLeaseError(RuntimeError):
    """A write was attempted under a lease that another holder has since taken over."""

    def __init__(self, name: str, holder: str, epoch: int, current_holder: str, current_epoch: int) -> None:
        super().__init__(
            f"lease {name!r} epoch {epoch} held by {holder!r} is stale "
            f"(now epoch {current_epoch}, holder {current_holder!r}); write refused"
        )
        self.name = name
        self.epoch = epoch
        self.current_epoch = current_epoch


class DaemonAlreadyRunning(RuntimeError):
    """Another daemon already owns this SQLite database file."""


def shop_lease(shop_id: str) -> str:
    """The lease name guarding one shop's sync."""
    return f"shop:{shop_id}"


@dataclass(frozen=True)
class Lease:
    """A lease this process holds: the fencing token to present with every write.

    `acquired_at` is when this holder took it over: no earlier holder's lease outlived that moment.
    """

    name: str
    holder: str
    epoch: int
    acquired_at: datetime | None = None


def ensure_rows(engine: Engine, names: list[str]) -> None:
    """Create missing lease rows (free, expired) so acquiring is a single conditional UPDATE."""
    if not names:
        return
    rows = [{"name": n, "holder": "", "epoch": 0, "expires_at": NEVER} for n in names]
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        conn.execute(insert(LeaseRow).values(rows).on_conflict_do_nothing(index_elements=["name"]))


def harden_postgres(engine: Engine, lease_s: float) -> None:
    """Make a frozen process unable to block a takeover: the server ends its idle open transactions.

    A process paused inside a transaction (SIGSTOP, GC, a VM stall) keeps its row locks, and
    with them the lease row another worker must update to take over. PostgreSQL's
    `idle_in_transaction_session_timeout` ends such a session; nothing of ours holds a
    transaction open while waiting on anything else (HTTP calls happen outside transactions).
    """
    if engine.dialect.name != "postgresql":
        return
    timeout_ms = int(max(2 * lease_s, 10.0) * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET idle_in_transaction_session_timeout = {timeout_ms}")
        cursor.close()
        dbapi_connection.commit()

    engine.dispose()  # pooled connections made before this (migrations) reconnect with the setting


def _bounded_wait(session: Session) -> None:
    """On PostgreSQL: a lease statement waits at most a few seconds for a row lock, then fails (retried later)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL lock_timeout = '3s'"))


def try_acquire(engine: Engine, name: str, holder: str, *, now: datetime, ttl_s: float) -> Lease | None:
    """Take `name` if it is free or expired, bumping its epoch; None when someone else holds it."""
    with session_scope(engine) as session:
        return take(session, name, holder, now=now, ttl_s=ttl_s)


def take(session: Session, name: str, holder: str, *, now: datetime, ttl_s: float) -> Lease | None:
    """Inside a transaction: take the lease (creating its row if missing) if free or expired (epoch + 1)."""
    _bounded_wait(session)
    bind = session.get_bind()
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(LeaseRow)
        .values(name=name, holder="", epoch=0, expires_at=NEVER)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    result = session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name)  # type: ignore[arg-type]
        .where((LeaseRow.expires_at < now) | (LeaseRow.holder == ""))  # type: ignore[arg-type]
        .values(holder=holder, epoch=LeaseRow.epoch + 1, expires_at=now + timedelta(seconds=ttl_s))
        .returning(LeaseRow.epoch)  # type: ignore[call-overload]
    )
    epoch = result.scalar_one_or_none()
    return None if epoch is None else Lease(name, holder, int(epoch), now)


def renew(engine: Engine, lease: Lease, *, now: datetime, ttl_s: float) -> bool:
    """Extend a lease we hold to at least `now + ttl_s` (never shortened); False when it was taken over."""
    with session_scope(engine) as session:
        _bounded_wait(session)
        until = now + timedelta(seconds=ttl_s)
        result = session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == lease.name)  # type: ignore[arg-type]
            .where(LeaseRow.holder == lease.holder)  # type: ignore[arg-type]
            .where(LeaseRow.epoch == lease.epoch)  # type: ignore[arg-type]
            .values(expires_at=case((LeaseRow.expires_at > until, LeaseRow.expires_at), else_=until))  # type: ignore[arg-type]
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def prove(engine: Engine, lease: Lease, *, now: datetime, hold_s: float) -> None:
    """Prove we still hold `lease` and keep it for `hold_s` more seconds; StaleLeaseError when it moved on."""
    if renew(engine, lease, now=now, ttl_s=hold_s):
        return
    view = read_leases(engine).get(lease.name)
    raise StaleLeaseError(lease.name, lease.holder, lease.epoch, view.holder if view else "", view.epoch if view else 0)


def release(engine: Engine, lease: Lease) -> None:
    """Give a lease up at once (graceful stop), so another worker need not wait for expiry."""
    with session_scope(engine) as session:
        session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == lease.name)  # type: ignore[arg-type]
            .where(LeaseRow.holder == lease.holder)  # type: ignore[arg-type]
            .where(LeaseRow.epoch == lease.epoch)  # type: ignore[arg-type]
            .values(holder="", expires_at=NEVER)
        )


def check_fence(session: Session, lease: Lease) -> None:
    """Inside a write transaction: lock the lease row and refuse the write if `lease` is stale."""
    row = session.exec(select(LeaseRow).where(LeaseRow.name == lease.name).with_for_update()).first()
    holder, epoch = (row.holder, row.epoch) if row is not None else ("", 0)
    if holder != lease.holder or epoch != lease.epoch:
        raise StaleLeaseError(lease.name, lease.holder, lease.epoch, holder, epoch)


@dataclass(frozen=True)
class LeaseFence:
    """A shop lease as the fence of a run: inside every write transaction and before every marketplace write.

    - `fence(session)` (calling the object) locks the lease row in the caller's transaction and
      refuses a stale epoch, so a stale holder's database writes roll back.
    - `before_write()` is awaited right before each marketplace write, after the rate limiter let
      the call go: it proves the epoch is current and extends the lease to cover the whole call
      (`call_s`, the longest a call can take), so the lease cannot expire while the call is out.
    - `wait_out_previous_holder()`: a new owner that finds an earlier holder's unresolved create
      waits until that holder can no longer have a call out (our takeover + `call_s`).
    """

    engine: Engine
    lease: Lease
    clock: Callable[[], datetime]
    ttl_s: float
    call_s: float

    def __call__(self, session: Session) -> None:
        check_fence(session, self.lease)

    async def before_write(self) -> None:
        """Raise StaleLeaseError unless we still hold the shop, with the lease covering the coming call."""
        hold = max(self.ttl_s, self.call_s + 1.0)
        await asyncio.to_thread(prove, self.engine, self.lease, now=self.clock(), hold_s=hold)

    def previous_holder_silent_at(self) -> datetime:
        """When no call sent under an earlier epoch can still be in flight."""
        taken = self.lease.acquired_at or self.clock()
        return taken + timedelta(seconds=self.call_s)

    async def wait_out_previous_holder(self) -> float:
        """Sleep until `previous_holder_silent_at`; the seconds waited."""
        wait = (self.previous_holder_silent_at() - self.clock()).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        return max(0.0, wait)


@dataclass(frozen=True)
class LeaseView:
    """A lease as `status` shows it."""

    name: str
    holder: str
    epoch: int
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        """True while the lease is held and not expired."""
        return bool(self.holder) and self.expires_at > now


def read_leases(engine: Engine) -> dict[str, LeaseView]:
    """Every lease row, by name."""
    with Session(engine) as session:
        return {
            r.name: LeaseView(r.name, r.holder, r.epoch, aware(r.expires_at)) for r in session.exec(select(LeaseRow))
        }


def live_leader(engine: Engine, now: datetime) -> LeaseView | None:
    """The current scheduler leader, or None when no daemon holds the lease."""
    view = read_leases(engine).get(LEADER_LEASE)
    return view if view is not None and view.live(now) else None


class DaemonFileLock:
    """An exclusive OS lock on `<db>.daemon.lock`: one daemon per SQLite file, released at process exit."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".daemon.lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise DaemonAlreadyRunning naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            handle.close()
            raise DaemonAlreadyRunning(
                f"Một daemon khác (pid {pid}) đang chạy trên cơ sở dữ liệu này / another daemon (pid {pid}) "
                f"is already running on this SQLite database ({self.path.with_suffix('')}). "
                "SQLite supports one daemon per file; use PostgreSQL for several workers."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def held_by_other(self) -> bool:
        """True when some other process holds the lock (a daemon is running)."""
        if self._handle is not None:
            return False
        if not self.path.exists():
            return False
        with self.path.open("a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def release(self) -> None:
        """Drop the lock (also dropped by the OS when the process dies)."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for PostgreSQL / in-memory."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


async def keep_alive(
    engine: Engine, lease: Lease, *, ttl_s: float, clock: Callable[[], datetime], lost: asyncio.Event | None = None
) -> None:
    """Renew `lease` every third of its ttl until cancelled; set `lost` (and stop) if it was taken over."""
    while True:
        await asyncio.sleep(ttl_s / 3)
        if not await asyncio.to_thread(renew, engine, lease, now=clock(), ttl_s=ttl_s):
            if lost is not None:
                lost.set()
            return
