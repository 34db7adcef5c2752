"""Daily delivery of producer reports: an HTML file per producer, and an e-mail when SMTP is set.

`deliver_producer_reports(ctx)` is blocking (file and SMTP I/O); the daemon runs it in a worker
thread on `scheduler.report_cron`. One producer's failed e-mail is logged and does not stop the
others. The SMTP password comes only from the environment (`OCOP_SYNC__REPORTS__SMTP_PASSWORD`).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

from sqlmodel import select

from connector.context import AppContext
from connector.reports import queries as reports
from connector.reports.i18n import Lang, Translator, parse_lang
from connector.reports.render import producer_html
from connector.settings import ReportSettings
from connector.store import session_scope
from connector.store.models import ProducerRow
from schemas.report import ProducerReport

log = logging.getLogger(__name__)
SMTP_TIMEOUT_S = 30.0


def report_path(out_dir: Path, producer_id: str, day: str) -> Path:
    """Where one producer's report for one day is written: `<out_dir>/<day>/<producer_id>.html`."""
    return out_dir / day / f"{producer_id}.html"


def _summary_text(report: ProducerReport, t: Translator) -> str:
    return "\n".join(f"- {t('state.' + state)}: {n}" for state, n in report.summary.items() if n)


def build_email(report: ProducerReport, html: str, *, sender: str, recipient: str, day: str) -> EmailMessage:
    """The e-mail for one producer: a plain-text summary, the report inline as HTML, and attached."""
    t = Translator(report.lang)
    # long lines allowed: the default 78-column folding splits encoded words and loses the space between them
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    message["Subject"] = t("email.subject", name=report.producer.name, day=day)
    message["From"] = sender
    message["To"] = recipient
    message.set_content(t("email.body", name=report.producer.name, day=day, summary=_summary_text(report, t)))
    message.add_alternative(html, subtype="html")
    message.add_attachment(
        html.encode("utf-8"), maintype="text", subtype="html", filename=f"ocop-{report.producer.id}-{day}.html"
    )
    return message


def send_email(config: ReportSettings, message: EmailMessage) -> None:
    """Send one message through the configured SMTP server (STARTTLS and login when configured)."""
    with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
        if config.smtp_starttls:
            smtp.starttls()
        if config.smtp_user and config.smtp_password is not None:
            smtp.login(config.smtp_user, config.smtp_password.get_secret_value())
        smtp.send_message(message)


def deliver_producer_reports(ctx: AppContext, *, lang: Lang | None = None) -> list[Path]:
    """Write every producer's HTML report into `reports.out_dir`; e-mail it when `reports.smtp_host` is set.

    Returns the files written. A producer without a contact e-mail still gets a file.
    """
    config = ctx.settings.reports
    language = lang or parse_lang(config.lang)
    now: datetime = ctx.clock()
    tz = ctx.settings.scheduler.timezone
    day = reports.local_today(now, ctx.settings).isoformat()
    written: list[Path] = []
    with session_scope(ctx.engine) as session:
        contacts = {row.id: row.contact_email for row in session.exec(select(ProducerRow))}
        for producer_id in sorted(contacts):
            report = reports.producer_report(session, ctx.settings, producer_id, now=now, lang=language)
            html = producer_html(report, tz=tz)
            path = report_path(config.out_dir, producer_id, day)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.write_text(html, encoding="utf-8")
            written.append(path)
            recipient = contacts[producer_id]
            if not config.smtp_host or not recipient:
                continue
            message = build_email(report, html, sender=config.smtp_from, recipient=recipient, day=day)
            try:
                send_email(config, message)
            except (smtplib.SMTPException, OSError) as exc:
                log.warning("report e-mail to producer %s failed: %s", producer_id, type(exc).__name__)
    return written
