"""Helpers shared by CLI commands: settings and database access with the documented exit codes.

Exit codes every command shares: 2 invalid settings; 75 the SQLite database stayed locked by
another writer for longer than `database.lock_timeout_s` (try again later; sysexits
EX_TEMPFAIL); 69 the database cannot be used at all (sysexits EX_UNAVAILABLE). Those
expected conditions end the command with one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from connector.context import AppContext
from connector.reports.i18n import Translator
from connector.settings import Settings, SettingsError, load_settings
from connector.store import DatabaseBusy, is_busy, make_engine, upgrade

EXIT_BAD_CONFIG = 2
EXIT_DATABASE_UNAVAILABLE = 69
EXIT_DATABASE_BUSY = 75

console = Console()
err_console = Console(stderr=True)
_told_waiting: list[bool] = [False]


def both_languages(key: str, **values: object) -> str:
    """A catalogue string as the CLI shows it: Vietnamese / English, on one line."""
    return f"{Translator('vi')(key, **values)} / {Translator('en')(key, **values)}"


def settings_or_exit(path: Path | None = None) -> Settings:
    """Load settings, or print the problem and exit with code 2."""
    try:
        return load_settings(path)
    except SettingsError as exc:
        err_console.print(f"[red]Cấu hình không hợp lệ / invalid settings:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from exc


def say_waiting(timeout_s: float) -> None:
    """Tell the operator (once per command) that the database is busy and how long we wait for it."""
    if not _told_waiting[0]:
        _told_waiting[0] = True
        sys.stderr.write(both_languages("cli.db_waiting", seconds=f"{timeout_s:g}") + "\n")
        sys.stderr.flush()


def cli_context(settings: Settings) -> AppContext:
    """The app context of a command: migrated database, waiting for a busy one with a message."""
    return AppContext.build(settings, on_lock_wait=say_waiting)


def migrated_engine(settings: Settings) -> Engine:
    """An engine for the configured database with every migration applied (no write lock when none is pending)."""
    database = settings.database
    engine = make_engine(database.effective_url(), lock_timeout_s=database.lock_timeout_s, on_lock_wait=say_waiting)
    upgrade(engine)
    return engine


def run_cli(app: typer.Typer) -> None:
    """Run the command line; a busy or unusable database ends it with one line and its exit code."""
    try:
        app()
    except OperationalError as exc:  # DatabaseBusy included: the CLI boundary for expected database conditions
        if is_busy(exc):
            waited = exc.waited_s if isinstance(exc, DatabaseBusy) else None
            seconds = f"{waited:g}" if waited is not None else "?"
            sys.stderr.write(both_languages("cli.db_busy", seconds=seconds) + "\n")
            raise SystemExit(EXIT_DATABASE_BUSY) from None
        reason = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(both_languages("cli.db_unavailable", error=reason) + "\n")
        raise SystemExit(EXIT_DATABASE_UNAVAILABLE) from None


def category_map_problems(ctx: AppContext, shop_ids: list[str] | None = None) -> list[str]:
    """Every shop `category_map` entry naming a category unknown to the marketplace's (cached) tree, printed."""
    import asyncio

    from connector.engine.categories import check_category_maps

    problems = asyncio.run(check_category_maps(ctx, shop_ids))
    for problem in problems:
        err_console.print(f"[red]Cấu hình không hợp lệ / invalid configuration:[/red] {problem}", highlight=False)
    return problems


def refuse_unknown_categories(ctx: AppContext, shop_ids: list[str] | None = None) -> None:
    """Exit 2 when a shop's `category_map` names a category the marketplace does not have."""
    if category_map_problems(ctx, shop_ids):
        ctx.engine.dispose()
        raise typer.Exit(EXIT_BAD_CONFIG)
