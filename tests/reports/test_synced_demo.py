"""End to end: seed the demo, really sync it to the three sandboxes (one product rejected on Lazada),
then report — through the library and through `ocop-sync report producer ID --format html`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.base import AdapterRegistry
from adapters.sandbox import SandboxOptions
from connector.catalog.demo_data import seed_demo
from connector.cli import app as cli
from connector.context import AppContext, SandboxHub
from connector.engine.run import sync_shops
from connector.reports import queries as reports
from connector.settings import DatabaseSettings, RetrySettings, Settings, ShopSettings
from connector.store import session_scope
from schemas.report import ListingState
from schemas.sync import RunKind

PRODUCER = "AG-DN-10"  # AG-0030, AG-0031 (certificate expired in the demo), AG-0032
REJECTED_SKU = "AG-0030"
EXPIRED_SKU = "AG-0031"
MARKETPLACES = ("lazada", "tiki", "voso")


def _settings(db_url: str) -> Settings:
    shops = tuple(
        ShopSettings(
            id=f"{m}-ag", marketplace=m, seller_id=f"AG-OCOP-{m.upper()}", safety_stock=2, requests_per_second=2000
        )
        for m in MARKETPLACES
    )
    retry = RetrySettings(max_attempts=4, max_delay_s=5, backoff_base_s=0.01, backoff_cap_s=0.05)
    return Settings(database=DatabaseSettings(url=db_url), retry=retry, shops=shops)


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[AppContext]:
    """The demo catalog fully synced to in-process sandboxes, AG-0030 rejected by Lazada's review."""
    import asyncio

    registry = AdapterRegistry.from_entry_points()
    options = {
        m: SandboxOptions(rate_limit_per_s=100_000, seed=3, qc_reject_skus=(REJECTED_SKU,) if m == "lazada" else ())
        for m in MARKETPLACES
    }
    ctx = AppContext.build(
        _settings(f"sqlite:///{tmp_path / 'demo.db'}"),
        registry=registry,
        sandbox_hub=SandboxHub(registry, options=options),
    )
    with session_scope(ctx.engine) as session:
        seed_demo(session, datetime.now(UTC).date(), datetime.now(UTC))

    async def sync_twice() -> None:
        await sync_shops(ctx, kind=RunKind.FULL)
        for shop in ctx.settings.shops:  # reviews finish, then the next run reads their outcome
            ctx.sandbox_hub.for_marketplace(shop.marketplace, list(ctx.settings.shops)).tick_reviews()
        await sync_shops(ctx, kind=RunKind.FULL)

    asyncio.run(sync_twice())
    yield ctx
    ctx.engine.dispose()


def test_producer_report_on_the_synced_demo(synced: AppContext) -> None:
    with session_scope(synced.engine) as s:
        report = reports.producer_report(s, synced.settings, PRODUCER, now=datetime.now(UTC), lang="vi")
    cells = {(x.sku, x.marketplace): x for x in report.listings}
    assert set(cells) == {(sku, m) for sku in ("AG-0030", "AG-0031", "AG-0032") for m in MARKETPLACES}

    rejected = cells[(REJECTED_SKU, "lazada")]
    assert rejected.state is ListingState.REJECTED, rejected
    assert rejected.reason and rejected.reason in rejected.reason_text
    assert rejected.next_step_code.startswith("fix_rejected")
    for m in ("tiki", "voso"):
        assert cells[(REJECTED_SKU, m)].state is ListingState.LIVE, cells[(REJECTED_SKU, m)]
    for m in MARKETPLACES:
        assert cells[(EXPIRED_SKU, m)].state is ListingState.CERT_EXPIRED
        live = cells[("AG-0032", m)]
        assert live.state is ListingState.LIVE and live.next_step_code == "none", live
        assert live.sent_price_vnd == live.observed_price_vnd and live.sent_stock == live.observed_stock
        assert live.observed_stock == max(0, live.catalog_stock - 2) and live.last_success_at is not None
    assert [c.sku for c in report.certificates if c.expired] == [EXPIRED_SKU]
    assert report.shop_problems == []


def test_drift_and_runs_on_the_synced_demo(synced: AppContext) -> None:
    with session_scope(synced.engine) as s:
        drift = reports.drift_report(s, synced.settings, now=datetime.now(UTC))
        runs = reports.run_history(s, now=datetime.now(UTC))
    assert any(d.kind == "qc_rejected" and d.sku == REJECTED_SKU and d.shop_id == "lazada-ag" for d in drift.open)
    assert all(d.producer_id for d in drift.open)
    assert len(runs.runs) == 6 and {r.shop_id for r in runs.runs} == {f"{m}-ag" for m in MARKETPLACES}


def _settings_toml(path: Path, db_url: str) -> Path:
    shops = "".join(
        f'\n[[shops]]\nid = "{m}-ag"\nmarketplace = "{m}"\nseller_id = "AG-OCOP-{m.upper()}"\nsafety_stock = 2\n'
        for m in MARKETPLACES
    )
    path.write_text(f'[database]\nurl = "{db_url}"\n{shops}', encoding="utf-8")
    return path


def test_cli_producer_html_on_the_synced_demo(synced: AppContext, tmp_path: Path) -> None:
    env = {"OCOP_SYNC_SETTINGS": str(_settings_toml(tmp_path / "settings.toml", str(synced.engine.url)))}
    runner = CliRunner()
    out = tmp_path / "report.html"
    result = runner.invoke(cli, ["report", "producer", PRODUCER, "--format", "html", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert (
        html.count('data-shop="lazada-ag"')
        == html.count('data-shop="tiki-ag"')
        == html.count('data-shop="voso-ag"')
        == 3
    )
    assert 'data-state="rejected"' in html and "Bị sàn từ chối" in html
    assert "Hình ảnh sản phẩm không đạt yêu cầu" in html
    assert html.count('data-state="cert_expired"') == 3 and "Giấy chứng nhận OCOP hết hạn" in html

    en = runner.invoke(cli, ["report", "producer", PRODUCER, "--format", "json", "--lang", "en"], env=env)
    assert en.exit_code == 0, en.output
    assert json.loads(en.stdout)["summary"]["rejected"] == 1

    missing = runner.invoke(cli, ["report", "producer", "NOPE"], env=env)
    assert missing.exit_code == 1

    folder = tmp_path / "all"
    every = runner.invoke(cli, ["report", "all-producers", "--out", str(folder)], env=env)
    assert every.exit_code == 0, every.output
    assert len(list(folder.glob("*.html"))) == 62

    drift_csv = runner.invoke(cli, ["report", "drift", "--format", "csv", "--since", "7d"], env=env)
    assert drift_csv.exit_code == 0 and REJECTED_SKU in drift_csv.stdout
    runs_md = runner.invoke(cli, ["report", "runs", "--shop", "tiki-ag"], env=env)
    assert runs_md.exit_code == 0 and runs_md.stdout.count("| tiki-ag |") == 2
