"""CLI command groups; each module owns one area and exposes `register(app)`."""

from __future__ import annotations

import typer

from connector.cli import (
    adapters_cmd,
    catalog_cmd,
    config_cmd,
    daemon_cmd,
    db_cmd,
    demo_cmd,
    report_cmd,
    shop_cmd,
    sync_cmd,
    token_cmd,
)


def register_all(app: typer.Typer) -> None:
    """Attach every command group to the root app."""
    modules = (
        config_cmd,
        adapters_cmd,
        db_cmd,
        catalog_cmd,
        demo_cmd,
        report_cmd,
        token_cmd,
        daemon_cmd,
        sync_cmd,
        shop_cmd,
    )
    for module in modules:
        module.register(app)
