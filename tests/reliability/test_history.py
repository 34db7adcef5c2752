"""History checking, Jepsen style: three workers on PostgreSQL under a nemesis, then a checker.

- Workers: three `python -m connector run` processes on one PostgreSQL schema, reaching the
  database through a small asyncio TCP proxy on loopback (so the database can be "cut"
  without touching the shared server), syncing sandboxes served on loopback by this process
  with 100 ms latency and a low request rate (20/s) (calls are in flight or waiting for the rate
  limiter most of the time).
- Nemesis (seeded): SIGSTOP a worker for 0.3-2 s or 8.5-11 s (short pauses and pauses past the 8 s lease),
  SIGKILL a worker and start a replacement, cut the database proxy for 1-4 s.
- Client: small catalog edits every ~0.3 s and one long import (150 new products, stamped
  before parsing as `catalog import` does) while the daemons run; buyers order through the
  sandboxes' `/_sandbox/orders` control endpoint.
- Then faults off, the workers stop (SIGTERM), settle runs (incremental, under the shop lease,
  as a worker runs them; two passes so a sale pulled by one shop reaches the others) and the
  checker over the recorded history:
  zero duplicate creates on every sandbox; every catalog change visible on every marketplace;
  every order line counted once as a sale; no run left `running`; no two completed runs of one
  shop overlapping in time (each run ran under its own, live lease epoch).

`make test` runs one bounded seed; `bench/history.py` runs longer and more seeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlmodel import Session, select

from adapters.sandbox import FaultSpec, Sandbox, SandboxOptions
from connector.catalog.io import CatalogFormat, export_catalog, import_file
from connector.catalog.store import read_products, set_product, upsert_catalog
from connector.context import AppContext
from connector.engine.run import sync_shop
from connector.store import leases, make_engine, session_scope, upgrade
from connector.store.models import SaleRow, SyncRunRow
from connector.testing.loopback import credentials_env, make_sandboxes, serve, settings_toml
from connector.testing.world import desired_now, mismatches, settings_for, shops, synthetic_catalog
from schemas.sync import RunKind
from tests.daemon.daemon_kit import DaemonProcess, start_daemon

BASE_PRODUCTS = 12
IMPORTED_PRODUCTS = 150
LEASE_S = 8.0  # long enough that CPU starvation alone (loaded CI boxes) does not expire live leases

# -- a TCP proxy the nemesis can cut ---------------------------------------------------------------


class DbProxy:
    """Forwards loopback TCP to PostgreSQL; `cut()` drops every connection and refuses new ones until `heal()`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.refusing = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="db-proxy")

    def start(self) -> DbProxy:
        """Serve on a free loopback port (in a background thread)."""
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def _drop_all(self) -> None:
        for w in list(self._writers):
            transport = w.transport
            if transport is not None:
                transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        """Drop every open connection (RST) and refuse new ones."""
        self.refusing = True
        self._loop.call_soon_threadsafe(self._drop_all)

    def heal(self) -> None:
        """Accept connections again."""
        self.refusing = False

    def stop(self) -> None:
        """Stop the proxy thread."""
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


# -- the recorded history ------------------------------------------------------------------------


@dataclass
class History:
    """What the client and the nemesis did, and what the checker found."""

    seed: int
    faults: list[str] = field(default_factory=list)
    edits: int = 0
    imported: int = 0
    orders: dict[tuple[str, str], int] = field(default_factory=dict)  # (seller, order id) -> units bought
    violations: list[str] = field(default_factory=list)


def _via_proxy(pg_url: str, port: int) -> str:
    parts = urlsplit(pg_url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _upstream(pg_url: str) -> tuple[str, int]:
    parts = urlsplit(pg_url)
    return parts.hostname or "127.0.0.1", parts.port or 5432


class _Workers:
    """The worker processes, restartable under fresh names."""

    def __init__(self, settings_file: Path, tmp: Path, env: dict[str, str]) -> None:
        self.settings_file, self.tmp, self.env = settings_file, tmp, env
        self.procs: dict[str, DaemonProcess] = {}
        self.generation = 0

    def start(self, slot: str) -> None:
        self.generation += 1
        name = f"{slot}-{self.generation}"
        self.procs[slot] = start_daemon(self.settings_file, self.tmp, name, **self.env)  # type: ignore[arg-type]

    def alive(self) -> list[str]:
        return [s for s, p in self.procs.items() if p.proc.poll() is None]

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGCONT)
                p.proc.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001  (teardown: a worker that does not stop is killed)
                p.kill()


def _nemesis(rng: random.Random, workers: _Workers, proxy: DbProxy, until: float, history: History) -> None:
    while time.monotonic() < until:
        time.sleep(rng.uniform(1.0, 3.0))  # quiet gaps: runs must be able to finish between faults
        alive = workers.alive()
        action = rng.choice(["pause", "pause", "pause", "kill", "cut"])
        if action == "pause" and alive:
            slot = rng.choice(alive)
            pause = rng.choice([rng.uniform(0.3, 2.0), rng.uniform(LEASE_S + 0.5, LEASE_S + 3.0)])
            history.faults.append(f"SIGSTOP {slot} {pause:.1f}s")
            workers.procs[slot].proc.send_signal(signal.SIGSTOP)
            time.sleep(pause)
            workers.procs[slot].proc.send_signal(signal.SIGCONT)
        elif action == "kill" and alive:
            slot = rng.choice(alive)
            history.faults.append(f"SIGKILL {slot}")
            workers.procs[slot].proc.kill()
            workers.procs[slot].proc.wait(10)
            time.sleep(rng.uniform(0.2, 1.5))
            workers.start(slot)
        elif action == "cut":
            down = rng.uniform(1.0, 4.0)
            history.faults.append(f"cut database {down:.1f}s")
            proxy.cut()
            time.sleep(down)
            proxy.heal()


def _editor(engine: Any, rng: random.Random, skus: list[str], until: float, history: History) -> None:
    while time.monotonic() < until:
        time.sleep(rng.uniform(0.15, 0.45))
        sku = rng.choice(skus)
        with session_scope(engine) as session:
            (product,) = read_products(session, [sku])
            change = {"price_vnd": product.price_vnd + 1000 * rng.randint(1, 9)}
            if rng.random() < 0.5:
                change["stock"] = product.stock + rng.randint(1, 20)
            set_product(session, product.model_copy(update=change), datetime.now(UTC))
        history.edits += 1


def _importer(engine: Any, tmp: Path, delay_s: float, history: History) -> None:
    time.sleep(delay_s)
    producers, products = synthetic_catalog(BASE_PRODUCTS + IMPORTED_PRODUCTS)
    path = tmp / "import.csv"
    path.write_bytes(export_catalog(producers, products[BASE_PRODUCTS:], CatalogFormat.CSV))
    counts = import_file(engine, path, CatalogFormat.CSV, datetime.now(UTC))  # stamped before parsing
    history.imported = counts.inserted


def _buyer(rng: random.Random, served: dict[str, str], sellers: dict[str, str], until: float, h: History) -> None:
    with httpx.Client(timeout=10) as http:
        while time.monotonic() < until:
            time.sleep(rng.uniform(0.3, 0.8))
            marketplace = rng.choice(sorted(served))
            seller = sellers[marketplace]
            listings = http.get(f"{served[marketplace]}/_sandbox/listings", params={"seller_id": seller}).json()
            live = [x["seller_sku"] for x in listings["listings"] if x["status"] == "active" and x["stock"] > 2]
            if not live:
                continue
            body = {"seller_id": seller, "seller_sku": rng.choice(live), "quantity": rng.randint(1, 2)}
            reply = http.post(f"{served[marketplace]}/_sandbox/orders", json=body)
            if reply.status_code == 200:
                h.orders[(seller, str(reply.json()["order_id"]))] = int(reply.json()["quantity"])


def _fence_for(ctx: AppContext, lease: leases.Lease) -> Any:
    fence_class = getattr(leases, "LeaseFence", None)
    if fence_class is None:  # the code before fenced side effects: the in-transaction check only
        return lambda session: leases.check_fence(session, lease)
    http = ctx.settings.http
    return fence_class(ctx.engine, lease, ctx.clock, ttl_s=LEASE_S, call_s=http.connect_timeout_s + 3 * http.timeout_s)


async def _settle(ctx: AppContext) -> None:
    """Incremental runs under each shop's lease, as a worker runs them (faults are off).

    Two passes over the shops: a sale the last pass of one shop pulls lowers canonical stock,
    which the other shops push in their next run.
    """
    for _ in range(2):
        for shop in ctx.settings.shops:
            name, deadline = leases.shop_lease(shop.id), time.monotonic() + 30
            while (lease := leases.try_acquire(ctx.engine, name, "settle", now=ctx.clock(), ttl_s=30)) is None:
                assert time.monotonic() < deadline, f"{shop.id}: lease never free"
                await asyncio.sleep(0.3)
            await sync_shop(ctx, shop.id, kind=RunKind.INCREMENTAL, fence=_fence_for(ctx, lease), worker="settle")
            leases.release(ctx.engine, lease)


def _check(ctx: AppContext, boxes: dict[str, Sandbox], history: History) -> None:
    v = history.violations
    for marketplace, box in sorted(boxes.items()):
        for (_seller, sku), count in sorted(box.store.duplicate_creates().items()):
            v.append(f"duplicate create on {marketplace}: {sku} created {count} times")
    for shop in ctx.settings.shops:
        box = boxes[shop.marketplace]
        box.tick_reviews()
        wrong = mismatches(shop.marketplace, desired_now(ctx.engine, shop), box.store.shop(shop.seller_id))
        if wrong:
            v.append(f"{shop.id}: {len(wrong)} catalog change(s) not visible, e.g. {wrong[:3]}")
    with Session(ctx.engine) as session:
        sellers = {s.id: s.seller_id for s in ctx.settings.shops}
        rows = list(session.exec(select(SaleRow)))
        runs = list(session.exec(select(SyncRunRow)))
    sales = [(sellers[r.shop_id], r.order_id, r.line_id) for r in rows]
    if len(sales) != len(set(sales)):
        v.append(f"{len(sales) - len(set(sales))} sale line(s) counted twice")
    counted: dict[tuple[str, str], int] = {}  # units per order (a Lazada order item is one unit, one line)
    for r in rows:
        counted[(sellers[r.shop_id], r.order_id)] = counted.get((sellers[r.shop_id], r.order_id), 0) + r.quantity
    if counted != history.orders:
        missing = sum(1 for k, q in history.orders.items() if counted.get(k) != q)
        unknown = len(set(counted) - set(history.orders))
        v.append(f"sales: {missing} order(s) not counted unit for unit, {unknown} unknown")
    running = [r.id for r in runs if r.outcome == "running"]
    if running:
        v.append(f"{len(running)} run(s) left running: {running[:5]}")
    done = [r for r in runs if r.finished_at is not None and r.outcome not in ("running", "interrupted", "failed")]
    for shop in ctx.settings.shops:
        mine = sorted((r for r in done if r.shop_id == shop.id), key=lambda r: r.started_at)
        for a, b in itertools.pairwise(mine):
            if b.started_at < a.finished_at:  # type: ignore[operator]
                v.append(f"{shop.id}: runs {a.id} ({a.worker}) and {b.id} ({b.worker}) overlapped")


def run_history(pg_url: str, tmp: Path, *, seed: int, duration_s: float) -> History:
    """Run the whole scenario once and return the history with the checker's violations."""
    rng = random.Random(seed)
    history = History(seed)
    direct = make_engine(pg_url)
    upgrade(direct)
    producers, products = synthetic_catalog(BASE_PRODUCTS)
    with session_scope(direct) as session:
        upsert_catalog(session, producers, products, datetime.now(UTC))
    options = SandboxOptions(rate_limit_per_s=100_000, seed=seed, faults=FaultSpec(latency_ms=100))
    boxes = make_sandboxes(shops(), options)
    proxy = DbProxy(*_upstream(pg_url)).start()
    with serve(boxes) as served:
        shop_list = shops(served.urls, rps=20)
        env = credentials_env(shop_list)
        settings_file = tmp / "settings.toml"
        settings_file.write_text(
            settings_toml(
                _via_proxy(pg_url, proxy.port),
                tmp,
                shop_list,
                scheduler={
                    "incremental_interval_s": 2.0,
                    "resync_poll_s": 0.5,
                    "sweeper_interval_s": 2.0,
                    "full_cron": "0 3 * * *",
                    "job_deadline_s": 60.0,
                },
                daemon={"port": 0, "lease_s": LEASE_S, "drain_s": 3.0},
                http={"timeout_s": 1.0, "connect_timeout_s": 0.5},
                retry={"max_attempts": 3, "max_delay_s": 3.0, "backoff_cap_s": 0.5},
            ),
            encoding="utf-8",
        )
        workers = _Workers(settings_file, tmp, env)
        try:
            for slot in ("w1", "w2", "w3"):
                workers.start(slot)
            for proc in workers.procs.values():
                proc.port(timeout_s=180)  # serving: leases, scheduler and worker loop are up
            time.sleep(3.0)  # first runs list the catalog
            until = time.monotonic() + duration_s
            sellers = {s.marketplace: s.seller_id for s in shop_list}
            threads = [
                threading.Thread(
                    target=_editor, args=(direct, random.Random(seed + 1), [p.sku for p in products], until, history)
                ),
                threading.Thread(target=_importer, args=(direct, tmp, duration_s / 4, history)),
                threading.Thread(target=_buyer, args=(random.Random(seed + 2), served.urls, sellers, until, history)),
            ]
            for t in threads:
                t.start()
            _nemesis(rng, workers, proxy, until, history)
            for t in threads:
                t.join(120)
            proxy.heal()
            workers.stop_all()
        finally:
            workers.stop_all()
        for key, value in env.items():
            os.environ[key] = value
        for box in boxes.values():
            box.faults.set_spec(FaultSpec())  # faults off for the settle run
        ctx = AppContext.build(settings_for(pg_url, tmp, shops(served.urls, rps=2000), timeout_s=5.0))
        try:
            asyncio.run(_settle(ctx))
            _check(ctx, boxes, history)
        finally:
            ctx.engine.dispose()
            for key in env:
                os.environ.pop(key, None)
    proxy.stop()
    direct.dispose()
    return history


@pytest.fixture
def history_seed() -> Iterator[int]:
    """The seed of this run (OCOP_SYNC_HISTORY_SEED overrides the default)."""
    yield int(os.environ.get("OCOP_SYNC_HISTORY_SEED", "7"))


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_history_under_pauses_kills_and_database_cuts(pg_url: str, tmp_path: Path, history_seed: int) -> None:
    history = run_history(pg_url, tmp_path, seed=history_seed, duration_s=45.0)
    assert history.imported >= IMPORTED_PRODUCTS and history.edits > 20 and history.orders
    assert history.violations == [], f"seed {history.seed}, faults {history.faults}"
