"""Lazada's pure parts: payload mapping, the error table, per-SKU batch results and the scroll cursor."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.errors import (
    AmbiguousWrite,
    AuthExpired,
    AuthFailed,
    NotFound,
    PermanentError,
    RateLimited,
    Rejected,
    ResponseShapeError,
    TransientError,
)
from adapters.lazada.adapter import per_sku_results
from adapters.lazada.client import LzEnvelope, api_url_of, auth_url_of, error_for, read_reply
from adapters.lazada.mapping import (
    CategoryMap,
    LzOrder,
    LzOrderItem,
    LzProduct,
    PriceQuantityRow,
    create_payload,
    deactivate_payload,
    grams,
    kilograms,
    listings_of,
    order_lines,
    price_quantity_payload,
    qc_of_item_status,
)
from adapters.lazada.scroll import Scroll
from schemas.listing import ItemOutcome, ListingContent, ListingDraft, ListingRef, ListingStatus, QcStatus

PRODUCT = {
    "item_id": 2807246166,
    "primary_category": 10100003,
    "attributes": {
        "name": "Mật ong rừng U Minh",
        "description": "OCOP 4 sao",
        "brand": "HTX U Minh",
        "ocop_unit": "chai",
        "ocop_barcode": "8930000000012",
        "ocop_stars": "4",
    },
    "images": ["https://img.example.vn/1.jpg"],
    "created_time": "1645176573000",
    "updated_time": "1653463851000",
    "status": "Active",
    "skus": [
        {
            "Status": "active",
            "quantity": 20,
            "SellerSku": "MO-500",
            "SkuId": 13449296008,
            "price": 125000.0,
            "package_weight": "0.65",
        },
        {"Status": "inactive", "quantity": 0, "SellerSku": "MO-250", "SkuId": 13449296009, "price": "69999.6"},
    ],
}


def product(**changes: object) -> LzProduct:
    """The sample product with some fields replaced."""
    return LzProduct.model_validate({**PRODUCT, **changes})


# -- reading ---------------------------------------------------------------------------------


def test_a_product_maps_to_one_listing_per_sku() -> None:
    """Ids become strings, prices whole VND, weight grams, ms strings aware datetimes, our attributes our fields."""
    first, second = listings_of(product(), CategoryMap())
    assert first.ref == ListingRef(seller_sku="MO-500", external_id="2807246166", external_sku_id="13449296008")
    assert (first.price_vnd, first.stock, first.status) == (125_000, 20, ListingStatus.ACTIVE)
    assert first.updated_at == datetime(2022, 5, 25, 7, 30, 51, tzinfo=UTC)
    assert first.content.title == "Mật ong rừng U Minh"
    assert (first.content.unit, first.content.barcode, first.content.weight_g) == ("chai", "8930000000012", 650)
    assert first.content.category_key == 3
    assert first.content.attributes == {"ocop_stars": "4"}
    assert (second.price_vnd, second.status) == (70_000, ListingStatus.INACTIVE)


@pytest.mark.parametrize(
    ("status", "sub_status", "status_out", "qc_out"),
    [
        ("Active", "", ListingStatus.ACTIVE, QcStatus.APPROVED),
        ("InActive", "", ListingStatus.INACTIVE, QcStatus.APPROVED),
        ("Pending QC", "", ListingStatus.ACTIVE, QcStatus.PENDING),
        ("InActive", "Reject", ListingStatus.INACTIVE, QcStatus.REJECTED),
        ("Suspended", "Lock", ListingStatus.INACTIVE, QcStatus.APPROVED),
        ("Deleted", "", ListingStatus.DELETED, QcStatus.APPROVED),
    ],
)
def test_product_status_table(status: str, sub_status: str, status_out: ListingStatus, qc_out: QcStatus) -> None:
    """Lazada's product status and subStatus map onto our listing status and review state."""
    reasons = [{"suggestion": "Sửa ảnh", "violationDetail": "Ảnh mờ"}] if sub_status == "Reject" else []
    listing = listings_of(product(status=status, subStatus=sub_status, rejectReason=reasons), CategoryMap())[0]
    assert (listing.status, listing.qc_status) == (status_out, qc_out)
    assert listing.qc_reason == ("Ảnh mờ" if reasons else "")


def test_unknown_category_and_option_maps() -> None:
    """A shop's category_map option replaces the placeholder map; unmapped Lazada categories read as 0."""
    categories = CategoryMap.from_options({"category_map": {"3": 555}})
    assert categories.to_lazada(3) == 555 and categories.to_key(555) == 3
    assert listings_of(product(primary_category=999), CategoryMap())[0].content.category_key == 0


def test_item_status_and_weights() -> None:
    """Create's item_status decides pending review; weights convert between g and kg text."""
    assert qc_of_item_status("Pending QC") is QcStatus.PENDING
    assert qc_of_item_status("Active") is QcStatus.APPROVED
    assert (kilograms(650), kilograms(1000), kilograms(0), grams("0.65"), grams(None)) == ("0.65", "1", "0", 650, 0)


def test_each_order_item_is_its_own_line_so_a_partial_cancel_names_its_units() -> None:
    """Lazada order items are single units; each is a line of 1 under its own lifelong order_item_id."""
    order = LzOrder(order_id=900, created_at="2024-01-01 10:00:00 +0700")
    items = [
        LzOrderItem(order_item_id=11, order_id=900, sku="A", status="pending"),
        LzOrderItem(order_item_id=11001, order_id=900, sku="A", status="pending"),
        LzOrderItem(order_item_id=12, order_id=900, sku="A", status="canceled"),
        LzOrderItem(order_item_id=13, order_id=900, sku="B", status="delivered"),
    ]
    lines = order_lines(order, items)
    assert [(x.seller_sku, x.line_id, x.quantity, x.cancelled) for x in lines] == [
        ("A", "11", 1, False),
        ("A", "12", 1, True),
        ("A", "11001", 1, False),
        ("B", "13", 1, False),
    ]
    assert lines[0].created_at == datetime(2024, 1, 1, 3, 0, tzinfo=UTC)


# -- writing ---------------------------------------------------------------------------------


def test_create_payload_uses_arrays_and_lazada_field_names() -> None:
    """Images.Image and Skus.Sku are arrays (error 1001 otherwise); prices and stock are whole numbers."""
    content = ListingContent(
        title="Trà", images=("https://i/1.jpg",), brand="B", category_key=3, unit="hộp", weight_g=250
    )
    payload = json.loads(
        create_payload(ListingDraft(seller_sku="T-1", content=content, price_vnd=55_000, stock=3), CategoryMap())
    )
    product_ = payload["Request"]["Product"]
    assert product_["Images"] == {"Image": ["https://i/1.jpg"]}
    assert product_["PrimaryCategory"] == "10100003"
    assert product_["Attributes"]["name"] == "Trà" and product_["Attributes"]["ocop_unit"] == "hộp"
    assert product_["Skus"]["Sku"] == [
        {"SellerSku": "T-1", "quantity": "3", "price": "55000", "package_weight": "0.25", "Status": "active"}
    ]


def test_xml_payloads_escape_and_parse() -> None:
    """Seller SKUs with XML specials survive; deactivate names ItemId and SkuId."""
    rows = [PriceQuantityRow("1", "2", "A&B<1>", 1000, 5)]
    root = ET.fromstring(price_quantity_payload(rows))
    assert root.findtext("./Product/Skus/Sku/SellerSku") == "A&B<1>"
    assert root.findtext("./Product/Skus/Sku/Quantity") == "5"
    body = ET.fromstring(deactivate_payload(ListingRef(seller_sku="x", external_id="7", external_sku_id="8")))
    assert (body.findtext("./Product/ItemId"), body.findtext("./Product/Skus/SkuId")) == ("7", "8")


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "is_write", "expected"),
    [
        ("ApiCallLimit", "ISV", False, RateLimited),
        ("901", "ISV", False, RateLimited),
        ("IllegalAccessToken", "ISV", False, AuthExpired),
        ("IllegalRefreshToken", "ISV", False, AuthFailed),
        ("IncompleteSignature", "ISV", False, AuthFailed),
        ("InvalidApiKey", "ISV", False, AuthFailed),
        ("ServiceTimeout", "SYSTEM", False, TransientError),
        ("ServiceTimeout", "SYSTEM", True, AmbiguousWrite),
        ("513", "ISP", True, AmbiguousWrite),
        ("19", "ISV", False, Rejected),
        ("1001", "ISV", True, Rejected),
        ("4171", "ISP", True, Rejected),
        ("E207", "ISP", True, NotFound),
        ("SomethingNew", "SYSTEM", False, TransientError),
        ("SomethingNew", "ISV", False, PermanentError),
    ],
)
def test_error_table(code: str, kind: str, is_write: bool, expected: type[Exception]) -> None:
    """Each Lazada code becomes its typed error, carrying code and request id."""
    envelope = LzEnvelope(code=code, type=kind, message="m", request_id="rid-1")
    error = error_for(envelope, operation="op", is_write=is_write)
    assert type(error) is expected
    assert (error.code, error.request_id, error.marketplace) == (code, "rid-1", "lazada")


def test_throttle_ban_length_comes_from_the_message_or_header() -> None:
    """ApiCallLimit's "this ban will last N seconds" sets retry_after; Retry-After wins; default 1 s."""
    message = "Api access frequency exceeds the limit. this ban will last 3 seconds"
    error = error_for(LzEnvelope(code="ApiCallLimit", message=message), operation="op", is_write=False)
    assert isinstance(error, RateLimited) and error.retry_after == 3.0
    plain = error_for(LzEnvelope(code="901", message="slow down"), operation="op", is_write=False)
    assert isinstance(plain, RateLimited) and plain.retry_after == 1.0
    header = error_for(LzEnvelope(code="901"), operation="op", is_write=False, retry_after_header="2")
    assert isinstance(header, RateLimited) and header.retry_after == 2.0


def test_rejected_names_the_field_from_detail_or_the_table() -> None:
    """A validation error says which field and why."""
    detail = [{"field": "Quantity", "message": "quantity must be >= 0", "seller_sku": "A"}]
    error = error_for(
        LzEnvelope(code="501", message="Update product failed", detail=detail), operation="o", is_write=True
    )
    assert isinstance(error, Rejected) and (error.field, error.reason) == ("Quantity", "quantity must be >= 0")
    limit = error_for(LzEnvelope(code="19", message="Invalid Limit"), operation="o", is_write=False)
    assert isinstance(limit, Rejected) and limit.field == "limit"


def _response(status: int, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=content, headers=headers, request=httpx.Request("GET", "http://x/rest/a"))


def test_read_reply_maps_http_status_and_unreadable_bodies() -> None:
    """5xx is transient (ambiguous for writes), a non-JSON body or a missing code is a shape error."""
    with pytest.raises(AmbiguousWrite):
        read_reply(_response(500, b"oops"), operation="o", is_write=True)
    with pytest.raises(TransientError) as caught:
        read_reply(_response(503, b"down"), operation="o", is_write=False)
    assert caught.value.http_status == 503
    with pytest.raises(ResponseShapeError) as shape:
        read_reply(_response(200, b"<html>"), operation="o", is_write=False)
    assert shape.value.field == "<body>"
    with pytest.raises(ResponseShapeError) as missing:
        read_reply(_response(200, b'{"data": {}, "request_id": "r9"}'), operation="o", is_write=False)
    assert (missing.value.field, missing.value.request_id) == ("code", "r9")
    ok = read_reply(_response(200, b'{"code": "0", "data": {}, "request_id": "r1"}'), operation="o", is_write=False)
    assert ok.request_id == "r1" and ok.failure is None


def test_per_sku_results_classify_named_skus_and_leave_the_rest() -> None:
    """Named SKUs get REJECTED (validation) or FAILED (transient); unnamed ones get no result yet."""
    rows = [PriceQuantityRow("1", str(n), f"S{n}", 1000, 1) for n in range(4)]
    detail = [
        {"seller_sku": "S0", "field": "Quantity", "code": "501", "message": "below reserved"},
        {"sku_id": 2, "code": "6", "message": "E006: Unexpected internal error"},
        {"seller_sku": "ELSEWHERE", "code": "501"},
    ]
    results = per_sku_results(LzEnvelope(code="501", detail=detail), rows, operation="o")
    assert {k: (v.outcome, v.code) for k, v in results.items()} == {
        "S0": (ItemOutcome.REJECTED, "501"),
        "S2": (ItemOutcome.FAILED, "6"),
    }
    assert results["S0"].field == "Quantity"
    with pytest.raises(Rejected):
        per_sku_results(LzEnvelope(code="501", detail=[{"seller_sku": "ELSEWHERE"}]), rows, operation="o")


def test_gateway_urls() -> None:
    """A bare base URL gains /rest; Lazada gateways use auth.lazada.com for tokens unless configured."""
    assert api_url_of("http://127.0.0.1:8123/") == "http://127.0.0.1:8123/rest"
    assert api_url_of("https://api.lazada.vn/rest") == "https://api.lazada.vn/rest"
    assert auth_url_of("https://api.lazada.vn/rest", {}) == "https://auth.lazada.com/rest"
    assert auth_url_of("http://127.0.0.1:1/rest", {}) == "http://127.0.0.1:1/rest"
    assert auth_url_of("https://api.lazada.vn/rest", {"auth_url": "http://a/rest/"}) == "http://a/rest"


# -- the scroll cursor -----------------------------------------------------------------------


def _serve(rows: dict[str, int], since_s: int, offset: int, limit: int) -> list[tuple[str, int]]:
    """A stand-in for /products/get: updated at or after `since_s`, ordered by (time, id), sliced."""
    matched = sorted(((ms, item) for item, ms in rows.items() if ms >= since_s * 1000), key=lambda r: (r[0], int(r[1])))
    return [(item, ms) for ms, item in matched[offset : offset + limit]]


@settings(max_examples=150, deadline=None)
@given(
    seconds=st.lists(st.integers(min_value=1, max_value=6), min_size=0, max_size=160),
    bumps=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
    limit=st.sampled_from([7, 10, 50]),
)
def test_scroll_yields_every_item_once_while_items_move(seconds: list[int], bumps: list[int], limit: int) -> None:
    """With large same-second blocks and items updated between pages, nothing is skipped or repeated."""
    rows = {str(1000 + i): s * 1000 + (i % 3) for i, s in enumerate(seconds)}
    original = set(rows)
    scroll = Scroll.starting(None, limit)
    yielded: list[str] = []
    clock_ms, requests = 100_000, 0
    while not scroll.done:
        offset = scroll.next_offset()
        yielded += scroll.absorb(offset, _serve(rows, scroll.since_s, offset, limit))
        requests += 1
        assert requests < 10 * (len(seconds) + 5), "the scroll does not make progress"
        if bumps and rows:
            victim = sorted(rows)[bumps.pop() % len(rows)]
            clock_ms += 7
            rows[victim] = clock_ms  # edited between pages: moves to the end
    assert len(yielded) == len(set(yielded))
    assert original <= set(yielded)
