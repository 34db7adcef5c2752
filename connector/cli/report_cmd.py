"""`ocop-sync report`: drift, producer listing status, every producer at once, and run history."""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from connector.cli import stock_cmd
from connector.cli.common import cli_context, console, err_console, settings_or_exit
from connector.cli.db_cmd import migrated_engine
from connector.reports import queries as reports
from connector.reports.i18n import Lang, UnknownLanguageError, parse_lang
from connector.reports.render import (
    Format,
    UnknownFormatError,
    parse_format,
    render_drift,
    render_producer,
    render_runs,
)
from connector.store import read_only, session_scope

EXIT_NOT_FOUND = 1
FORMAT_HELP = "json | csv | md | html"
LANG_HELP = "vi (mặc định / default) | en"
_DURATION = re.compile(r"^(\d+)\s*([dh])$")


def parse_since(value: str, now: datetime) -> datetime:
    """A point in time from `YYYY-MM-DD`, an ISO date-time (UTC if no offset), or `7d` / `24h` ago."""
    match = _DURATION.match(value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date, date-time or duration like 7d: {value!r}", param_hint="--since") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _format(value: str) -> Format:
    try:
        return parse_format(value)
    except UnknownFormatError as exc:
        raise typer.BadParameter(str(exc), param_hint="--format") from exc


def _lang(value: str | None, default: str) -> Lang:
    try:
        return parse_lang(value or default)
    except UnknownLanguageError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from exc


def write_output(text: str, fmt: Format, output: Path | None) -> None:
    """Write a rendered report to `output` (CSV with a BOM so spreadsheets read UTF-8), or to stdout."""
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
    err_console.print(f"→ {output}")


def register(app: typer.Typer) -> None:
    """Attach the `report` group."""
    group = typer.Typer(help="Báo cáo / reports", no_args_is_help=True)

    @group.command("drift")
    def drift_cmd(
        shop: str | None = typer.Option(None, "--shop", help="chỉ gian hàng này / only this shop"),
        since: str | None = typer.Option(None, "--since", help="khắc phục từ / resolved since (YYYY-MM-DD, 7d, 24h)"),
        fmt: str = typer.Option("md", "--format", "-f", help=FORMAT_HELP),
        lang: str | None = typer.Option(None, "--lang", help=LANG_HELP),
        output: Path | None = typer.Option(None, "-o", "--output", help="tệp / file (default: stdout)"),
    ) -> None:
        """Chênh lệch danh mục và sàn / drift: open, resolved, dead actions, silent failures."""
        from connector.clock import utcnow

        settings = settings_or_exit()
        now = utcnow()
        format_, language = _format(fmt), _lang(lang, settings.reports.lang)
        since_at = parse_since(since, now) if since else None
        engine = migrated_engine(settings)
        try:
            with session_scope(read_only(engine)) as session:  # works while another process writes
                report = reports.drift_report(session, settings, now=now, shop_id=shop, since=since_at)
        finally:
            engine.dispose()
        write_output(render_drift(report, format_, lang=language, tz=settings.scheduler.timezone), format_, output)

    @group.command("producer")
    def producer_cmd(
        producer_id: str = typer.Argument(..., help="mã chủ thể / producer id"),
        fmt: str = typer.Option("md", "--format", "-f", help=FORMAT_HELP),
        lang: str | None = typer.Option(None, "--lang", help=LANG_HELP),
        output: Path | None = typer.Option(None, "-o", "--output", help="tệp / file (default: stdout)"),
    ) -> None:
        """Tình trạng sản phẩm của một chủ thể trên các sàn / one producer's listing status."""
        from connector.clock import utcnow

        settings = settings_or_exit()
        format_, language = _format(fmt), _lang(lang, settings.reports.lang)
        engine = migrated_engine(settings)
        try:
            with session_scope(read_only(engine)) as session:  # works while another process writes
                report = reports.producer_report(session, settings, producer_id, now=utcnow(), lang=language)
        except reports.UnknownProducerError:
            err_console.print(f"[red]Không có chủ thể / unknown producer:[/red] {producer_id}")
            raise typer.Exit(EXIT_NOT_FOUND) from None
        finally:
            engine.dispose()
        write_output(render_producer(report, format_, tz=settings.scheduler.timezone), format_, output)

    @group.command("all-producers")
    def all_producers_cmd(
        out: Path = typer.Option(..., "--out", help="thư mục / folder"),
        fmt: str = typer.Option("html", "--format", "-f", help=FORMAT_HELP),
        lang: str | None = typer.Option(None, "--lang", help=LANG_HELP),
    ) -> None:
        """Báo cáo cho mọi chủ thể vào một thư mục / every producer's report into a folder."""
        from connector.clock import utcnow

        settings = settings_or_exit()
        format_, language = _format(fmt), _lang(lang, settings.reports.lang)
        now = utcnow()
        out.mkdir(parents=True, exist_ok=True)
        engine = migrated_engine(settings)
        count = 0
        try:
            with session_scope(read_only(engine)) as session:  # works while another process writes
                for producer_id in reports.producer_ids(session):
                    report = reports.producer_report(session, settings, producer_id, now=now, lang=language)
                    text = render_producer(report, format_, tz=settings.scheduler.timezone)
                    path = out / f"{producer_id}.{format_}"
                    path.write_text(text, encoding="utf-8-sig" if format_ == "csv" else "utf-8")
                    count += 1
        finally:
            engine.dispose()
        console.print(f"{count} báo cáo / reports → {out}")

    @group.command("runs")
    def runs_cmd(
        shop: str | None = typer.Option(None, "--shop", help="chỉ gian hàng này / only this shop"),
        limit: int = typer.Option(50, "--limit", min=1, max=10_000),
        fmt: str = typer.Option("md", "--format", "-f", help=FORMAT_HELP),
        lang: str | None = typer.Option(None, "--lang", help=LANG_HELP),
        output: Path | None = typer.Option(None, "-o", "--output", help="tệp / file (default: stdout)"),
    ) -> None:
        """Lịch sử đồng bộ / sync run history, newest first."""
        from connector.clock import utcnow

        settings = settings_or_exit()
        format_, language = _format(fmt), _lang(lang, settings.reports.lang)
        engine = migrated_engine(settings)
        try:
            with session_scope(read_only(engine)) as session:  # works while another process writes
                report = reports.run_history(session, now=utcnow(), shop_id=shop, limit=limit)
        finally:
            engine.dispose()
        write_output(render_runs(report, format_, lang=language, tz=settings.scheduler.timezone), format_, output)

    @group.command("deliver")
    def deliver_cmd(lang: str | None = typer.Option(None, "--lang", help=LANG_HELP)) -> None:
        """Gửi báo cáo cho mọi chủ thể ngay / deliver every producer's report now (what the daily job does).

        Writes each report into `reports.out_dir/<date>/` and, when `reports.smtp_host` is set,
        e-mails it to the producer's contact.
        """
        from connector.reports.delivery import deliver_producer_reports

        settings = settings_or_exit()
        language = _lang(lang, settings.reports.lang)
        ctx = cli_context(settings)
        try:
            written = deliver_producer_reports(ctx, lang=language)
        finally:
            ctx.engine.dispose()
        console.print(f"{len(written)} báo cáo / reports → {settings.reports.out_dir}")

    stock_cmd.register_report(group)
    app.add_typer(group, name="report")
