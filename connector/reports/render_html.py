"""HTML report pages: self-contained (inline CSS, no external assets), jinja2 autoescaped, phone-friendly."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from connector.reports.formatting import DEFAULT_TZ, Formatter, PageLinks, lines_by_sku
from connector.reports.i18n import Lang, Translator
from schemas.report import DriftPoint, DriftReport, ProducerReport, RunsReport, ShopsReport

TEMPLATES = Path(__file__).parent / "templates"


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "svg"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


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
        lines_by_sku=lines_by_sku(report.listings),
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
