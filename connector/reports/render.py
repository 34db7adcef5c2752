"""Rendering report models: JSON, formula-safe CSV, Markdown and self-contained HTML (jinja2, autoescaped).

Pure functions from a report model (plus language and time zone) to text. HTML pages carry
their CSS inline and load nothing from elsewhere, so a saved or e-mailed report stays readable.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel

from connector.reports.i18n import Lang, Translator
from schemas.report import DriftItem, DriftPoint, DriftReport, ListingLine, ProducerReport, RunsReport, ShopsReport

Format = Literal["json", "csv", "md", "html"]
FORMATS: tuple[Format, ...] = ("json", "csv", "md", "html")
TEMPLATES = Path(__file__).parent / "templates"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_TZ = "Asia/Ho_Chi_Minh"


class UnknownFormatError(ValueError):
    """A report format other than json, csv, md or html was asked for."""


def parse_format(value: str) -> Format:
    """`value` as a report format (`markdown` is accepted for `md`), or UnknownFormatError."""
    value = {"markdown": "md"}.get(value, value)
    for fmt in FORMATS:
        if fmt == value:
            return fmt
    raise UnknownFormatError(f"format must be one of {', '.join(FORMATS)}, got {value!r}")


# --------------------------------------------------------------------------- value formatting


@dataclass(frozen=True)
class PageLinks:
    """Navigation links of a served page (None for a report saved to a file or e-mailed)."""

    lang_url: str = ""
    logout: str = ""
    home: str = "/"
    drift_url: str = "/drift"
    producer_base: str = "/producers/"

    def producer_url(self, producer_id: str) -> str:
        """The page of one producer."""
        return self.producer_base + quote(producer_id, safe="")


def csv_safe(value: object) -> str:
    """A CSV cell that spreadsheets will not run as a formula (OWASP CSV injection guidance)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@dataclass(frozen=True)
class Formatter:
    """Turns values into display text for one language and time zone."""

    lang: Lang = "vi"
    tz: str = DEFAULT_TZ

    def dt(self, moment: datetime | None) -> str:
        """A moment in local time, e.g. `2026-03-01 15:00`; `—` when unknown."""
        if moment is None:
            return "—"
        return moment.astimezone(ZoneInfo(self.tz)).strftime("%Y-%m-%d %H:%M")

    def vnd(self, amount: int | None) -> str:
        """Whole đồng with thousands separators (`85.000` in vi, `85,000` in en); `—` when unknown."""
        if amount is None:
            return "—"
        text = f"{amount:,}"
        return text.replace(",", ".") if self.lang == "vi" else text

    def num(self, value: int | None) -> str:
        """An integer, or `—` when unknown."""
        return "—" if value is None else str(value)

    def age(self, seconds: int) -> str:
        """A duration in the largest whole unit (days, hours, minutes)."""
        t = Translator(self.lang)
        if seconds >= 86_400:
            return t("age.days", n=seconds // 86_400)
        if seconds >= 3_600:
            return t("age.hours", n=seconds // 3_600)
        return t("age.minutes", n=seconds // 60)

    def kind(self, kind: str) -> str:
        """A drift kind in words."""
        t = Translator(self.lang)
        return t(f"drift.{kind}") if t.has(f"drift.{kind}") else kind


# --------------------------------------------------------------------------- JSON


def to_json(report: BaseModel) -> str:
    """The report as indented JSON following its pydantic schema."""
    return report.model_dump_json(indent=2) + "\n"


# --------------------------------------------------------------------------- CSV


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
            line.reason_text, line.field, line.catalog_price_vnd, line.sent_price_vnd, line.observed_price_vnd,
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
            [t(section), fmt.kind(d.kind), d.shop_id, d.producer_id or "", d.sku, d.expected, d.observed,
             _iso(d.first_seen), d.age_s, _iso(d.resolved_at), ""]
            for d in items
        ]  # fmt: skip

    rows = drift_rows("section.open", report.open)
    rows += drift_rows("section.silent", report.silent_failures)
    rows += drift_rows("section.resolved_short", report.resolved)
    rows += [
        [t("section.dead"), a.kind, a.shop_id, a.producer_id or "", a.sku, "", "", _iso(a.created_at), "",
         "", a.last_error]
        for a in report.dead_actions
    ]  # fmt: skip
    return _csv(header, rows)


def runs_csv(report: RunsReport, lang: Lang = "vi") -> str:
    """One row per run."""
    t = Translator(lang)
    header = [t(k) for k in ("col.run", "col.shop", "col.kind", "col.trigger", "col.started", "col.duration",
                             "col.outcome", "col.writes", "col.error")]  # fmt: skip
    rows = (
        [r.id, r.shop_id, r.kind, r.trigger, _iso(r.started_at), r.duration_s, r.outcome,
         r.counters.get("writes", ""), r.error]
        for r in report.runs
    )  # fmt: skip
    return _csv(header, rows)


# --------------------------------------------------------------------------- Markdown


def md_cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, HTML neutralised, one line."""
    text = "—" if value is None or value == "" else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split())


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
    by_sku = _lines_by_sku(report.listings)
    for product in report.products:
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
    out += [f"- {f.kind(kind)}: {n}" for kind, n in report.open_by_kind.items()] + [""]

    def table(items: Sequence[DriftItem]) -> list[str]:
        if not items:
            return [t("none"), ""]
        return [*_md_table(
            [t("col.kind"), t("col.shop"), t("col.producer"), t("col.sku"), t("col.expected"), t("col.observed"),
             t("col.first_seen"), t("col.age")],
            ([f.kind(d.kind), d.shop_id, d.producer_id, d.sku, d.expected, d.observed, f.dt(d.first_seen),
              f.age(d.age_s)] for d in items),
        ), ""]  # fmt: skip

    out += table(report.open)
    out += [f"## {t('section.dead_actions')} ({len(report.dead_actions)})", ""]
    if report.dead_actions:
        out += _md_table(
            [t("col.shop"), t("col.sku"), t("col.action"), t("col.attempts"), t("col.error")],
            ([a.shop_id, a.sku, a.kind, a.attempts, a.last_error] for a in report.dead_actions),
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
        ([r.id, r.shop_id, r.kind, r.trigger, f.dt(r.started_at), r.duration_s, r.outcome,
          r.counters.get("writes", ""), r.error] for r in report.runs),
    )  # fmt: skip
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "svg"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _lines_by_sku(lines: Sequence[ListingLine]) -> dict[str, list[ListingLine]]:
    result: dict[str, list[ListingLine]] = defaultdict(list)
    for line in lines:
        result[line.sku].append(line)
    return dict(result)


def render_page(template: str, *, lang: Lang, tz: str = DEFAULT_TZ, **context: Any) -> str:
    """Render one of `connector/templates` with the translator and value formatters in scope."""
    t, f = Translator(lang), Formatter(lang, tz)
    context.setdefault("page", None)
    context.setdefault("title", "ocop-sync")
    helpers: Mapping[str, Callable[..., Any]] = {
        "t": t, "has": t.has, "dt": f.dt, "vnd": f.vnd, "num": f.num, "age": f.age, "kind_text": f.kind,
    }  # fmt: skip
    return _environment().get_template(template).render(lang=lang, **helpers, **context)


def producer_html(report: ProducerReport, *, tz: str = DEFAULT_TZ, page: PageLinks | None = None) -> str:
    """The producer report as one self-contained HTML page (phone-friendly, prints well)."""
    t = Translator(report.lang)
    return render_page(
        "producer.html",
        lang=report.lang,
        tz=tz,
        r=report,
        lines_by_sku=_lines_by_sku(report.listings),
        title=t("title.producer", name=report.producer.name),
        page=page,
    )


def drift_html(report: DriftReport, lang: Lang = "vi", *, tz: str = DEFAULT_TZ, page: PageLinks | None = None) -> str:
    """The drift report as one self-contained HTML page."""
    return render_page("drift.html", lang=lang, tz=tz, r=report, title=Translator(lang)("title.drift"), page=page)


def runs_html(report: RunsReport, lang: Lang = "vi", *, tz: str = DEFAULT_TZ) -> str:
    """The run history as one self-contained HTML page."""
    return render_page("runs.html", lang=lang, tz=tz, r=report, title=Translator(lang)("title.runs"))


def dashboard_html(
    shops: ShopsReport,
    drift: DriftReport,
    runs: RunsReport,
    timeline: Sequence[DriftPoint],
    *,
    lang: Lang,
    page: PageLinks,
    tz: str = DEFAULT_TZ,
) -> str:
    """The operator dashboard: shops, recent runs, open drift by kind, and a drift-over-time chart."""
    return render_page(
        "dashboard.html",
        lang=lang,
        tz=tz,
        shops=shops,
        drift=drift,
        runs=runs,
        chart=drift_chart_svg(timeline, lang),
        title=Translator(lang)("title.dashboard"),
        page=page,
    )


def drift_chart_svg(points: Sequence[DriftPoint], lang: Lang = "vi") -> Markup:
    """An inline SVG chart: bars of drift open at the end of each day, with opened/resolved ticks."""
    t = Translator(lang)
    if not points:
        return Markup("<p>") + escape(t("chart.empty")) + Markup("</p>")
    width, height, pad_l, pad_b, pad_t = 720, 220, 36, 28, 24
    top = max(1, *(max(p.open_at_end, p.opened, p.resolved) for p in points))
    slot = (width - pad_l - 8) / len(points)
    bar = max(2.0, slot * 0.6)
    scale = (height - pad_b - pad_t) / top

    def y(value: int) -> float:
        return height - pad_b - value * scale

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(t('section.drift_chart'))}</title>",
        f'<line x1="{pad_l}" y1="{y(0):.1f}" x2="{width - 4}" y2="{y(0):.1f}" stroke="#8c959f"/>',
        f'<text x="{pad_l - 6}" y="{y(top) + 4:.1f}" text-anchor="end">{top}</text>',
        f'<text x="{pad_l - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
    ]
    for i, p in enumerate(points):
        x = pad_l + i * slot + (slot - bar) / 2
        label = escape(f"{p.day.isoformat()}: {t('chart.open')} {p.open_at_end}, {t('chart.opened')} {p.opened}, "
                       f"{t('chart.resolved')} {p.resolved}")  # fmt: skip
        parts.append(
            f'<rect x="{x:.1f}" y="{y(p.open_at_end):.1f}" width="{bar:.1f}" '
            f'height="{p.open_at_end * scale:.1f}" fill="#0969da" opacity="0.75"><title>{label}</title></rect>'
        )
        parts.append(f'<circle cx="{x + bar / 2:.1f}" cy="{y(p.opened):.1f}" r="3" fill="#cf222e"/>')
        parts.append(f'<circle cx="{x + bar / 2:.1f}" cy="{y(p.resolved):.1f}" r="3" fill="#1a7f37"/>')
        if i % max(1, len(points) // 7) == 0 or i == len(points) - 1:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle">{p.day:%d/%m}</text>')
    legend = [("#0969da", "chart.open"), ("#cf222e", "chart.opened"), ("#1a7f37", "chart.resolved")]
    for i, (colour, key) in enumerate(legend):
        x = pad_l + i * 180
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="13">{escape(t(key))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# --------------------------------------------------------------------------- dispatch


def render_producer(report: ProducerReport, fmt: Format, *, tz: str = DEFAULT_TZ) -> str:
    """The producer report in `fmt`."""
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return producer_csv(report)
    if fmt == "md":
        return producer_markdown(report, tz)
    return producer_html(report, tz=tz)


def render_drift(report: DriftReport, fmt: Format, *, lang: Lang = "vi", tz: str = DEFAULT_TZ) -> str:
    """The drift report in `fmt`."""
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return drift_csv(report, lang)
    if fmt == "md":
        return drift_markdown(report, lang, tz)
    return drift_html(report, lang, tz=tz)


def render_runs(report: RunsReport, fmt: Format, *, lang: Lang = "vi", tz: str = DEFAULT_TZ) -> str:
    """The run history in `fmt`."""
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return runs_csv(report, lang)
    if fmt == "md":
        return runs_markdown(report, lang, tz)
    return runs_html(report, lang, tz=tz)
