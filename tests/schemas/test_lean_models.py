"""Frozen schema models share their fields sets, and stay correct: copies, unset fields, equality."""

from __future__ import annotations

from schemas.listing import Listing, ListingContent, ListingRef, ListingStatus


def _listing(sku: str, **kw: object) -> Listing:
    return Listing(
        ref=ListingRef(seller_sku=sku),
        content=ListingContent(title=f"Trà {sku}"),
        price_vnd=10_000,
        stock=1,
        status=ListingStatus.ACTIVE,
        **kw,
    )


def test_equal_fields_sets_are_one_object() -> None:
    a, b = _listing("A"), _listing("B")
    assert a.model_fields_set == b.model_fields_set
    assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__


def test_different_fields_sets_stay_apart_and_copies_do_not_leak_into_shared_sets() -> None:
    plain, with_qc = _listing("A"), _listing("B", qc_reason="ảnh mờ")
    assert "qc_reason" not in plain.model_fields_set
    assert "qc_reason" in with_qc.model_fields_set
    copied = plain.model_copy(update={"qc_field": "images"})
    assert "qc_field" in copied.model_fields_set
    assert "qc_field" not in plain.model_fields_set
    assert "qc_field" not in _listing("C").model_fields_set
    assert copied.model_dump(exclude_unset=True)["qc_field"] == "images"
    assert "qc_field" not in plain.model_dump(exclude_unset=True)


def test_equality_and_validation_unchanged() -> None:
    assert _listing("A") == _listing("A")
    assert _listing("A") != _listing("B")
    assert Listing.model_validate(_listing("A").model_dump()) == _listing("A")
