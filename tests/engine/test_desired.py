"""Desired state: price rule, stock rule, certificate expiry, community tourism, producer shops."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from connector.catalog.demo_data import EXPIRED_SKUS, demo_catalog
from connector.engine.desired import content_hash, desired_listings, shop_price, shop_stock
from connector.settings import ShopSettings

TODAY = date(2026, 6, 1)
CATALOG = demo_catalog(TODAY)


def shop(**kw: object) -> ShopSettings:
    return ShopSettings(id="s", marketplace="voso", seller_id="x", **kw)


@pytest.mark.parametrize(
    ("base", "rules", "expected"),
    [
        (120_000, {}, 120_000),
        (120_400, {}, 120_000),
        (120_500, {}, 121_000),  # half rounds up
        (100_000, {"price_markup_pct": 5.0}, 105_000),
        (99_999, {"price_markup_pct": 3.0}, 103_000),
        (45_000, {"price_markup_pct": 0.0, "price_round_vnd": 500}, 45_000),
        (20_000, {"price_floor_vnd": 30_000}, 30_000),
        (0, {}, 0),
    ],
)
def test_price_rule(base: int, rules: dict[str, object], expected: int) -> None:
    assert shop_price(base, shop(**rules)) == expected


@pytest.mark.parametrize(
    ("on_hand", "rules", "expected"),
    [
        (10, {}, 10),
        (10, {"safety_stock": 2}, 8),
        (1, {"safety_stock": 2}, 0),  # never negative
        (4, {"safety_stock": 2, "zero_below": 3}, 0),  # 2 sellable < 3 -> show sold out
        (5, {"safety_stock": 2, "zero_below": 3}, 3),
        (0, {}, 0),
    ],
)
def test_stock_rule(on_hand: int, rules: dict[str, object], expected: int) -> None:
    assert shop_stock(on_hand, shop(**rules)) == expected


def test_expired_certificate_is_inactive_and_loses_its_stars() -> None:
    listings = {d.seller_sku: d for d in desired_listings(CATALOG.products, CATALOG.producers, shop(), TODAY)}
    for sku in EXPIRED_SKUS:
        d = listings[sku]
        assert (d.active, d.inactive_reason, d.cert_expired) == (False, "certificate_expired", True)
        assert "OCOP" not in d.content.title and "ocop_stars" not in d.content.attributes
    valid = next(d for d in listings.values() if d.active)
    assert " - OCOP " in valid.content.title and valid.content.attributes["ocop_stars"] in {"3", "4", "5"}


def test_community_tourism_is_never_listed_and_inactive_products_are_taken_down() -> None:
    tourism = [p.sku for p in CATALOG.products if not p.shippable]
    assert tourism
    products = [p.model_copy(update={"active": False}) if i == 0 else p for i, p in enumerate(CATALOG.products)]
    listings = desired_listings(products, CATALOG.producers, shop(), TODAY)
    skus = [d.seller_sku for d in listings]
    assert not set(tourism) & set(skus)
    assert skus == sorted(skus)
    first = next(d for d in listings if d.seller_sku == products[0].sku)
    assert (first.active, first.inactive_reason) == (False, "product_inactive")


def test_producer_shop_lists_only_its_producer() -> None:
    producer = CATALOG.products[0].producer_id
    listings = desired_listings(CATALOG.products, CATALOG.producers, shop(producer_id=producer), TODAY)
    assert listings and {d.producer_id for d in listings} == {producer}


def test_stars_disappear_the_day_after_expiry_and_hash_follows_content() -> None:
    product = next(p for p in CATALOG.products if p.shippable and p.sku not in EXPIRED_SKUS)
    last_day = product.certificate.expires
    on = desired_listings([product], CATALOG.producers, shop(), last_day)[0]
    after = desired_listings([product], CATALOG.producers, shop(), last_day + timedelta(days=1))[0]
    assert on.active and not after.active
    assert on.content_hash != after.content_hash == content_hash(after.content)
