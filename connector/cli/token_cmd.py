"""`ocop-sync token`: create, revoke and list HTTP API tokens (only their hashes are stored)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from connector.cli.common import console, err_console, settings_or_exit
from connector.cli.db_cmd import migrated_engine
from connector.store import session_scope
from connector.web.auth import Role, TokenError, create_token, list_tokens, revoke_token

EXIT_TOKEN_ERROR = 1


def register(app: typer.Typer) -> None:
    """Attach the `token` group."""
    group = typer.Typer(help="Mã truy cập API / API tokens", no_args_is_help=True)

    @group.command("create")
    def create_cmd(
        operator: bool = typer.Option(False, "--operator", help="toàn quyền xem / sees everything"),
        producer: str | None = typer.Option(None, "--producer", help="chỉ xem chủ thể này / sees only this producer"),
        label: str = typer.Option("", "--label", help="ghi chú / a note, e.g. who holds it"),
    ) -> None:
        """Tạo mã; chỉ in ra một lần / create a token; it is printed once and cannot be shown again."""
        from connector.clock import utcnow

        if operator == (producer is not None):
            raise typer.BadParameter("give exactly one of --operator or --producer ID")
        settings = settings_or_exit()
        engine = migrated_engine(settings)
        try:
            with session_scope(engine) as session:
                token_id, token = create_token(
                    session,
                    role=Role.OPERATOR if operator else Role.PRODUCER,
                    producer_id=producer,
                    label=label,
                    now=utcnow(),
                )
        except TokenError as exc:
            err_console.print(f"[red]Không tạo được mã / cannot create token:[/red] {exc}")
            raise typer.Exit(EXIT_TOKEN_ERROR) from None
        finally:
            engine.dispose()
        err_console.print(
            f"Mã #{token_id} đã tạo; lưu lại ngay, sẽ không hiện lại / token #{token_id} created; "
            "store it now, it is not shown again:"
        )
        sys.stdout.write(token + "\n")

    @group.command("revoke")
    def revoke_cmd(id_or_token: str = typer.Argument(..., help="số mã hoặc chính mã / token id or the token")) -> None:
        """Thu hồi mã / revoke a token (by id or by the token itself)."""
        from connector.clock import utcnow

        settings = settings_or_exit()
        engine = migrated_engine(settings)
        try:
            with session_scope(engine) as session:
                token_id = revoke_token(session, id_or_token, now=utcnow())
        except TokenError:
            err_console.print("[red]Không có mã này / no such token[/red]")
            raise typer.Exit(EXIT_TOKEN_ERROR) from None
        finally:
            engine.dispose()
        console.print(f"Đã thu hồi / revoked #{token_id}")

    @group.command("list")
    def list_cmd() -> None:
        """Liệt kê mã (không hiện mã) / list tokens (never shows tokens or hashes)."""
        settings = settings_or_exit()
        engine = migrated_engine(settings)
        try:
            with session_scope(engine) as session:
                tokens = list_tokens(session)
        finally:
            engine.dispose()
        table = Table("id", "role", "producer", "label", "created", "revoked")
        for info in tokens:
            table.add_row(
                str(info.id),
                info.role,
                info.producer_id or "",
                info.label,
                info.created_at.strftime("%Y-%m-%d %H:%M"),
                info.revoked_at.strftime("%Y-%m-%d %H:%M") if info.revoked_at else "",
            )
        console.print(table)

    app.add_typer(group, name="token")
