"""`ocop-sync db`: bring the database schema up to date, or write a new migration revision."""

from __future__ import annotations

import typer

from connector.cli.common import console, migrated_engine, settings_or_exit
from connector.store.migrate import write_revision

__all__ = ["migrated_engine", "register"]


def register(app: typer.Typer) -> None:
    """Attach the `db` group."""
    group = typer.Typer(help="Cơ sở dữ liệu / database", no_args_is_help=True)

    @group.command("upgrade")
    def upgrade_cmd() -> None:
        """Áp dụng migration / apply every pending schema migration."""
        settings = settings_or_exit()
        engine = migrated_engine(settings)
        console.print(f"Đã cập nhật lược đồ / schema up to date: {engine.url.render_as_string(hide_password=True)}")
        engine.dispose()

    @group.command("revision")
    def revision_cmd(
        message: str = typer.Option(..., "-m", "--message", help="what changed / nội dung thay đổi"),
    ) -> None:
        """Tạo migration mới từ models / autogenerate a revision for model changes (review it, then commit)."""
        path = write_revision(message)
        console.print(f"Đã tạo / written: {path}")

    app.add_typer(group, name="db")
