"""`ocop-sync config show`: effective settings, secrets redacted."""

from __future__ import annotations

import json

import typer

from connector.cli.common import console, settings_or_exit
from connector.settings import redacted


def register(app: typer.Typer) -> None:
    """Attach the `config` group."""
    group = typer.Typer(help="Cấu hình / settings", no_args_is_help=True)

    @group.command("show")
    def show() -> None:
        """In cấu hình đang dùng (ẩn bí mật) / print effective settings, secrets redacted."""
        settings = settings_or_exit()
        console.print_json(json.dumps(redacted(settings), ensure_ascii=False))

    app.add_typer(group, name="config")
