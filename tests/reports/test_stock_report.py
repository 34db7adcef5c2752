"""`ocop-sync report stock SKU`: the ledger explains today's number (import, manual, sale, cancel), vi and en."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from connector.catalog.ledger import LineRef, MoveKind, record_move
from connector.catalog.store import adjust_stock, read_products, set_product
from connector.cli import app
from connector.cli.db_cmd import migrated_engine
from connector.settings import load_settings
from connector.store import session_scope
from connector.store.models import StockMoveRow
from connector.testing.loopback import settings_toml

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def test_report_stock_explains_the_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(settings_toml(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "var", ()))
    monkeypatch.setenv("OCOP_SYNC_SETTINGS", str(settings_file))
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "seed"]).exit_code == 0
    engine = migrated_engine(load_settings())
    try:
        with session_scope(engine) as session:
            product = read_products(session)[0]
            sku, seeded = product.sku, product.stock
            set_product(session, product.model_copy(update={"stock": seeded + 10}), NOW)  # a manual correction
            applied, after = adjust_stock(session, sku, -3, NOW)
            record_move(session, sku, MoveKind.SALE, applied, after, NOW, line=LineRef("lazada-ag", "O1", "L1", 7))
            applied, after = adjust_stock(session, sku, 3, NOW)
            record_move(session, sku, MoveKind.CANCEL, applied, after, NOW, line=LineRef("lazada-ag", "O1", "L1"))
            kinds = [m.kind for m in session.exec(select(StockMoveRow).where(StockMoveRow.sku == sku)).all()]
    finally:
        engine.dispose()
    assert kinds == ["import", "manual", "sale", "cancel"]

    en = runner.invoke(app, ["report", "stock", sku, "--lang", "en"])
    assert en.exit_code == 0, en.output
    assert f"Stock now: {seeded + 10}" in en.output
    assert "Stock before the recorded movements: 0" in en.output
    assert "| sale | -3 | " in en.output and "shop lazada-ag, order O1, line L1 (run 7)" in en.output
    assert "| cancel | +3 | " in en.output
    assert "Total manual correction: +10" in en.output
    vi = runner.invoke(app, ["report", "stock", sku])
    assert vi.exit_code == 0 and f"Tồn kho hiện tại: {seeded + 10}" in vi.output and "huỷ đơn" in vi.output
    missing = runner.invoke(app, ["report", "stock", "NO-SUCH-SKU", "--lang", "en"])
    assert missing.exit_code == 1
