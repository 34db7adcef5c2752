"""`ocop-sync demo`: seed the An Giang demo catalog, and run the demo (`make demo`, `ocop-sync demo run`)."""

from __future__ import annotations

from datetime import date, datetime

import typer

from connector.catalog.demo_data import seed_demo
from connector.catalog.store import read_producers, read_products
from connector.catalog.summary import summarise
from connector.cli.catalog_cmd import print_summary, summary_line
from connector.cli.common import cli_context, console, settings_or_exit
from connector.cli.db_cmd import migrated_engine
from connector.settings import SANDBOX_URL, Settings
from connector.store import session_scope
from connector.store.sandbox_state import forget_sandbox_state

TODAY_HELP = "Ngày tham chiếu cho hạn chứng nhận / reference day for certificate dates (YYYY-MM-DD; default today)"


def _reference(today: str | None) -> date:
    if today is None:
        return date.today()
    try:
        return date.fromisoformat(today)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {today!r}", param_hint="--today") from exc


def seed(settings: Settings, reference: date, now: datetime, *, new_sandboxes: bool = False) -> None:
    """Create the database if needed and add the missing demo producers and products; with `new_sandboxes`
    (this process starts in-process sandboxes) first forget what earlier, vanished sandboxes left in the store."""
    engine = migrated_engine(settings)
    try:
        sandbox_shops = [shop.id for shop in settings.shops if shop.base_url == SANDBOX_URL] if new_sandboxes else []
        forgotten = forget_sandbox_state(engine, sandbox_shops, now)
        if forgotten:
            console.print(
                f"Sàn mô phỏng mới, bỏ {forgotten} liên kết cũ / new in-process sandboxes, "
                f"{forgotten} old listing bindings forgotten"
            )
        with session_scope(engine) as session:
            counts = seed_demo(session, reference, now)
            summary = summarise(read_producers(session), read_products(session), reference)
    finally:
        engine.dispose()
    console.print(
        f"Dữ liệu mẫu / demo seed: thêm mới / inserted {counts.inserted}, đã có / already present {counts.unchanged}"
    )
    console.print(summary_line(summary))


def run(settings: Settings, reference: date, now: datetime) -> None:
    """The demo: create the database, seed the demo catalog if it is missing, print the catalog summary,
    then sync it to the in-process sandboxes, cause drift there and show it found and fixed.

    Later features extend this function into the full demo (daemon, API).
    """
    seed(settings, reference, now, new_sandboxes=True)
    print_summary(settings, reference)
    _reconcile_demo(settings)


def _reconcile_demo(settings: Settings) -> None:
    """Full sync, simulated drift (Lazada price, Tiki sale, Voso rejection), incremental sync, printed."""
    import asyncio

    from connector.cli.demo_scenario import run_demo_sync
    from connector.cli.sync_cmd import summary_table

    ctx = cli_context(settings)
    try:
        result = asyncio.run(run_demo_sync(ctx))
    finally:
        ctx.engine.dispose()
    console.print(summary_table(result.first))
    for note in result.simulated:
        console.print(f"Mô phỏng sai lệch / simulated drift: {note}")
    console.print(summary_table(result.second))
    for row in result.found:
        state = "đã sửa / fixed" if row.resolved_at is not None else "còn mở / open"
        console.print(
            f"  {row.shop_id} {row.sku} {row.kind}: expected {row.expected!r}, saw {row.observed!r} -> {state}"
        )


def register(app: typer.Typer) -> None:
    """Attach the `demo` group."""
    group = typer.Typer(help="Dữ liệu và chạy thử / demo data and demo run", no_args_is_help=True)

    @group.command("seed")
    def seed_cmd(today: str | None = typer.Option(None, "--today", help=TODAY_HELP)) -> None:
        """Tạo danh mục mẫu An Giang / seed the An Giang demo catalog (92 products, 62 producers)."""
        from connector.clock import utcnow

        seed(settings_or_exit(), _reference(today), utcnow())

    @group.command("run")
    def run_cmd(today: str | None = typer.Option(None, "--today", help=TODAY_HELP)) -> None:
        """Chạy bản demo / run the demo (`make demo`)."""
        from connector.clock import utcnow

        run(settings_or_exit(), _reference(today), utcnow())

    app.add_typer(group, name="demo")
