"""A store filled by hand for report tests: the demo catalog plus shops, bindings, drift, actions and runs.

Rows are written directly (as the engine would) so report rendering can be specified exactly.
Producer A (AG-DN-10: AG-0030, AG-0031 with an expired certificate, AG-0032) sells on the three
shared provincial shops; producer B (AG-HKD-01) also has its own Lazada shop.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from connector.catalog.demo_data import seed_demo
from connector.settings import DatabaseSettings, ReportSettings, Settings, ShopSettings
from connector.store import session_scope
from connector.store.models import ActionRow, BindingRow, DriftRow, ShopRow, SyncRunRow

NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # 10:00 in An Giang
A = "AG-DN-10"
A_SKUS = ("AG-0030", "AG-0031", "AG-0032")
A_EXPIRED = "AG-0031"
B = "AG-HKD-01"
B_SKUS = ("AG-0052", "AG-0053", "AG-0054")
B_SECRET_REASON = "Lý do riêng của B: giấy phép ATTP B-ONLY-7731"
LEAKED_SECRET = "SECRET123abc"
REJECT_REASON = "Hình ảnh có logo hoặc chữ chèn lên sản phẩm"
FORMULA = '=HYPERLINK("http://evil.example/x","bấm")'
SHARED_SHOPS = ("lazada-ag", "tiki-ag", "voso-ag")


def world_settings(db_url: str, out_dir: Path | None = None, **reports: object) -> Settings:
    """Settings with the three shared demo shops and producer B's own Lazada shop."""
    shops = (
        ShopSettings(id="voso-ag", marketplace="voso", seller_id="AG-OCOP-VOSO"),
        ShopSettings(id="lazada-ag", marketplace="lazada", seller_id="AG-OCOP-LAZADA"),
        ShopSettings(id="tiki-ag", marketplace="tiki", seller_id="AG-OCOP-TIKI"),
        ShopSettings(id="lazada-b", marketplace="lazada", seller_id="HKD01-LAZADA", producer_id=B),
    )
    report_settings = ReportSettings(out_dir=out_dir or Path("var/reports"), **reports)
    return Settings(database=DatabaseSettings(url=db_url), shops=shops, reports=report_settings)


def _binding(shop: str, sku: str, **values: object) -> BindingRow:
    base: dict[str, object] = {"shop_id": shop, "sku": sku, "external_id": f"{shop}-{sku}", "last_observed_at": NOW}
    base.update(values)
    return BindingRow(**base)  # type: ignore[arg-type]


def _drift(shop: str, sku: str, kind: str, age: timedelta, **values: object) -> DriftRow:
    return DriftRow(shop_id=shop, sku=sku, kind=kind, first_seen=NOW - age, last_seen=NOW, **values)  # type: ignore[arg-type]


def build_world(engine: Engine) -> None:
    """Seed the demo catalog (reference day = NOW) and the sync state the reports read."""
    with session_scope(engine) as s:
        seed_demo(s, NOW.date(), NOW - timedelta(days=30))
        s.add_all(
            [
                ShopRow(
                    id="voso-ag",
                    marketplace="voso",
                    seller_id="AG-OCOP-VOSO",
                    last_success_at=NOW - timedelta(minutes=10),
                ),
                ShopRow(
                    id="lazada-ag",
                    marketplace="lazada",
                    seller_id="AG-OCOP-LAZADA",
                    last_success_at=NOW - timedelta(days=1),
                    last_error=f"IllegalAccessToken: refresh failed access_token={LEAKED_SECRET}",
                    token_expires_at=NOW - timedelta(hours=1),
                ),
                ShopRow(
                    id="tiki-ag",
                    marketplace="tiki",
                    seller_id="AG-OCOP-TIKI",
                    last_success_at=NOW - timedelta(minutes=5),
                    token_expires_at=NOW + timedelta(hours=2),
                    refresh_expires_at=NOW + timedelta(days=3),
                ),
                ShopRow(
                    id="lazada-b",
                    marketplace="lazada",
                    seller_id="HKD01-LAZADA",
                    producer_id=B,
                    last_success_at=NOW - timedelta(minutes=7),
                ),
            ]
        )
        s.flush()
        s.add_all([*_bindings(), *_drifts()])
        s.add_all([*_actions(), *_runs()])


def _bindings() -> list[BindingRow]:
    live = {"status": "active", "qc_status": "approved"}
    return [
        # A, AG-0030: live on Voso with a price drift, rejected on Lazada, pending on Tiki
        _binding(
            "voso-ag",
            "AG-0030",
            **live,
            pushed_price=120_000,
            observed_price=99_000,
            pushed_stock=40,
            observed_stock=40,
        ),
        _binding(
            "lazada-ag",
            "AG-0030",
            status="inactive",
            qc_status="rejected",
            qc_reason=REJECT_REASON,
            qc_field="images",
            qc_since=NOW - timedelta(days=2),
            pushed_price=126_000,
            pushed_stock=40,
        ),
        _binding(
            "tiki-ag",
            "AG-0030",
            external_id=None,
            request_id="trk-1",
            qc_status="pending",
            qc_since=NOW - timedelta(hours=5),
        ),
        # A, AG-0031 (certificate expired): still live on Voso, hidden on Lazada
        _binding("voso-ag", "AG-0031", **live, observed_price=250_000, observed_stock=3),
        _binding("lazada-ag", "AG-0031", status="inactive", qc_status="approved", pushed_active=False),
        # A, AG-0032: missing on Voso (create is dead), live on Lazada, hidden by Tiki
        _binding(
            "lazada-ag", "AG-0032", **live, pushed_price=90_000, observed_price=90_000, pushed_stock=7, observed_stock=7
        ),
        _binding("tiki-ag", "AG-0032", status="inactive", qc_status="approved"),
        # B
        _binding(
            "lazada-b",
            "AG-0052",
            status="inactive",
            qc_status="rejected",
            qc_reason=B_SECRET_REASON,
            qc_field="certificate",
        ),
        _binding("voso-ag", "AG-0053", **live),
    ]


def _drifts() -> list[DriftRow]:
    return [
        _drift("voso-ag", "AG-0030", "price", timedelta(hours=3), expected="120000", observed="99000"),
        _drift("lazada-ag", "AG-0030", "qc_rejected", timedelta(days=2), expected="approved", observed=REJECT_REASON),
        _drift("tiki-ag", "AG-0030", "qc_pending", timedelta(hours=5), expected="approved", observed="pending"),
        _drift("voso-ag", "AG-0031", "cert_expired", timedelta(days=1), expected="inactive", observed="active"),
        _drift("voso-ag", "AG-0032", "missing", timedelta(days=4), expected="listed", observed=""),
        _drift("tiki-ag", "AG-0032", "status", timedelta(hours=1), expected="active", observed="inactive"),
        _drift("lazada-ag", "ORPHAN-1", "orphan", timedelta(days=6), expected="", observed=FORMULA),
        _drift("lazada-b", "AG-0052", "qc_rejected", timedelta(days=1), expected="approved", observed=B_SECRET_REASON),
        # a silent failure still open: Tiki said OK to stock 7 but kept 9
        _drift("tiki-ag", "AG-0053", "stock", timedelta(hours=2), expected="7", observed="9", silent_failure=True),
        # resolved in the last days (for the resolved list and the timeline)
        _drift(
            "voso-ag",
            "AG-0052",
            "stock",
            timedelta(days=3),
            expected="10",
            observed="12",
            resolved_at=NOW - timedelta(days=2),
        ),
        _drift(
            "tiki-ag",
            "AG-0010",
            "price",
            timedelta(days=2),
            expected="1",
            observed="2",
            resolved_at=NOW - timedelta(hours=6),
        ),
        # resolved long ago: outside the default 7-day window
        _drift(
            "tiki-ag",
            "AG-0011",
            "price",
            timedelta(days=40),
            expected="1",
            observed="2",
            resolved_at=NOW - timedelta(days=30),
        ),
    ]


def _actions() -> list[ActionRow]:
    def action(shop: str, sku: str, kind: str, state: str, error: str = "", attempts: int = 1) -> ActionRow:
        return ActionRow(
            shop_id=shop,
            sku=sku,
            kind=kind,
            reason="test",
            idempotency_key=f"{shop}:{sku}:{kind}",
            state=state,
            attempts=attempts,
            last_error=error,
            created_at=NOW - timedelta(days=4),
            updated_at=NOW - timedelta(days=3),
        )

    return [
        action("voso-ag", "AG-0032", "create", "dead", f"400 category 1234 not allowed (sign={LEAKED_SECRET})", 6),
        action("voso-ag", "AG-0030", "set_price_stock", "pending"),
        action("tiki-ag", "AG-0032", "reactivate", "failed", "503 upstream", 2),
    ]


def _runs() -> list[SyncRunRow]:
    def run(shop: str, market: str, ago: timedelta, outcome: str, error: str = "") -> SyncRunRow:
        start = NOW - ago
        return SyncRunRow(
            shop_id=shop,
            marketplace=market,
            kind="full",
            trigger="schedule",
            started_at=start,
            finished_at=start + timedelta(seconds=42),
            outcome=outcome,
            error=error,
            counters={"reads": 3, "writes": 5},
        )

    return [
        run("voso-ag", "voso", timedelta(hours=2), "dead_actions"),
        run("lazada-ag", "lazada", timedelta(hours=1), "failed", f"auth failed access_token={LEAKED_SECRET}"),
        run("tiki-ag", "tiki", timedelta(minutes=30), "partial"),
        run("voso-ag", "voso", timedelta(minutes=10), "converged"),
    ]
