"""Desired state: price rule, stock rule, certificate expiry, community tourism, producer shops."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.catalog.demo_data import EXPIRED_SKUS, demo_catalog
from connector.engine.desired import (
    CONTENT_HASH_VERSION,
    ContentMemo,
    content_hash,
    desired_listings,
    legacy_content_hash,
    same_pushed_content,
    shop_price,
    shop_stock,
)
from connector.settings import ShopSettings
from schemas.listing import ListingContent
from schemas.sync import DesiredListing

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


def _decimal_price(base_vnd: int, shop: ShopSettings) -> int:
    """The price rule written the obvious way, in decimal arithmetic: the reference for `shop_price`."""
    from decimal import ROUND_HALF_UP, Decimal

    raw = Decimal(base_vnd) * (Decimal(100) + Decimal(str(shop.price_markup_pct))) / Decimal(100)
    step = Decimal(shop.price_round_vnd)
    return max(int((raw / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step), shop.price_floor_vnd, 0)


@given(
    base=st.integers(min_value=0, max_value=50_000_000),
    markup=st.decimals(min_value=-50, max_value=500, places=2).map(float),
    step=st.sampled_from([1, 100, 500, 1000, 5000]),
)
def test_integer_price_rule_equals_the_decimal_rule(base: int, markup: float, step: int) -> None:
    rules = shop(price_markup_pct=markup, price_round_vnd=step)
    assert shop_price(base, rules) == _decimal_price(base, rules)


def test_desired_listings_built_without_validation_equal_validated_ones() -> None:
    for listing in desired_listings(CATALOG.products, CATALOG.producers, shop(price_markup_pct=5.0), TODAY):
        assert DesiredListing.model_validate(listing.model_dump()) == listing
        assert listing.model_fields_set == set(DesiredListing.model_fields)
        assert listing.content.model_fields_set == set(ListingContent.model_fields)


def test_content_hash_separates_contents_that_a_naive_join_would_confuse() -> None:
    base = ListingContent(title="Mật ong", images=("a", "b"))
    variants = [
        base,
        base.model_copy(update={"images": ("a b",)}),
        base.model_copy(update={"images": ("a", "b", "")}),
        base.model_copy(update={"barcode": ""}),
        base.model_copy(update={"title": "Mật ong", "description": "x"}),
        base.model_copy(update={"title": "Mật ongx"}),
        base.model_copy(update={"attributes": {"a": "b"}}),
        base.model_copy(update={"attributes": {"ab": ""}}),
    ]
    hashes = [content_hash(v) for v in variants]
    assert len(set(hashes)) == len(variants)
    assert all(h.startswith(CONTENT_HASH_VERSION) and len(h) == 32 for h in hashes)
    assert content_hash(base.model_copy(update={"attributes": {"y": "1", "x": "2"}})) == content_hash(
        base.model_copy(update={"attributes": {"x": "2", "y": "1"}})
    )


def test_a_pushed_hash_of_the_first_recipe_still_matches_its_content() -> None:
    content = ListingContent(title="Gạo ST25", images=("https://img/1.jpg",), attributes={"ocop_stars": "4"})
    other = content.model_copy(update={"title": "Gạo ST25 mới"})
    current = content_hash(content)
    assert same_pushed_content(legacy_content_hash(content), content, current)
    assert not same_pushed_content(legacy_content_hash(other), content, current)
    assert same_pushed_content(current, content, current)
    assert not same_pushed_content(content_hash(other), content, current)
    assert not same_pushed_content("", content, current)


def test_a_shared_content_memo_changes_nothing_but_rebuilds_what_changed() -> None:
    memo = ContentMemo()
    producers, products = CATALOG.producers, CATALOG.products
    first = desired_listings(products, producers, shop(), TODAY, memo)
    second = desired_listings(products, producers, shop(price_markup_pct=5.0), TODAY, memo)
    assert first == desired_listings(products, producers, shop(), TODAY)
    assert second == desired_listings(products, producers, shop(price_markup_pct=5.0), TODAY)
    assert all(a.content is b.content for a, b in zip(first, second, strict=True))  # built once, for both shops
    renamed = [p.model_copy(update={"name": p.name + " mới"}) if i == 0 else p for i, p in enumerate(products)]
    again = desired_listings(renamed, producers, shop(), TODAY, memo)
    assert again == desired_listings(renamed, producers, shop(), TODAY)
    assert again[0].content.title.startswith(renamed[0].name) or not again[0].active
    # a day later the certificate validity may differ: the memo is keyed by it
    later = TODAY + timedelta(days=3650)
    assert desired_listings(products, producers, shop(), later, memo) == desired_listings(
        products, producers, shop(), later
    )


def test_desired_and_plan_leave_the_garbage_collector_as_they_found_it() -> None:
    import gc

    assert gc.isenabled()
    desired_listings(CATALOG.products, CATALOG.producers, shop(), TODAY)
    assert gc.isenabled()
    gc.disable()
    try:
        desired_listings(CATALOG.products, CATALOG.producers, shop(), TODAY)
        assert not gc.isenabled()
    finally:
        gc.enable()
