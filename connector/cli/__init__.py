"""`ocop-sync`: the command line (typer). Each command group lives in a module of this package."""

from __future__ import annotations

import typer

from connector.cli.commands import register_all
from connector.cli.common import run_cli

app = typer.Typer(
    name="ocop-sync",
    help="Đồng bộ danh mục OCOP với các sàn TMĐT / Sync the OCOP catalog with marketplaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # no rich traceback with local variables (they may hold secrets)
)
register_all(app)


def main() -> None:
    """Console-script entry point."""
    run_cli(app)
