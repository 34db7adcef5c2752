"""Table tests for the catalog schema: what a product or producer record accepts and refuses."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.catalog import (
    CertificateState,
    IssuingLevel,
    OcopCertificate,
    Producer,
    Product,
    ProductGroup,
    add_months,
    group_of_set,
    gtin_is_valid,
)

BASE: dict[str, Any] = {
    "sku": "AG-0001",
    "producer_id": "AG-DN-01",
    "name": "Đường thốt nốt bột",
    "product_set": 4,
    "stars": 4,
    "certificate": {"decision_no": "86/QĐ-UBND", "decision_date": "2023-01-27", "issuing_level": "province"},
    "price_vnd": 95000,
    "stock": 10,
}


def make(**changes: Any) -> Product:
    return Product.model_validate({**BASE, **changes})


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in err["loc"]) for err in exc.errors()}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stars": 2}, "stars"),
        ({"stars": 6}, "stars"),
        ({"stars": "4.5"}, "stars"),
        ({"product_set": 0}, "product_set"),
        ({"product_set": 27}, "product_set"),
        ({"barcode": "8938000001318"}, "barcode"),  # wrong check digit
        ({"barcode": "893800000131"}, "barcode"),  # 12 digits, wrong check digit
        ({"barcode": "89380000013A"}, "barcode"),
        ({"images": ["http://images.example.vn/a.jpg"]}, "images.0"),
        ({"images": ["https://"]}, "images.0"),
        ({"images": ["https://images.example.vn/a b.jpg"]}, "images.0"),
        ({"stock": -1}, "stock"),
        ({"price_vnd": 95000.5}, "price_vnd"),
        ({"price_vnd": "95.000"}, "price_vnd"),  # Vietnamese thousands separator, not 95
        ({"price_vnd": "95,000"}, "price_vnd"),
        ({"price_vnd": "-1"}, "price_vnd"),
        ({"price_vnd": True}, "price_vnd"),
        ({"weight_g": "1.5"}, "weight_g"),
        ({"stars": 5, "potential_5": True}, "potential_5"),
        ({"stars": 3, "potential_5": True}, "potential_5"),
        ({"name": "   "}, "name"),
        ({"name": "Bánh\x00bò"}, "name"),
        ({"sku": "AG 0001"}, "sku"),
        ({"traceability_url": "ftp://x.vn/1"}, "traceability_url"),
        ({"certificate": {**BASE["certificate"], "valid_until": "2022-01-01"}}, "certificate.valid_until"),
        ({"certificate": {**BASE["certificate"], "issuing_level": "commune"}}, "certificate.issuing_level"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_products_are_refused_at_the_right_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        make(**changes)
    assert field in error_fields(info.value)


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"price_vnd": 95000.0}, lambda p: p.price_vnd == 95000 and isinstance(p.price_vnd, int)),
        ({"price_vnd": " 95000 "}, lambda p: p.price_vnd == 95000),
        ({"barcode": "8938000001319"}, lambda p: p.barcode == "8938000001319"),
        ({"barcode": ""}, lambda p: p.barcode is None),
        ({"stars": 5}, lambda p: not p.potential_5),
        ({"potential_5": True}, lambda p: p.potential_5),
        ({"product_set": 26}, lambda p: p.group is ProductGroup.TOURISM and not p.shippable),
        ({"name": unicodedata.normalize("NFD", "  Mắm cá chốt ")}, lambda p: p.name == "Mắm cá chốt"),
        ({"description": "dòng 1\r\ndòng 2\rdòng 3"}, lambda p: p.description == "dòng 1\ndòng 2\ndòng 3"),
        ({"images": ["https://images.example.vn/a.jpg"]}, lambda p: p.images == ("https://images.example.vn/a.jpg",)),
        ({}, lambda p: p.certificate.valid_until == date(2026, 1, 27) and p.unit == "sản phẩm"),
    ],
)
def test_valid_products_are_normalised(changes: dict[str, Any], check: Any) -> None:
    assert check(make(**changes))


def test_nfc_text_is_stable_and_hash_ignores_source_form() -> None:
    composed = make(name="Nước mắm chay cô nành")
    decomposed = make(name=unicodedata.normalize("NFD", "Nước mắm chay cô nành"))
    assert composed == decomposed
    assert composed.content_hash() == decomposed.content_hash()
    assert make(stock=11).content_hash() != composed.content_hash()


@pytest.mark.parametrize(
    ("product_set", "group"),
    [(1, "food"), (13, "food"), (14, "beverages"), (17, "beverages"), (18, "herbal"), (21, "handicrafts"),
     (22, "handicrafts"), (23, "ornamental"), (25, "ornamental"), (26, "tourism")],
)  # fmt: skip
def test_group_of_set(product_set: int, group: str) -> None:
    assert group_of_set(product_set).value == group


@pytest.mark.parametrize(
    ("code", "valid"),
    [("8938000001319", True), ("96385074", True), ("036000291452", True), ("10012345678902", True),
     ("8938000001318", False), ("1234567", False), ("", False), ("893800000131x", False)],
)  # fmt: skip
def test_gtin_check_digit(code: str, valid: bool) -> None:
    assert gtin_is_valid(code) is valid


@pytest.mark.parametrize(
    ("decided", "today", "state"),
    [
        (date(2023, 1, 27), date(2025, 6, 1), CertificateState.VALID),
        (date(2023, 1, 27), date(2025, 12, 1), CertificateState.EXPIRING),
        (date(2023, 1, 27), date(2026, 1, 27), CertificateState.EXPIRING),
        (date(2023, 1, 27), date(2026, 1, 28), CertificateState.EXPIRED),
    ],
)
def test_certificate_state(decided: date, today: date, state: CertificateState) -> None:
    cert = OcopCertificate(decision_no="86/QĐ-UBND", decision_date=decided, issuing_level=IssuingLevel.PROVINCE)
    assert cert.state(today, warn_days=60) is state


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2024, 2, 29), 36) == date(2027, 2, 28)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2023, 3, 31), -36) == date(2020, 3, 31)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"type": "company"}, "type"), ({"address_current": {"province": ""}}, "address_current.province"),
     ({"id": "AG HTX"}, "id"), ({"name": ""}, "name")],
)  # fmt: skip
def test_invalid_producers(changes: dict[str, Any], field: str) -> None:
    address = {"commune": "Xã Văn Giáo", "district": "Thị xã Tịnh Biên", "province": "An Giang"}
    data = {"id": "AG-HTX-01", "name": "HTX Văn Giáo", "type": "cooperative", "address_certified": address,
            "address_current": address, **changes}  # fmt: skip
    with pytest.raises(ValidationError) as info:
        Producer.model_validate(data)
    assert field in error_fields(info.value)


@pytest.mark.parametrize("value", [False, True, 12345, 1e120, b"AG-HTX-01"])
def test_ids_and_names_are_strict_strings(value: object) -> None:
    """A boolean, number or bytes id/name is refused, not stored as "False" or a 121-digit name (issue #18)."""
    from pydantic import ValidationError

    from schemas.catalog import Producer

    base = {
        "id": "AG-HTX-01",
        "name": "HTX",
        "type": "household",
        "address_certified": {"province": "An Giang"},
        "address_current": {"province": "An Giang"},
    }
    for field in ("id", "name"):
        with pytest.raises(ValidationError, match="valid string"):
            Producer.model_validate({**base, field: value})
