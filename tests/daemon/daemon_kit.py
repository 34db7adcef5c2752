"""Helpers for the daemon tests: settings with short intervals, and a stand-in run function.

The stand-in (`RecordingRun`) is injected into `Daemon(run_shop=...)` only by the in-process
scheduler tests, which test the scheduling, lease and resync machinery, not the engine: it
records a `sync_run` row the way the engine does, inside a transaction guarded by `fence`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from connector.context import AppContext
from connector.settings import DaemonSettings, DatabaseSettings, SchedulerSettings, Settings, ShopSettings
from connector.store import session_scope
from connector.store.models import ShopRow, SyncRunRow
from schemas.sync import RunCounters, RunKind, RunOutcome, RunSummary, RunTrigger

SHOPS = (
    ShopSettings(id="voso-ag", marketplace="voso", seller_id="AG-OCOP-VOSO"),
    ShopSettings(id="lazada-ag", marketplace="lazada", seller_id="AG-OCOP-LAZADA"),
    ShopSettings(id="tiki-ag", marketplace="tiki", seller_id="AG-OCOP-TIKI"),
)


def short_settings(url: str, tmp: Path, *, interval_s: float = 1.0, lease_s: float = 3.0, **daemon: Any) -> Settings:
    """Settings for a fast daemon: second-scale intervals and leases, HTTP on a free port."""
    return Settings(
        database=DatabaseSettings(url=url, data_dir=tmp),
        scheduler=SchedulerSettings(
            incremental_interval_s=interval_s,
            resync_poll_s=0.3,
            sweeper_interval_s=1.0,
            token_check_interval_s=3600,
            job_deadline_s=30,
            full_cron="0 3 * * *",
        ),
        daemon=DaemonSettings(port=0, lease_s=lease_s, drain_s=5.0, **daemon),
        shops=SHOPS,
    )


@dataclass
class RecordingRun:
    """A stand-in for `sync_shop`: waits `delay_s`, then records a converged run under the fence."""

    delay_s: float = 0.0
    calls: list[tuple[str, str, str, tuple[str, ...] | None]] = field(default_factory=list)

    async def __call__(
        self,
        ctx: AppContext,
        shop_id: str,
        *,
        kind: RunKind = RunKind.INCREMENTAL,
        trigger: RunTrigger = RunTrigger.MANUAL,
        force: bool = False,
        dry_run: bool = False,
        skus: Collection[str] | None = None,
        fence: Callable[[Session], None] | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        worker: str = "",
    ) -> RunSummary:
        """Record one run of `shop_id`."""
        started = ctx.clock()
        self.calls.append((shop_id, kind.value, trigger.value, tuple(sorted(skus)) if skus is not None else None))
        if progress is not None:
            progress("observe", 0, 1)
        await asyncio.sleep(self.delay_s)
        shop = ctx.settings.shop(shop_id)

        def write() -> int:
            with session_scope(ctx.engine) as session:
                if session.get(ShopRow, shop_id) is None:
                    session.add(ShopRow(id=shop_id, marketplace=shop.marketplace, seller_id=shop.seller_id))
                    session.flush()
                if fence is not None:
                    fence(session)
                row = SyncRunRow(
                    shop_id=shop_id,
                    marketplace=shop.marketplace,
                    kind=kind.value,
                    trigger=trigger.value,
                    worker=worker,
                    started_at=started,
                    finished_at=ctx.clock(),
                    outcome="converged",
                    counters={"reads": 1},
                )
                session.add(row)
                session.flush()
                assert row.id is not None
                return row.id

        run_id = await asyncio.to_thread(write)
        return RunSummary(
            run_id=run_id,
            shop_id=shop_id,
            marketplace=shop.marketplace,
            kind=kind,
            trigger=trigger,
            started_at=started,
            finished_at=ctx.clock(),
            outcome=RunOutcome.CONVERGED,
            counters=RunCounters(reads=1),
        )


def runs_of(ctx_or_engine: Any, **where: str) -> list[SyncRunRow]:
    """sync_run rows matching column=value filters, oldest first."""
    engine = getattr(ctx_or_engine, "engine", ctx_or_engine)
    with Session(engine) as session:
        query = select(SyncRunRow).order_by(SyncRunRow.id)  # type: ignore[arg-type]
        for key, value in where.items():
            query = query.where(getattr(SyncRunRow, key) == value)
        return list(session.exec(query).all())


async def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.1) -> None:
    """Poll `predicate` (off the loop) until true, or fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")


def wait_sync(predicate: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.2) -> None:
    """Blocking `wait_until` for subprocess tests."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")


# -- subprocess daemons ------------------------------------------------------------------------


@dataclass
class DaemonProcess:
    """One `ocop-sync run` subprocess, logging to a file."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    name: str

    def log(self) -> str:
        """Everything the daemon logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def port(self, timeout_s: float = 30.0) -> int:
        """The HTTP port, once the daemon logged it."""
        import re

        found: list[int] = []

        def logged() -> bool:
            match = re.search(r"HTTP on http://[^:]+:(\d+)", self.log())
            if match:
                found.append(int(match.group(1)))
            return bool(found) or self.proc.poll() is not None

        wait_sync(logged, timeout_s, f"{self.name} to serve HTTP")
        if not found:
            raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.log()[-3000:]}")
        return found[0]

    def signal(self, sig: int) -> None:
        """Send a signal if still running."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL and reap (teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def env_for(settings_file: Path, **extra: str) -> dict[str, str]:
    """The environment a daemon subprocess runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_SYNC")}
    env["OCOP_SYNC_SETTINGS"] = str(settings_file)
    env.update(extra)
    return env


def start_daemon(settings_file: Path, tmp: Path, name: str, *, args: tuple[str, ...] = (), **env: str) -> DaemonProcess:
    """Start `ocop-sync run` with `settings_file`; output goes to `<tmp>/<name>.log`."""
    log_path = tmp / f"{name}.log"
    handle = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector", "run", *args],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env_for(settings_file, OCOP_SYNC__DAEMON__WORKER_NAME=name, **env),
        cwd=tmp,
    )
    handle.close()
    return DaemonProcess(proc, log_path, name)


def cli(settings_file: Path, tmp: Path, *args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run one `ocop-sync` command to completion."""
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        env=env_for(settings_file, COLUMNS="200"),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def stop(proc: DaemonProcess, timeout_s: float) -> tuple[int, float]:
    """SIGTERM, wait; the exit code and seconds it took."""
    started = time.monotonic()
    proc.signal(signal.SIGTERM)
    code = proc.proc.wait(timeout=timeout_s)
    return code, time.monotonic() - started


def utc(moment: datetime) -> datetime:
    """SQLite gives naive UTC datetimes back."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- sandboxes shared by several daemon processes -------------------------------------------------


@dataclass
class ServedSandboxes:
    """The three marketplace simulators served by uvicorn on 127.0.0.1 from this test process."""

    urls: dict[str, str]
    servers: list[Any] = field(default_factory=list)
    threads: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        """Shut every server down and join its thread."""
        for server in self.servers:
            server.should_exit = True
        for thread in self.threads:
            thread.join(timeout=10)

    def creates(self, marketplace: str) -> dict[str, Any]:
        """The simulator's create log: every create per SKU and how many were duplicates."""
        import httpx

        return dict(httpx.get(f"{self.urls[marketplace]}/_sandbox/creates", timeout=10).json())


def _started(server: Any) -> bool:
    return bool(server.started)


def serve_sandboxes(shops: tuple[ShopSettings, ...] = SHOPS) -> ServedSandboxes:
    """Start one uvicorn server per marketplace (port 0) serving a sandbox with the shops' sellers."""
    import threading

    import uvicorn

    from adapters.base import AdapterRegistry
    from adapters.sandbox import SandboxOptions, SellerAccount

    registry = AdapterRegistry.from_entry_points()
    served = ServedSandboxes({})
    for marketplace in sorted({s.marketplace for s in shops}):
        factory = registry.get(marketplace)
        sellers = tuple(
            SellerAccount(seller_id=s.seller_id, credentials=factory.sandbox_credentials(s.seller_id))
            for s in shops
            if s.marketplace == marketplace
        )
        sandbox = factory.create_sandbox(SandboxOptions(sellers=sellers))
        server = uvicorn.Server(
            uvicorn.Config(sandbox.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, name=f"sandbox-{marketplace}", daemon=True)
        thread.start()
        served.servers.append(server)
        served.threads.append(thread)
        wait_sync(partial(_started, server), 10, f"the {marketplace} sandbox")
        port = server.servers[0].sockets[0].getsockname()[1]
        served.urls[marketplace] = f"http://127.0.0.1:{port}"
    return served


def shop_env(served: ServedSandboxes | None, shops: tuple[ShopSettings, ...] = SHOPS) -> dict[str, str]:
    """Sandbox credentials in the environment variables a shop with a real base_url reads."""
    from adapters.base import AdapterRegistry

    if served is None:
        return {}
    registry = AdapterRegistry.from_entry_points()
    env: dict[str, str] = {}
    for shop in shops:
        for name, value in registry.get(shop.marketplace).sandbox_credentials(shop.seller_id).items():
            env[shop.credential_env(name)] = value
    return env


def write_settings(
    path: Path,
    *,
    url: str,
    data_dir: Path,
    served: ServedSandboxes | None = None,
    interval_s: float = 3600.0,
    lease_s: float = 3.0,
    drain_s: float = 5.0,
    shops: tuple[ShopSettings, ...] = SHOPS,
) -> Path:
    """A settings.toml for a daemon subprocess (sandboxes in-process unless `served`)."""
    lines = [
        "[database]",
        f'url = "{url}"',
        f'data_dir = "{data_dir}"',
        "[scheduler]",
        f"incremental_interval_s = {interval_s}",
        "resync_poll_s = 0.5",
        "sweeper_interval_s = 5.0",
        'full_cron = "0 3 * * *"',
        "job_deadline_s = 120.0",
        "[daemon]",
        "port = 0",
        f"lease_s = {lease_s}",
        f"drain_s = {drain_s}",
        "[retry]",
        "max_attempts = 3",
        "max_delay_s = 5.0",
        "backoff_cap_s = 1.0",
    ]
    for shop in shops:
        base_url = served.urls[shop.marketplace] if served is not None else "sandbox"
        lines += [
            "[[shops]]",
            f'id = "{shop.id}"',
            f'marketplace = "{shop.marketplace}"',
            f'seller_id = "{shop.seller_id}"',
            f'base_url = "{base_url}"',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seed_catalog(url: str, products: int) -> list[str]:
    """Put the first `products` demo products (and their producers) in the catalog; their SKUs."""
    from datetime import UTC, date

    from connector.catalog.demo_data import demo_catalog
    from connector.catalog.store import upsert_catalog
    from connector.store import make_engine, upgrade

    catalog = demo_catalog(date(2026, 3, 1))
    chosen = list(catalog.products[:products])
    producers = [p for p in catalog.producers if p.id in {x.producer_id for x in chosen}]
    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            upsert_catalog(session, producers, chosen, datetime.now(UTC))
    finally:
        engine.dispose()
    return [p.sku for p in chosen]


# -- a database that can be made unavailable ------------------------------------------------------


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 in front of a real server; `cut()` drops every connection and refuses
    new ones (the database "goes away"), `restore()` lets connections through again."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        import socket
        import threading

        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def url_for(self, url: str) -> str:
        """`url` with its host:port replaced by this proxy's."""
        host, port = self.upstream
        return url.replace(f"@{host}:{port}/", f"@127.0.0.1:{self.port}/", 1)

    def cut(self) -> None:
        """Drop every open connection; refuse new ones until `restore()`.

        Each socket is shut down before it is closed: a bare close() from this thread neither wakes
        the pump blocked in recv() on it nor sends the peer a FIN, so a client waiting for a reply
        on that connection (psycopg) waited forever instead of seeing the outage.
        """
        import socket

        self._cut.set()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
            self._open.clear()

    def restore(self) -> None:
        """Let connections through again."""
        self._cut.clear()

    def close(self) -> None:
        """Stop listening and drop everything (teardown)."""
        self._closed.set()
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        import socket
        import threading

        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: Any, dst: Any) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.close()
