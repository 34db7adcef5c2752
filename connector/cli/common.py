"""Helpers shared by CLI commands: loading settings with the documented exit codes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from connector.settings import Settings, SettingsError, load_settings

EXIT_BAD_CONFIG = 2

console = Console()
err_console = Console(stderr=True)


def settings_or_exit(path: Path | None = None) -> Settings:
    """Load settings, or print the problem and exit with code 2."""
    try:
        return load_settings(path)
    except SettingsError as exc:
        err_console.print(f"[red]Cấu hình không hợp lệ / invalid settings:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc
