"""`ocop-sync report stock SKU`: why a SKU's canonical stock is what it is (the stock ledger)."""

from __future__ import annotations

import sys

import typer

from connector.catalog.ledger import explain_stock
from connector.cli.common import err_console, settings_or_exit
from connector.cli.db_cmd import migrated_engine
from connector.reports.i18n import Translator, UnknownLanguageError, parse_lang
from connector.reports.stock import render_stock
from connector.store import session_scope

EXIT_NOT_FOUND = 1


def register_report(group: typer.Typer) -> None:
    """Attach `stock` to the `report` group."""

    @group.command("stock")
    def stock_cmd(
        sku: str = typer.Argument(..., help="mã SKU / SKU"),
        lang: str | None = typer.Option(None, "--lang", help="vi (mặc định / default) | en"),
        limit: int = typer.Option(200, "--limit", min=1, help="số biến động gần nhất / newest movements shown"),
    ) -> None:
        """Giải thích tồn kho của một SKU / explain one SKU's stock from its ledger movements."""
        settings = settings_or_exit()
        try:
            language = parse_lang(lang or settings.reports.lang)
        except UnknownLanguageError as exc:
            raise typer.BadParameter(str(exc), param_hint="--lang") from exc
        engine = migrated_engine(settings)
        try:
            with session_scope(engine) as session:
                explanation = explain_stock(session, sku, limit=limit)
                text = (
                    render_stock(explanation, lang=language, tz=settings.scheduler.timezone)
                    if explanation is not None
                    else None
                )
        finally:
            engine.dispose()
        if text is None:
            err_console.print(Translator(language)("stock.unknown", sku=sku))
            raise typer.Exit(EXIT_NOT_FOUND)
        sys.stdout.write(text)
