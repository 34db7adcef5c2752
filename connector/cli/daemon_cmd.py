"""`ocop-sync run | resync | runs | status`: the daemon, manual resyncs, run history and shop health."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connector.cli.common import (
    EXIT_BAD_CONFIG,
    category_map_problems,
    cli_context,
    console,
    err_console,
    settings_or_exit,
)
from connector.redact import redact_secrets
from connector.settings import Settings
from connector.store import read_only
from connector.store.models import SyncRunRow

DEMO_INTERVAL_S = 20.0
DEMO_BUYERS_EVERY_S = 5.0
DEMO_FAULTS = "error=0.02,throttle=0.02,reset=0.01,latency=15ms,seed=7"
EXIT_NOT_FINISHED = 1


def setup_logging(level: int = logging.INFO) -> None:
    """Readable one-line logs on stderr: time, level, area, message."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("apscheduler", "httpx", "uvicorn.error", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _with(settings: Settings, section: str, **values: Any) -> Settings:
    """A copy of `settings` with some keys of one section replaced (settings are frozen)."""
    part = getattr(settings, section).model_copy(update=values)
    return settings.model_copy(update={section: part})


def run_daemon_cmd(settings: Settings, *, demo: bool = False) -> int:
    """Build the app context and run the daemon until a signal; the exit code. Demo mode adds buyers and faults."""
    from adapters.base import AdapterRegistry
    from adapters.sandbox.faults import FaultSpec
    from connector.context import AppContext, SandboxHub
    from connector.service.daemon import DaemonOptions, run_daemon

    setup_logging()
    registry = AdapterRegistry.from_entry_points()
    hub = SandboxHub(registry, faults=FaultSpec.parse(DEMO_FAULTS)) if demo else None
    if demo:
        settings = _with(settings, "scheduler", incremental_interval_s=DEMO_INTERVAL_S, full_jitter_s=60)
    ctx = AppContext.build(settings, registry=registry, sandbox_hub=hub)
    if category_map_problems(ctx):
        ctx.engine.dispose()
        return EXIT_BAD_CONFIG
    options = DaemonOptions(demo_buyers_every_s=DEMO_BUYERS_EVERY_S if demo else 0.0)
    try:
        return run_daemon(ctx, options=options)
    finally:
        ctx.engine.dispose()


def _daemon_running(settings: Settings, engine: Engine, now: datetime) -> bool:
    from connector.store.leases import DaemonFileLock, live_leader, sqlite_path

    path = sqlite_path(settings.database.effective_url())
    if path is not None and DaemonFileLock(path).held_by_other():
        return True
    return live_leader(engine, now) is not None


def resync(settings: Settings, *, shop: str | None, full: bool, now_: bool, wait: bool, timeout_s: float) -> int:
    """Record a resync request; run it here with `now_` when no daemon runs; optionally wait for it."""
    from connector.clock import utcnow
    from connector.service.resync import engine_run_shop, read_requests, run_now, submit_request

    if shop is not None:
        try:
            settings.shop(shop)
        except KeyError as exc:
            err_console.print(f"[red]Không có gian hàng / unknown shop:[/red] {exc}")
            raise typer.Exit(2) from exc
    ctx = cli_context(settings)
    try:
        kind = "full" if full else "incremental"
        request_id = submit_request(ctx.engine, shop_id=shop, kind=kind, requested_by="cli", now=utcnow())
        running = _daemon_running(settings, ctx.engine, utcnow())
        console.print(
            f"Yêu cầu đồng bộ lại #{request_id} ({kind}, {shop or 'mọi gian hàng / all shops'}) đã ghi / recorded."
        )
        if now_ and not running:
            setup_logging()
            from connector.service.daemon import worker_name

            summaries = asyncio.run(run_now(ctx, request_id, engine_run_shop(), worker=f"cli:{worker_name(settings)}"))
            for s in summaries:
                console.print(f"  {s.shop_id}: {s.outcome.value} (run #{s.run_id})")
            return 0
        if not running:
            console.print(
                "[yellow]Không có daemon nào đang chạy / no daemon is running:[/yellow] the request runs when one "
                "starts (`ocop-sync run`), or run it here with `ocop-sync resync --now`."
            )
            return 0
        console.print("Daemon sẽ nhận trong vài giây / a running daemon picks it up within seconds.")
        if not wait:
            return 0
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            view = read_requests(ctx.engine, ids=[request_id])[0]
            if view.finished_at is not None:
                console.print(f"#{request_id}: {view.outcome}")
                return 0
            time.sleep(1.0)
        err_console.print(f"#{request_id}: chưa xong / not finished after {timeout_s:g}s (see `ocop-sync runs`)")
        return EXIT_NOT_FINISHED
    finally:
        ctx.engine.dispose()


def runs(settings: Settings, *, shop: str | None, limit: int, as_json: bool) -> None:
    """Print recent sync runs and resync requests, every time in the settings' time zone."""
    from connector.cli.tables import RunLine, runs_table, times_line
    from connector.clock import utcnow
    from connector.reports.common import local_iso, local_time
    from connector.reports.i18n import bilingual
    from connector.service.resync import read_requests

    ctx = cli_context(settings)
    tz = settings.scheduler.timezone
    reader = read_only(ctx.engine)  # works while another process writes
    try:
        with Session(reader) as session:
            query = select(SyncRunRow).order_by(SyncRunRow.id.desc()).limit(limit)  # type: ignore[union-attr]
            if shop:
                query = query.where(SyncRunRow.shop_id == shop)
            rows = session.exec(query).all()
        requests = read_requests(reader, limit=5)
    finally:
        ctx.engine.dispose()
    if as_json:
        data = {
            "timezone": tz,
            "runs": [
                {
                    **r.model_dump(mode="json"),
                    "error": redact_secrets(r.error),  # run errors may quote a marketplace's echo of a credential
                    "started_at": local_iso(r.started_at, tz),
                    "finished_at": local_iso(r.finished_at, tz),
                }
                for r in rows
            ],
            "requests": [
                {"id": q.id, "shop_id": q.shop_id, "kind": q.kind, "state": q.state, "outcome": q.outcome}
                for q in requests
            ],
        }
        console.print_json(json.dumps(data))
        return
    lines = [
        RunLine(
            r.id or 0,
            r.shop_id,
            r.kind,
            r.trigger,
            r.worker,
            r.started_at,
            r.finished_at,
            r.outcome,
            redact_secrets(r.error),
            r.counters,
        )
        for r in rows
    ]
    console.print(times_line(utcnow(), tz))
    console.print(runs_table(lines, tz, console.width))
    if requests:
        req_table = Table(title=bilingual("cli.requests.title"), title_justify="left")
        for col in ("#", "cli.col.shop", "cli.col.kind", "cli.col.requested", "cli.col.state", "cli.col.outcome"):
            req_table.add_column(bilingual(col) if col.startswith("cli.") else col, overflow="fold")
        for q in requests:
            req_table.add_row(
                str(q.id), q.shop_id or "*", q.kind, local_time(q.requested_at, tz), q.state, q.outcome or "—"
            )
        console.print(req_table)


def _credential_envs(settings: Settings, registry: Any) -> dict[str, list[str]]:
    """The environment variables holding each shop's credentials (what a person sets to reconnect it)."""
    envs: dict[str, list[str]] = {}
    for shop in settings.shops:
        try:
            names = registry.get(shop.marketplace).credential_names
        except KeyError:
            names = ()
        envs[shop.id] = [shop.credential_env(n) for n in names]
    return envs


def status(settings: Settings, *, as_json: bool) -> None:
    """Print per-shop health (one state word per shop, and what to do), every time in the settings' time zone."""
    from connector.cli.tables import status_hints, status_table, times_line
    from connector.clock import utcnow
    from connector.reports.common import local_iso
    from connector.reports.i18n import bilingual
    from connector.reports.status import read_status

    ctx = cli_context(settings)
    try:
        cluster = read_status(read_only(ctx.engine), settings, utcnow())  # works while another process writes
    finally:
        ctx.engine.dispose()
    tz = settings.scheduler.timezone
    if as_json:
        data = {
            "timezone": tz,
            "leader": cluster.leader.holder if cluster.leader else None,
            "shops": [
                {
                    "shop_id": s.shop_id,
                    "marketplace": s.marketplace,
                    "state": s.state.value,
                    "last_success_at": local_iso(s.last_success_at, tz),
                    "last_outcome": s.last_outcome,
                    "failing_runs": s.failing_runs,
                    "open_drift": s.open_drift,
                    "pending_actions": s.pending_actions,
                    "in_flight_actions": s.in_flight_actions,
                    "dead_actions": s.dead_actions,
                    "token_expires_at": local_iso(s.token_expires_at, tz),
                    "refresh_expires_at": local_iso(s.refresh_expires_at, tz),
                    "token_warning": s.token_warning,
                    "lease_holder": s.lease_holder,
                    "stalled": s.stalled,
                }
                for s in cluster.shops
            ],
        }
        console.print_json(json.dumps(data))
        return
    leader = f"{cluster.leader.holder} (epoch {cluster.leader.epoch})" if cluster.leader else bilingual("cli.none")
    console.print(times_line(cluster.now, tz))
    console.print(f"{bilingual('cli.leader')}: {leader}")
    console.print(status_table(cluster.shops, tz, console.width))
    for line in status_hints(cluster.shops, tz, _credential_envs(settings, ctx.registry)):
        console.print(line)


def register(app: typer.Typer) -> None:
    """Attach `run`, `resync`, `runs` and `status`."""

    @app.command("run")
    def run_cmd(
        demo: bool = typer.Option(False, "--demo", help="demo: seeded catalog, in-process sandboxes with buyers"),
        port: int | None = typer.Option(None, "--port", help="HTTP port (0 = any free port)"),
        host: str | None = typer.Option(None, "--host", help="HTTP bind address (default 127.0.0.1)"),
    ) -> None:
        """Chạy dịch vụ đồng bộ / run the sync daemon (scheduler, workers, HTTP health and API)."""
        settings = settings_or_exit()
        overrides = {k: v for k, v in (("port", port), ("host", host)) if v is not None}
        if overrides:
            settings = _with(settings, "daemon", **overrides)
        if demo:
            from connector.cli.demo_cmd import seed
            from connector.clock import utcnow

            seed(settings, datetime.now().date(), utcnow(), new_sandboxes=True)
        raise typer.Exit(run_daemon_cmd(settings, demo=demo))

    @app.command("resync")
    def resync_cmd(
        shop: str | None = typer.Option(None, "--shop", help="one shop id (default: every shop)"),
        full: bool = typer.Option(False, "--full", help="full resync (read every listing), not incremental"),
        now_: bool = typer.Option(False, "--now", help="no daemon running: run it in this process"),
        wait: bool = typer.Option(False, "--wait", help="wait until the daemon finished it"),
        timeout: float = typer.Option(600.0, "--timeout", help="seconds --wait waits at most"),
    ) -> None:
        """Yêu cầu đồng bộ lại / ask for a manual resync (picked up by the daemon within seconds)."""
        raise typer.Exit(resync(settings_or_exit(), shop=shop, full=full, now_=now_, wait=wait, timeout_s=timeout))

    @app.command("runs")
    def runs_cmd(
        shop: str | None = typer.Option(None, "--shop", help="only this shop"),
        limit: int = typer.Option(20, "--limit", min=1, help="how many runs"),
        as_json: bool = typer.Option(False, "--json", help="JSON output"),
    ) -> None:
        """Các lượt đồng bộ gần đây / recent sync runs: progress, outcome, counters."""
        runs(settings_or_exit(), shop=shop, limit=limit, as_json=as_json)

    @app.command("status")
    def status_cmd(as_json: bool = typer.Option(False, "--json", help="JSON output")) -> None:
        """Tình trạng từng gian hàng / per-shop health: last success, drift, outbox, token, lease, stalled."""
        status(settings_or_exit(), as_json=as_json)
