"""Rendering: JSON round-trips, formula-safe CSV, Markdown, self-contained HTML, both languages."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from i18n_kit import coded_values, raw_codes, snake_codes, vietnamese_errors, visible_text
from report_world import A_EXPIRED, FORMULA, NOW, REJECT_REASON, A, B
from sqlalchemy.engine import Engine

from connector.reports import queries as reports
from connector.reports.i18n import CATALOGUE, LANGS, Lang, Translator, placeholders
from connector.reports.render import (
    PageLinks,
    csv_safe,
    dashboard_html,
    drift_chart_svg,
    drift_csv,
    parse_format,
    producer_csv,
    producer_html,
    render_drift,
    render_producer,
    render_runs,
)
from connector.settings import Settings
from connector.store import session_scope
from schemas.report import DriftReport, ListingState, ProducerReport, RunsReport, report_json_schemas

TEMPLATES = Path(__file__).parents[2] / "connector" / "reports" / "templates"


@pytest.fixture
def producer_vi(world_engine: Engine, settings: Settings) -> ProducerReport:
    with session_scope(world_engine) as s:
        return reports.producer_report(s, settings, A, now=NOW, lang="vi")


@pytest.fixture
def producer_en(world_engine: Engine, settings: Settings) -> ProducerReport:
    with session_scope(world_engine) as s:
        return reports.producer_report(s, settings, A, now=NOW, lang="en")


@pytest.fixture
def drift(world_engine: Engine, settings: Settings) -> DriftReport:
    with session_scope(world_engine) as s:
        return reports.drift_report(s, settings, now=NOW)


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", FORMULA])
def test_csv_safe_prefixes_formula_cells(cell: str) -> None:
    assert csv_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["AG-0001", "120000", "Khô cá lóc", "", "a=b"])
def test_csv_safe_leaves_plain_cells(cell: str) -> None:
    assert csv_safe(cell) == cell


def test_drift_csv_neutralises_formulas_from_marketplace_data(drift: DriftReport) -> None:
    rows = list(csv.reader(io.StringIO(drift_csv(drift))))
    cells = [c for row in rows for c in row]
    assert "'" + FORMULA in cells
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert rows[0][0] == "Phần" and len({len(r) for r in rows}) == 1


def test_producer_csv_has_one_row_per_listing_with_translated_headers(
    producer_vi: ProducerReport, producer_en: ProducerReport
) -> None:
    vi = list(csv.reader(io.StringIO(producer_csv(producer_vi))))
    en = list(csv.reader(io.StringIO(producer_csv(producer_en))))
    assert len(vi) == len(en) == 1 + len(producer_vi.listings)
    assert vi[0][0] == "Mã SKU" and en[0][0] == "SKU"
    assert any(REJECT_REASON in cell for row in vi for cell in row)


def test_json_round_trips_through_the_schema(producer_vi: ProducerReport, drift: DriftReport) -> None:
    assert ProducerReport.model_validate_json(render_producer(producer_vi, "json")) == producer_vi
    assert DriftReport.model_validate_json(render_drift(drift, "json")) == drift
    data = json.loads(render_producer(producer_vi, "json"))
    assert data["schema_version"] == 1 and data["lang"] == "vi"


def test_markdown_tables_and_escaping(producer_vi: ProducerReport, drift: DriftReport) -> None:
    md = render_producer(producer_vi, "md")
    assert md.startswith("# Tình trạng sản phẩm trên sàn")
    assert "Bị sàn từ chối" in md and REJECT_REASON in md
    for line in md.splitlines():
        if line.startswith("| "):
            assert line.count(" | ") >= 4
    assert "| — | — |" in render_drift(drift, "md") or "—" in render_drift(drift, "md")


def test_producer_html_is_self_contained_and_shows_states(producer_vi: ProducerReport) -> None:
    html = producer_html(producer_vi)
    assert html.startswith("<!doctype html>")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no external assets"
    assert "<script" not in html
    assert '<meta name="viewport"' in html and "@media print" in html and "@media (max-width: 700px)" in html
    assert "Bị sàn từ chối" in html and REJECT_REASON in html and "Giấy chứng nhận OCOP hết hạn" in html
    assert f'id="p-{A_EXPIRED}"' in html
    assert html.count('data-state="rejected"') == 1


def test_html_escapes_marketplace_text(drift: DriftReport) -> None:
    html = render_drift(drift, "html")
    assert "=HYPERLINK(&#34;http://evil.example/x&#34;,&#34;bấm&#34;)" in html


def test_english_report_uses_english_strings(producer_en: ProducerReport) -> None:
    html = producer_html(producer_en)
    assert 'lang="en"' in html and "Rejected" in html and "OCOP certificate expired" in html
    assert "Bị sàn từ chối" not in html
    assert {x.state_text for x in producer_en.listings if x.state is ListingState.LIVE} == {"Live"}


def test_runs_render_in_every_format(world_engine: Engine) -> None:
    with session_scope(world_engine) as s:
        runs = reports.run_history(s, now=NOW)
    assert RunsReport.model_validate_json(render_runs(runs, "json")) == runs
    assert "access_token=***" in render_runs(runs, "csv")
    assert "Đã khớp hoàn toàn" in render_runs(runs, "md") and "Đã khớp hoàn toàn" in render_runs(runs, "html")


def test_dashboard_has_inline_svg_chart(world_engine: Engine, settings: Settings) -> None:
    with session_scope(world_engine) as s:
        html = dashboard_html(
            reports.shops_report(s, settings, now=NOW),
            reports.drift_report(s, settings, now=NOW),
            reports.run_history(s, now=NOW),
            reports.drift_timeline(s, settings, now=NOW),
            lang="en",
            page=PageLinks(lang_url="/?lang=vi", logout="/logout"),
        )
    assert "<svg" in html and html.count("<rect") >= 14 and "Drift over time" in html
    assert 'href="/producers/AG-HKD-01"' in html


def test_chart_without_points_says_so() -> None:
    assert "No data yet." in drift_chart_svg([], "en")


def test_parse_format_accepts_markdown_alias() -> None:
    assert parse_format("markdown") == "md"
    with pytest.raises(ValueError):
        parse_format("xlsx")


def test_every_catalogue_key_has_both_languages_with_the_same_placeholders() -> None:
    for key, texts in CATALOGUE.items():
        assert set(texts) == set(LANGS), key
        assert all(texts[lang].strip() for lang in LANGS), key
        assert placeholders(texts["vi"]) == placeholders(texts["en"]), key


def test_every_code_and_template_key_is_in_the_catalogue() -> None:
    t = Translator()
    codes = [f"state.{s.value}" for s in ListingState]
    codes += [f"drift.{k}" for k in ("missing", "orphan", "price", "stock", "content", "status")]
    codes += [f"drift.{k}" for k in ("qc_pending", "qc_rejected", "cert_expired")]
    steps = (
        "none", "auto_update", "wait_review", "fix_rejected", "fix_rejected_nofield", "renew_cert",
        "reactivate_in_catalog", "will_reactivate", "will_create", "contact_operator", "reconnect_shop", "not_listed",
    )  # fmt: skip
    codes += [f"next.{s}" for s in steps]
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]*[a-z_])["']""", template.read_text(encoding="utf-8")))
    assert used, "templates use the catalogue"
    missing = [k for k in [*codes, *used] if not t.has(k)]
    assert missing == []


def test_schema_doc_matches_the_models() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "report-schema.md").read_text(encoding="utf-8")
    block = doc.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(block) == json.loads(json.dumps(report_json_schemas()))


# --------------------------------------------------------------------------- every coded value translated


def _every_report(engine: Engine, settings: Settings, lang: Lang) -> dict[str, str]:
    with session_scope(engine) as s:
        drift = reports.drift_report(s, settings, now=NOW)
        runs = reports.run_history(s, now=NOW)
        producers = [reports.producer_report(s, settings, p, now=NOW, lang=lang) for p in (A, B)]
        dashboard = dashboard_html(
            reports.shops_report(s, settings, now=NOW),
            drift,
            runs,
            reports.drift_timeline(s, settings, now=NOW),
            lang=lang,
            page=PageLinks(lang_url="/", logout="/logout", logout_csrf="x"),
        )
    out = {"dashboard.html": visible_text(dashboard)}
    for fmt in ("csv", "md", "html"):
        texts = {
            f"drift.{fmt}": render_drift(drift, fmt, lang=lang),
            f"runs.{fmt}": render_runs(runs, fmt, lang=lang),
            **{f"producer-{p.producer.id}.{fmt}": render_producer(p, fmt) for p in producers},
        }
        out |= {name: visible_text(text) if fmt == "html" else text for name, text in texts.items()}
    return out


def test_every_coded_value_is_translated_in_every_vietnamese_report(world_engine: Engine, settings: Settings) -> None:
    vietnamese_errors(world_engine)
    codes = coded_values()
    assert {"listed", "active", "converged", "incremental", "catalog_change", "images"} - codes == {"images"}
    untranslated = {name: raw_codes(text, codes) for name, text in _every_report(world_engine, settings, "vi").items()}
    assert {name: found for name, found in untranslated.items() if found} == {}
    assert "images" not in _every_report(world_engine, settings, "vi")["producer-AG-DN-10.html"]


def test_no_snake_case_code_in_english_reports(world_engine: Engine, settings: Settings) -> None:
    vietnamese_errors(world_engine)
    rendered = _every_report(world_engine, settings, "en")
    assert {name: found for name, text in rendered.items() if (found := raw_codes(text, snake_codes()))} == {}
    assert "Converged" in rendered["runs.md"] and "Dead actions" in rendered["runs.html"]


def test_raw_code_finder_catches_an_untranslated_value() -> None:
    assert raw_codes("Kết quả: converged · Khởi động bởi catalog_change") == ["catalog_change", "converged"]
    assert raw_codes("voso-ag · AG-0031 · s-live · data-state=rejected") == []
