"""CLI command groups; each module owns one area and exposes `register(app)`."""

from __future__ import annotations

import typer

from connector.commands import config_cmd


def register_all(app: typer.Typer) -> None:
    """Attach every command group to the root app."""
    for module in (config_cmd,):
        module.register(app)
