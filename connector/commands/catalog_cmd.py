"""`ocop-sync catalog`: summary, import and export of the canonical catalog."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from connector.catalog_store import read_producers, read_products
from connector.catalog_summary import CatalogSummary, summarise
from connector.commands.common import console, settings_or_exit
from connector.commands.db_cmd import migrated_engine
from connector.settings import Settings
from connector.store import session_scope


def summary_tables(summary: CatalogSummary) -> list[Table]:
    """Rich tables for a catalog summary (Vietnamese and English labels)."""
    tables = []
    for title, rows in (
        ("Hạng sao / Stars", summary.by_stars),
        ("Nhóm sản phẩm / Product group", summary.by_group),
        ("Loại chủ thể / Producer type", summary.by_producer_type),
        (f"Chứng nhận / Certificates ({summary.today:%d/%m/%Y})", summary.by_certificate),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("", style="bold")
        table.add_column("Số lượng / Count", justify="right")
        for label, count in rows:
            table.add_row(label, str(count))
        tables.append(table)
    return tables


def print_summary(settings: Settings, today: date) -> None:
    """Print the catalog summary of the configured database."""
    engine = migrated_engine(settings)
    try:
        with session_scope(engine) as session:
            producers, products = read_producers(session), read_products(session)
    finally:
        engine.dispose()
    summary = summarise(producers, products, today, settings.sync.cert_warning_days)
    console.print(
        f"[bold]Danh mục OCOP / OCOP catalog:[/bold] {summary.products} sản phẩm / products, "
        f"{summary.producers} chủ thể / producers"
    )
    for table in summary_tables(summary):
        console.print(table)


def register(app: typer.Typer) -> None:
    """Attach the `catalog` group."""
    group = typer.Typer(help="Danh mục sản phẩm / product catalog", no_args_is_help=True)

    @group.command("summary")
    def summary_cmd() -> None:
        """Thống kê danh mục / counts by stars, group, producer type and certificate state."""
        print_summary(settings_or_exit(), date.today())

    app.add_typer(group, name="catalog")
