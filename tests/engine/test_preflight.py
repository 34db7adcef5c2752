"""Pre-flight validation: the pure check; over loopback HTTP, no create is sent until the catalog is fixed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from adapters.base import ContentRules
from adapters.sandbox import SandboxOptions
from connector.catalog.store import read_products, set_product
from connector.context import AppContext
from connector.engine.preflight import MISSING, WRONG, Problem, check, parse_summary, shop_preflight, summary
from connector.engine.run import sync_shops
from connector.reports.queries import producer_report
from connector.store import session_scope
from connector.store.migrate import upgrade
from connector.store.models import DriftRow
from connector.testing.loopback import Served, credentials_env, make_sandboxes, serve
from connector.testing.world import seed_synthetic, settings_for, shops
from schemas.listing import ListingContent
from schemas.sync import RunKind

RULES = ContentRules(
    title_max_chars=20,
    description_max_chars=30,
    images_min=1,
    images_max=2,
    price_min_vnd=1_000,
    price_max_vnd=100_000,
    required_attributes=("brand",),
)
GOOD = ListingContent(
    title="Mật ong rừng",
    description="Mật ong U Minh",
    images=("https://img.example.vn/a.jpg",),
    brand="HTX Ong Mật",
    attributes={"origin": "Cà Mau"},
)


def test_a_draft_within_every_rule_passes() -> None:
    assert check(GOOD, 50_000, RULES, ("origin",)) == []


def test_every_missing_or_bad_field_is_named() -> None:
    bad = GOOD.model_copy(
        update={"title": "x" * 21, "description": "y" * 31, "images": ("http://img.example.vn/a.jpg",), "brand": ""}
    )
    problems = check(bad, 500, RULES, ("origin", "shelf_life"))
    assert [(p.field, p.kind) for p in problems] == [
        ("brand", MISSING),
        ("shelf_life", MISSING),
        ("title", WRONG),
        ("description", WRONG),
        ("images", WRONG),
        ("price", WRONG),
    ]
    assert summary(problems) == "missing: brand, shelf_life; wrong: title, description, images, price"
    assert parse_summary(summary(problems)) == {
        "missing": ["brand", "shelf_life"],
        "wrong": ["title", "description", "images", "price"],
    }


def test_image_count_limits() -> None:
    assert check(GOOD.model_copy(update={"images": ()}), 5_000, RULES) == [Problem("images", MISSING, "0 < 1")]
    three = ("https://a/1", "https://a/2", "https://a/3")
    assert check(GOOD.model_copy(update={"images": three}), 5_000, RULES) == [Problem("images", WRONG, "3 > 2")]


def test_shop_preflight_adds_the_shops_required_attributes() -> None:
    pre = shop_preflight(RULES, {"required_attributes": ["shelf_life", "origin"]})
    assert pre(GOOD, 5_000) == "missing: shelf_life"
    assert shop_preflight(RULES, {})(GOOD, 5_000) == ""


@pytest.fixture
def served() -> Iterator[Served]:
    boxes = make_sandboxes(shops(marketplaces=("lazada",)), SandboxOptions(rate_limit_per_s=100_000, seed=2))
    with serve(boxes) as srv:
        yield srv


def creates(served: Served) -> int:
    """Create calls the Lazada sandbox received."""
    return sum(1 for e in served.sandboxes["lazada"].log if e.operation == "/product/create")


@pytest.mark.slow
async def test_invalid_product_makes_no_create_until_the_catalog_is_fixed(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = shops(served.urls, marketplaces=("lazada",))[0]
    shop = shop.model_copy(update={"options": {"required_attributes": ["shelf_life"]}})
    for name, value in credentials_env((shop,)).items():
        monkeypatch.setenv(name, value)
    settings = settings_for(f"sqlite:///{tmp_path / 'p.db'}", tmp_path, (shop,))
    ctx = AppContext.build(settings)
    upgrade(ctx.engine)
    products = seed_synthetic(ctx.engine, 2)
    now = datetime.now(UTC)
    with session_scope(ctx.engine) as session:
        set_product(session, products[0].model_copy(update={"shelf_life": "12 tháng"}), now)

    first = await sync_shops(ctx, [shop.id], kind=RunKind.FULL)
    assert first[0].counters.created == 1 and creates(served) == 1
    with Session(ctx.engine) as session:
        drift = session.exec(select(DriftRow).where(DriftRow.kind == "invalid")).all()
        assert [(d.sku, d.observed, d.resolved_at) for d in drift] == [(products[1].sku, "missing: shelf_life", None)]
        report = producer_report(session, settings, products[1].producer_id, now=now, lang="vi")
    line = next(x for x in report.listings if x.sku == products[1].sku)
    assert line.reason_text == "thiếu: hạn sử dụng"

    with session_scope(ctx.engine) as session:
        fixed = read_products(session, [products[1].sku])[0].model_copy(update={"shelf_life": "6 tháng"})
        set_product(session, fixed, datetime.now(UTC))
    second = await sync_shops(ctx, [shop.id], kind=RunKind.FULL)
    assert second[0].counters.created == 1 and creates(served) == 2
    with Session(ctx.engine) as session:
        assert [
            d.resolved_at is not None for d in session.exec(select(DriftRow).where(DriftRow.kind == "invalid"))
        ] == [True]
