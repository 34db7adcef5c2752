"""Rendering report models in a chosen format: JSON, formula-safe CSV, Markdown or self-contained HTML.

Pure functions from a report model (plus language and time zone) to text; the formats live in
`render_text` (JSON, CSV, Markdown) and `render_html`, shared value formatting in `formatting`.
"""

from __future__ import annotations

from typing import Literal

from connector.reports.formatting import DEFAULT_TZ, PageLinks, csv_safe
from connector.reports.i18n import Lang
from connector.reports.render_html import dashboard_html, drift_chart_svg, drift_html, producer_html, runs_html
from connector.reports.render_text import (
    drift_csv,
    drift_markdown,
    md_cell,
    producer_csv,
    producer_markdown,
    runs_csv,
    runs_markdown,
    to_json,
)
from schemas.report import DriftReport, ProducerReport, RunsReport

__all__ = [
    "DEFAULT_TZ", "FORMATS", "Format", "PageLinks", "UnknownFormatError", "csv_safe", "dashboard_html",
    "drift_chart_svg", "drift_csv", "drift_html", "md_cell", "parse_format", "producer_csv", "producer_html",
    "render_drift", "render_producer", "render_runs",
]  # fmt: skip

Format = Literal["json", "csv", "md", "html"]
FORMATS: tuple[Format, ...] = ("json", "csv", "md", "html")


class UnknownFormatError(ValueError):
    """A report format other than json, csv, md or html was asked for."""


def parse_format(value: str) -> Format:
    """`value` as a report format (`markdown` is accepted for `md`), or UnknownFormatError."""
    value = {"markdown": "md"}.get(value, value)
    for fmt in FORMATS:
        if fmt == value:
            return fmt
    raise UnknownFormatError(f"format must be one of {', '.join(FORMATS)}, got {value!r}")


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
