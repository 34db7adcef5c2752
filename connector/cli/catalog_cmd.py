"""`ocop-sync catalog`: summary, import and export of the canonical catalog."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from connector.catalog.io import (
    CatalogConflictError,
    CatalogFormat,
    CatalogFormatError,
    CatalogValidationError,
    ConflictPolicy,
    export_file,
    format_of,
    import_file,
)
from connector.catalog.store import read_producers, read_products
from connector.catalog.summary import CatalogSummary, summarise
from connector.cli.common import console, err_console, settings_or_exit
from connector.cli.db_cmd import migrated_engine
from connector.reports.i18n import bilingual
from connector.settings import Settings
from connector.store import read_only, session_scope


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


def summary_line(summary: CatalogSummary) -> str:
    """The catalog in one line: products, producers and the star distribution."""
    short = ("5★", "4★ tiềm năng 5★ / potential 5★", "4★", "3★")  # the order of CatalogSummary.by_stars
    stars = " · ".join(f"{name}: {count}" for name, (_, count) in zip(short, summary.by_stars, strict=True))
    return (
        f"Danh mục / catalog: {summary.products} sản phẩm / products, {summary.producers} chủ thể / producers ({stars})"
    )


def print_summary(settings: Settings, today: date) -> None:
    """Print the catalog summary of the configured database."""
    engine = migrated_engine(settings)
    try:
        with session_scope(read_only(engine)) as session:  # works while another process writes
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


EXIT_INVALID_FILE = 2
MAX_SHOWN_VALUE = 60


def print_row_errors(error: CatalogValidationError) -> None:
    """List every refused row: row, column, value and reason (on stderr)."""
    table = Table(title="Các dòng bị từ chối / rejected rows", title_justify="left")
    for header in ("Dòng / Row", "Cột / Column", "Giá trị / Value", "Lý do / Reason"):
        table.add_column(header, overflow="fold")
    for e in error.errors:
        value = e.value if len(e.value) <= MAX_SHOWN_VALUE else e.value[:MAX_SHOWN_VALUE] + "…"
        table.add_row(str(e.row), escape(e.column or "-"), escape(value), escape(e.reason))
    err_console.print(table)
    err_console.print(
        f"[red]Không nhập gì / nothing imported:[/red] {len(error.errors)} lỗi trong / problems in "
        f"{len({e.row for e in error.errors})} dòng / rows"
    )


def print_conflicts(error: CatalogConflictError) -> None:
    """List every conflicting row: row, SKU, column, exported / current / file values, what changed (on stderr)."""
    table = Table(title=bilingual("cli.conflicts.title"), title_justify="left")
    for key in ("cli.col.row", "sku", "cli.col.column", "cli.col.exported", "cli.col.now", "cli.col.file"):
        table.add_column(bilingual(key) if key.startswith("cli.") else key, overflow="fold")
    table.add_column(bilingual("cli.col.reason"), overflow="fold", ratio=2)
    for c in error.conflicts:
        reason = c.reason + (f" ({bilingual('cli.conflicts.since')}: {c.since_export})" if c.since_export else "")
        table.add_row(
            str(c.row), c.sku, c.column, escape(c.exported), escape(c.current), escape(c.file), escape(reason)
        )
    err_console.print(table)
    err_console.print(f"[red]{bilingual('cli.conflicts.nothing', n=len(error.conflicts))}[/red]")
    err_console.print(bilingual("cli.conflicts.hint"))


def import_cmd_body(
    settings: Settings, path: Path, fmt: str | None, dry_run: bool, on_conflict: ConflictPolicy = ConflictPolicy.REFUSE
) -> None:
    """Import `path` into the configured store, or print every problem (or conflict) and exit with code 2."""
    from connector.clock import utcnow

    engine = migrated_engine(settings)
    try:
        counts = import_file(engine, path, format_of(path, fmt), utcnow(), dry_run=dry_run, on_conflict=on_conflict)
    except CatalogValidationError as exc:
        print_row_errors(exc)
        raise typer.Exit(EXIT_INVALID_FILE) from exc
    except CatalogConflictError as exc:
        print_conflicts(exc)
        raise typer.Exit(EXIT_INVALID_FILE) from exc
    except CatalogFormatError as exc:
        err_console.print(f"[red]Tệp không đọc được / unreadable file:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_INVALID_FILE) from exc
    finally:
        engine.dispose()
    prefix = "Thử (không ghi) / dry run (nothing written): " if dry_run else ""
    console.print(
        f"{prefix}thêm mới / inserted {counts.inserted}, cập nhật / updated {counts.updated}, "
        f"không đổi / unchanged {counts.unchanged}"
    )


def register(app: typer.Typer) -> None:
    """Attach the `catalog` group."""
    group = typer.Typer(help="Danh mục sản phẩm / product catalog", no_args_is_help=True)

    @group.command("summary")
    def summary_cmd() -> None:
        """Thống kê danh mục / counts by stars, group, producer type and certificate state."""
        print_summary(settings_or_exit(), date.today())

    @group.command("import")
    def import_cmd(
        file: Path = typer.Argument(..., help="CSV, JSON hoặc/or XLSX"),
        fmt: str | None = typer.Option(
            None, "--format", help="csv|json|xlsx (mặc định theo đuôi tệp / default: extension)"
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="chỉ kiểm tra / validate and count, write nothing"),
        on_conflict: ConflictPolicy = typer.Option(
            ConflictPolicy.REFUSE,
            "--on-conflict",
            help="tồn kho đổi cả trong tệp lẫn từ lúc xuất / stock changed in the file and since the export: "
            "refuse (từ chối, mặc định / default) | merge (cộng phần bạn sửa / apply your change to today's stock)",
        ),
    ) -> None:
        """Nhập danh mục (tất cả hoặc không) / import a catalog file, all or nothing; never undoes sales since export.

        Exit 2 when rows are bad or conflict with changes made since the export.
        """
        import_cmd_body(settings_or_exit(), file, fmt, dry_run, on_conflict)

    @group.command("export")
    def export_cmd(
        fmt: CatalogFormat | None = typer.Option(None, "--format", help="csv|json|xlsx"),
        output: Path | None = typer.Option(None, "-o", "--output", help="tệp ra / output file (default: stdout)"),
    ) -> None:
        """Xuất danh mục / export the catalog (import of the export changes nothing)."""
        chosen = fmt or (format_of(output) if output is not None and output.suffix else CatalogFormat.CSV)
        settings = settings_or_exit()
        engine = migrated_engine(settings)
        try:
            data = export_file(read_only(engine), chosen)
        finally:
            engine.dispose()
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            output.write_bytes(data)
            err_console.print(f"Đã xuất / exported {chosen.value}: {output}")

    app.add_typer(group, name="catalog")
