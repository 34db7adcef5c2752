"""HTML report pages: self-contained (inline CSS, no external assets), jinja2 autoescaped, phone-friendly."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from connector.reports.formatting import (
    DEFAULT_TZ,
    Formatter,
    PageLinks,
    first_sku_by_state,
    lines_by_sku,
    needing_action,
    products_by_urgency,
)
from connector.reports.i18n import Lang, Translator
from schemas.report import DriftItem, DriftPoint, DriftReport, ProducerReport, RunsReport, ShopsReport

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
    context.setdefault("login", None)
    context.setdefault("own_url", None)
    helpers: Mapping[str, Callable[..., Any]] = {
        "t": t, "has": t.has, "dt": f.dt, "vnd": f.vnd, "num": f.num, "age": f.age, "kind_text": f.kind,
        "value": f.value, "dval": f.drift_value,
    }  # fmt: skip
    return _environment().get_template(template).render(lang=lang, **helpers, **context)


def producer_html(report: ProducerReport, *, tz: str = DEFAULT_TZ, page: PageLinks | None = None) -> str:
    """The producer report as one self-contained HTML page (phone-friendly, prints well)."""
    t = Translator(report.lang)
    products = products_by_urgency(report)
    return render_page(
        "producer.html",
        lang=report.lang,
        tz=tz,
        r=report,
        products=products,
        needs_action=needing_action(report),
        first_sku=first_sku_by_state(products, report.listings),
        lines_by_sku=lines_by_sku(report.listings),
        title=t("title.producer", name=report.producer.name),
        page=page,
    )


@dataclass(frozen=True)
class DriftPaging:
    """Which slice of open drift a served drift page shows, and the filters that select it."""

    page: int = 1
    per_page: int = 50
    kind: str = ""
    shop: str = ""
    lang: str = ""
    shops: tuple[str, ...] = ()

    def url(self, page: int, **change: str) -> str:
        """The drift page `page` with these filters (`kind=...`, `shop=...` override the current ones)."""
        params = {"kind": self.kind, "shop": self.shop, "lang": self.lang} | change | {"page": str(page)}
        return "/drift?" + urlencode({k: v for k, v in params.items() if v and not (k == "page" and v == "1")})


@dataclass(frozen=True)
class DriftView:
    """The open items on this page, the pager, and resolved drift counted by local day and kind."""

    items: list[DriftItem]
    total: int
    first: int
    last: int
    page: int
    pages: int
    resolved_by_day: list[tuple[str, str, int]]


def drift_view(report: DriftReport, paging: DriftPaging, tz: str) -> DriftView:
    """Filter open drift by kind, cut out one page (open first), and collapse resolved drift by day and kind."""
    matching = [d for d in report.open if not paging.kind or d.kind == paging.kind]
    pages = max(1, math.ceil(len(matching) / paging.per_page))
    page = min(max(1, paging.page), pages)
    start = (page - 1) * paging.per_page
    items = matching[start : start + paging.per_page]
    zone = ZoneInfo(tz)
    counts = Counter(
        (d.resolved_at.astimezone(zone).date().isoformat(), d.kind) for d in report.resolved if d.resolved_at
    )
    by_day = sorted(((day, kind, n) for (day, kind), n in counts.items()), key=lambda x: (x[0], x[1]), reverse=True)
    return DriftView(items, len(matching), start + 1 if items else 0, start + len(items), page, pages, by_day)


def drift_html(
    report: DriftReport,
    lang: Lang = "vi",
    *,
    tz: str = DEFAULT_TZ,
    page: PageLinks | None = None,
    paging: DriftPaging | None = None,
) -> str:
    """The drift report as one self-contained HTML page; served, a page of open drift with filters."""
    paging = paging or DriftPaging(per_page=max(1, len(report.open)))
    view = drift_view(report, paging, tz)
    title = Translator(lang)("title.drift")
    return render_page("drift.html", lang=lang, tz=tz, r=report, v=view, paging=paging, title=title, page=page)


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
