"""`ocop-sync plan` (dry run: drift and actions with reasons) and `ocop-sync sync` (one reconcile run per shop).

Exit codes: 0 converged, 1 not converged (dead actions, failures, a safety guard), 2 bad configuration.
Shops whose base_url is "sandbox" talk to in-process simulators that live only as long as the
command: to keep marketplace state between commands, run `ocop-sync sandbox serve` and point
the shops' base_url at it (see docs/architecture.md, "How a sync works").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from adapters.errors import ConfigError
from connector.cli.common import (
    EXIT_BAD_CONFIG,
    cli_context,
    console,
    err_console,
    refuse_unknown_categories,
    settings_or_exit,
)
from connector.context import AppContext
from connector.engine.run import plan_for_shop_async, sync_shops
from connector.settings import Settings
from schemas.sync import Plan, RunKind, RunOutcome, RunSummary, RunTrigger

EXIT_NOT_CONVERGED = 1


def _context(settings: Settings) -> AppContext:
    try:
        return cli_context(settings)
    except ConfigError as exc:
        err_console.print(f"[red]Cấu hình không hợp lệ / invalid configuration:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc


def _shop_ids(settings: Settings, shop: str | None) -> list[str]:
    if shop is None:
        return [s.id for s in settings.shops if s.enabled]
    try:
        settings.shop(shop)
    except KeyError as exc:
        err_console.print(f"[red]Không có gian hàng / unknown shop:[/red] {exc.args[0]}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc
    return [shop]


def plan_table(plan: Plan) -> Table:
    """One shop's plan as a table: every drift item, then every action with its reason."""
    table = Table(title=f"{plan.shop_id}: {len(plan.drifts)} drift, {len(plan.actions)} actions")
    for column in ("SKU", "drift / action", "expected / reason", "observed"):
        table.add_column(column, overflow="fold", min_width=len("AG-0000") if column == "SKU" else None)
    for d in plan.drifts:
        table.add_row(d.seller_sku, d.kind.value, d.expected, d.observed)
    for a in plan.actions:
        table.add_row(a.seller_sku, f"[bold]{a.kind.value}[/bold]", a.reason, "")
    return table


def summary_table(summaries: list[RunSummary]) -> Table:
    """The runs' outcomes and counters, one row per shop."""
    table = Table(title="Kết quả đồng bộ / sync summary")
    columns = (
        "shop",
        "outcome",
        "write calls",
        "reads",
        "retries",
        "created",
        "updated",
        "deactivated",
        "reactivated",
        "failed",
        "dead",
        "silent",
        "sales",
        "drift +/-",
    )
    for column in columns:
        table.add_column(column, overflow="fold")  # wrap, never cut shop ids or outcomes with "…"
    for s in summaries:
        c = s.counters
        table.add_row(
            s.shop_id,
            s.outcome.value + (f" ({s.error[:60]})" if s.error else ""),
            str(c.writes),
            str(c.reads),
            str(c.retries),
            str(c.created),
            str(c.updated),
            str(c.deactivated),
            str(c.reactivated),
            str(c.failed),
            str(c.dead),
            str(c.silent_failures),
            str(c.sales_recorded),
            f"+{c.drift_opened}/-{c.drift_closed}",
        )
    return table


def exit_code(summaries: list[RunSummary]) -> int:
    """0 when every shop converged, else 1."""
    return 0 if all(s.outcome is RunOutcome.CONVERGED for s in summaries) else EXIT_NOT_CONVERGED


async def _plans(ctx: AppContext, shops: list[str], kind: RunKind) -> list[Plan]:
    try:
        return [await plan_for_shop_async(ctx, s, kind=kind) for s in shops]
    finally:
        ctx.engine.dispose()


def _progress_callback(progress: Progress, tasks: dict[str, TaskID]) -> Callable[[str, str, int, int], None]:
    def note(shop: str, stage: str, done: int, total: int) -> None:
        progress.update(tasks[shop], description=f"{shop}: {stage}", completed=done, total=max(total, 1))

    return note


def register(app: typer.Typer) -> None:
    """Attach the `plan` and `sync` commands."""

    @app.command("plan")
    def plan_cmd(
        shop: str | None = typer.Option(None, "--shop", help="Một gian hàng / one shop id"),
        fmt: str = typer.Option("table", "--format", help="table | json"),
    ) -> None:
        """Xem trước: sai lệch và hành động kèm lý do, không ghi gì / dry run: drift and actions with reasons."""
        if fmt not in ("table", "json"):
            err_console.print("--format must be table or json")
            raise typer.Exit(EXIT_BAD_CONFIG)
        settings = settings_or_exit()
        shops = _shop_ids(settings, shop)
        ctx = _context(settings)
        refuse_unknown_categories(ctx, shops)
        plans = asyncio.run(_plans(ctx, shops, RunKind.FULL))
        if fmt == "json":
            console.print_json(json.dumps([p.model_dump(mode="json") for p in plans], ensure_ascii=False))
        else:
            for p in plans:
                console.print(plan_table(p))
                if p.guard_blocked:
                    console.print(f"[yellow]Dừng an toàn / safety guard:[/yellow] {p.guard_blocked}")
        blocked = any(p.guard_blocked for p in plans)
        raise typer.Exit(EXIT_NOT_CONVERGED if blocked else 0)

    @app.command("sync")
    def sync_cmd(
        full: bool = typer.Option(False, "--full", help="Đọc toàn bộ gian hàng / read every listing"),
        dry_run: bool = typer.Option(False, "--dry-run", help="Chỉ lập kế hoạch / plan only, write nothing"),
        shop: str | None = typer.Option(None, "--shop", help="Một gian hàng / one shop id"),
        force: bool = typer.Option(False, "--force", help="Bỏ qua chốt an toàn / override the safety guards"),
    ) -> None:
        """Đồng bộ danh mục lên các sàn / reconcile every shop with the catalog once."""
        settings = settings_or_exit()
        shops = _shop_ids(settings, shop)
        ctx = _context(settings)
        refuse_unknown_categories(ctx, shops)
        kind = RunKind.FULL if full else RunKind.INCREMENTAL
        if dry_run:
            plans = asyncio.run(_plans(ctx, shops, kind))
            for p in plans:
                console.print(plan_table(p))
            raise typer.Exit(0)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), console=console
        ) as progress:
            tasks = {s: progress.add_task(s, total=1) for s in shops}
            summaries = asyncio.run(
                sync_shops(
                    ctx,
                    shops,
                    kind=kind,
                    trigger=RunTrigger.MANUAL,
                    force=force,
                    progress=_progress_callback(progress, tasks),
                )
            )
        ctx.engine.dispose()
        console.print(summary_table(summaries))
        console.print(f"Tổng số lệnh ghi / write calls made: {sum(s.counters.writes for s in summaries)}")
        raise typer.Exit(exit_code(summaries))
