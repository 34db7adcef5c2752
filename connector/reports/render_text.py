"""Text report formats: JSON (the schema), formula-safe CSV and Markdown with neutralised cell text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel

from connector.reports.formatting import (
    DEFAULT_TZ,
    Formatter,
    csv_safe,
    lines_by_sku,
    needing_action,
    products_by_urgency,
)
from connector.reports.i18n import Lang, Translator
from schemas.report import DriftItem, DriftReport, ProducerReport, RunsReport

MD_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"} | {c: "\\" + c for c in "\\`*_[]()!|~"})
MD_BLOCK_STARTS = ("#", "+", "-", "=")


def to_json(report: BaseModel) -> str:
    """The report as indented JSON following its pydantic schema."""
    return report.model_dump_json(indent=2) + "\n"


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
    return buf.getvalue()


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def producer_csv(report: ProducerReport) -> str:
    """One row per product and shop, headers in the report's language."""
    t = Translator(report.lang)
    header = [
        t(k)
        for k in (
            "col.sku", "col.product", "col.shop", "col.marketplace", "col.state", "col.since", "col.reason",
            "col.field", "col.price_catalog", "col.price_sent", "col.price_observed", "col.stock_catalog",
            "col.stock_sent", "col.stock_observed", "col.last_success", "col.next_step",
        )
    ]  # fmt: skip
    rows = (
        [
            line.sku, line.product_name, line.shop_id, line.marketplace, line.state_text, _iso(line.since),
            line.reason_text, t.field(line.field), line.catalog_price_vnd, line.sent_price_vnd, line.observed_price_vnd,
            line.catalog_stock, line.sent_stock, line.observed_stock, _iso(line.last_success_at), line.next_step,
        ]
        for line in report.listings
    )  # fmt: skip
    return _csv(header, rows)


def drift_csv(report: DriftReport, lang: Lang = "vi") -> str:
    """Open, silent-failure and resolved drift, then dead actions, one row each with a section column."""
    t = Translator(lang)
    fmt = Formatter(lang)
    header = [
        t(k)
        for k in (
            "col.section", "col.kind", "col.shop", "col.producer", "col.sku", "col.expected", "col.observed",
            "col.first_seen", "col.age", "col.resolved_at", "col.error",
        )
    ]  # fmt: skip

    def drift_rows(section: str, items: Sequence[DriftItem]) -> list[list[object]]:
        return [
            [t(section), fmt.kind(d.kind), d.shop_id, d.producer_id or "", d.sku, fmt.drift_value(d.kind, d.expected),
             fmt.drift_value(d.kind, d.observed),
             _iso(d.first_seen), d.age_s, _iso(d.resolved_at), ""]
            for d in items
        ]  # fmt: skip

    rows = drift_rows("section.open", report.open)
    rows += drift_rows("section.silent", report.silent_failures)
    rows += drift_rows("section.resolved_short", report.resolved)
    rows += [
        [t("section.dead"), fmt.value("action", a.kind), a.shop_id, a.producer_id or "", a.sku, "", "",
         _iso(a.created_at), "", "", a.last_error]
        for a in report.dead_actions
    ]  # fmt: skip
    return _csv(header, rows)


def runs_csv(report: RunsReport, lang: Lang = "vi") -> str:
    """One row per run."""
    t, fmt = Translator(lang), Formatter(lang)
    header = [t(k) for k in ("col.run", "col.shop", "col.kind", "col.trigger", "col.started", "col.duration",
                             "col.outcome", "col.writes", "col.error")]  # fmt: skip
    rows = (
        [r.id, r.shop_id, fmt.value("run_kind", r.kind), fmt.value("trigger", r.trigger), _iso(r.started_at),
         r.duration_s, fmt.value("outcome", r.outcome), r.counters.get("writes", ""), r.error]
        for r in report.runs
    )  # fmt: skip
    return _csv(header, rows)


def md_cell(value: object) -> str:
    """Text as inert Markdown on one line: no link, image, code, emphasis, HTML or table cell break.

    Catalog and marketplace text reaches reports, so `[x](http://evil)` must not become a link nor
    `![i](x)` an image fetched by the reader's mail client.
    """
    text = "—" if value is None or value == "" else str(value)
    text = " ".join(text.translate(MD_ESCAPES).split())
    return "\\" + text if text.startswith(MD_BLOCK_STARTS) else text


def _md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows]
    return lines


def producer_markdown(report: ProducerReport, tz: str = DEFAULT_TZ) -> str:
    """The producer report as Markdown: summary, shop problems, certificates, one table per product."""
    t, f = Translator(report.lang), Formatter(report.lang, tz)
    p = report.producer
    out = [f"# {md_cell(t('title.producer', name=p.name))}", ""]
    out += [md_cell(t("producer_line", name=p.name, id=p.id, province=p.province)), ""]
    out += [md_cell(t("generated_at", at=f.dt(report.generated_at))), "", f"## {t('section.summary')}", ""]
    out += [md_cell(t("summary.counts", products=len(report.products), listings=len(report.listings))), ""]
    if needs := needing_action(report):
        out += [md_cell(t("summary.needs_action", n=len(needs))), ""]
    out += [f"{t('summary.listings_by_state')}:", ""]
    out += [f"- {t('state.' + state)}: {n}" for state, n in report.summary.items() if n] + [""]
    if report.shop_problems:
        out += [f"## {t('section.shop_problems')}", ""]
        out += [f"- {md_cell(sp.text)}" for sp in report.shop_problems] + [""]
    out += [f"## {t('section.certificates')}", ""]
    if report.certificates:
        out += _md_table(
            [t("col.sku"), t("col.product"), t("col.certificate"), t("col.valid_until"), t("col.state")],
            (
                [c.sku, c.product_name, c.decision_no, c.valid_until.isoformat(),
                 t("cert.expired") if c.expired else t("cert.days_left", days=c.days_left)]
                for c in report.certificates
            ),
        )  # fmt: skip
    else:
        out.append(t("none"))
    out += ["", f"## {t('section.listings')}", ""]
    by_sku = lines_by_sku(report.listings)
    for product in products_by_urgency(report):
        out += [f"### {md_cell(product.name)} ({md_cell(product.sku)})", ""]
        out += _md_table(
            [t("col.marketplace"), t("col.state"), t("col.reason"), t("col.price_sent"), t("col.price_observed"),
             t("col.stock_sent"), t("col.stock_observed"), t("col.next_step")],
            (
                [f"{line.marketplace} ({line.shop_id})", line.state_text, line.reason_text, f.vnd(line.sent_price_vnd),
                 f.vnd(line.observed_price_vnd), f.num(line.sent_stock), f.num(line.observed_stock), line.next_step]
                for line in by_sku.get(product.sku, [])
            ),
        )  # fmt: skip
        out.append("")
    return "\n".join(out) + "\n"


def drift_markdown(report: DriftReport, lang: Lang = "vi", tz: str = DEFAULT_TZ) -> str:
    """The drift report as Markdown."""
    t, f = Translator(lang), Formatter(lang, tz)
    out = [f"# {t('title.drift')}", "", t("generated_at", at=f.dt(report.generated_at)), ""]
    out += [f"## {t('section.open_drift')} ({report.open_count})", ""]
    out += [f"- {md_cell(f.kind(kind))}: {n}" for kind, n in report.open_by_kind.items()] + [""]

    def table(items: Sequence[DriftItem]) -> list[str]:
        if not items:
            return [t("none"), ""]
        return [*_md_table(
            [t("col.kind"), t("col.shop"), t("col.producer"), t("col.sku"), t("col.expected"), t("col.observed"),
             t("col.first_seen"), t("col.age")],
            ([f.kind(d.kind), d.shop_id, d.producer_id, d.sku, f.drift_value(d.kind, d.expected),
              f.drift_value(d.kind, d.observed), f.dt(d.first_seen), f.age(d.age_s)] for d in items),
        ), ""]  # fmt: skip

    out += table(report.open)
    out += [f"## {t('section.dead_actions')} ({len(report.dead_actions)})", ""]
    if report.dead_actions:
        out += _md_table(
            [t("col.shop"), t("col.sku"), t("col.action"), t("col.attempts"), t("col.error")],
            ([a.shop_id, a.sku, f.value("action", a.kind), a.attempts, a.last_error] for a in report.dead_actions),
        )
        out.append("")
    else:
        out += [t("none"), ""]
    out += [f"## {t('section.silent_failures')} ({len(report.silent_failures)})", "", *table(report.silent_failures)]
    out += [f"## {t('section.resolved', since=f.dt(report.since))} ({len(report.resolved)})", ""]
    out += table(report.resolved)
    return "\n".join(out)


def runs_markdown(report: RunsReport, lang: Lang = "vi", tz: str = DEFAULT_TZ) -> str:
    """The run history as Markdown."""
    t, f = Translator(lang), Formatter(lang, tz)
    out = [f"# {t('title.runs')}", ""]
    out += _md_table(
        [t("col.run"), t("col.shop"), t("col.kind"), t("col.trigger"), t("col.started"), t("col.duration"),
         t("col.outcome"), t("col.writes"), t("col.error")],
        ([r.id, r.shop_id, f.value("run_kind", r.kind), f.value("trigger", r.trigger), f.dt(r.started_at),
          r.duration_s, f.value("outcome", r.outcome), r.counters.get("writes", ""), r.error] for r in report.runs),
    )  # fmt: skip
    return "\n".join(out) + "\n"
