"""Lazada request signing: the published algorithm and the test vectors of marketplace-apis.md §1.2."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.lazada.signing import parse_timestamp, sign, signature_matches, signed_params, signing_string

PQ_PAYLOAD = (
    "<Request><Product><Skus><Sku><ItemId>1</ItemId><SkuId>2</SkuId><Quantity>5</Quantity></Sku></Skus>"
    "</Product></Request>"
)
VECTORS = [
    pytest.param(
        "1234",
        "/test/api",
        {"foo": "1", "bar": "2", "foo_bar": "3", "foobar": "4"},
        "988085883BF9D32D251478D23122C7ECC91518CDF63BA22F792000A378F52409",
        id="1-published-sdk-snapshot",
    ),
    pytest.param(
        "helloworld",
        "/products/get",
        {
            "access_token": "test",
            "app_key": "123456",
            "filter": "live",
            "limit": "50",
            "offset": "0",
            "sign_method": "sha256",
            "timestamp": "1517820392000",
            "update_after": "2024-01-01T00:00:00+07:00",
        },
        "D7207CD63BB04768C461A8DAB92C5F65330A4EE0BE10EF3642D3B1CF29B85D77",
        id="3-products-get",
    ),
    pytest.param(
        "helloworld",
        "/products/get",
        {"app_key": "123456", "search": "Mật ong", "sign_method": "sha256", "timestamp": "1517820392000"},
        "7181658E98A721D644327E2F9E305154830063C522B168B5E6BA6C44D26C6677",
        id="4-vietnamese-utf8",
    ),
    pytest.param(
        "helloworld",
        "/product/price_quantity/update",
        {
            "access_token": "test",
            "app_key": "123456",
            "payload": PQ_PAYLOAD,
            "sign_method": "sha256",
            "timestamp": "1517820392000",
        },
        "FC15EC4CCBA7C0099F0C28762A934126253C2B890A210FAEBC6C1A01E8C49DAB",
        id="5-xml-payload",
    ),
]


@pytest.mark.parametrize(("secret", "api", "params", "expected"), VECTORS)
def test_signature_vectors(secret: str, api: str, params: dict[str, str], expected: str) -> None:
    """Each vector signs to its expected upper-case hex, and verifies."""
    assert sign(secret, api, params) == expected
    assert signature_matches(secret, api, {**params, "sign": expected})
    assert signature_matches(secret, api, {**params, "sign": expected.lower()})


def test_signing_string_is_path_then_sorted_name_value_pairs_without_sign() -> None:
    """The signed text is the API path followed by name+value pairs in ASCII name order, `sign` excluded."""
    params = {"foo": "1", "bar": "2", "foo_bar": "3", "foobar": "4", "sign": "X"}
    assert signing_string("/test/api", params) == "/test/apibar2foo1foo_bar3foobar4"


def test_signed_params_add_system_parameters_and_drop_empty_values() -> None:
    """signed_params adds app_key, ms timestamp, sign_method, access_token and a verifying sign."""
    now = datetime(2018, 2, 5, 8, 46, 32, tzinfo=UTC)
    params = signed_params(
        "/products/get",
        {"filter": "live", "search": ""},
        app_key="123456",
        app_secret="helloworld",
        now=now,
        access_token="tok",
    )
    assert params["timestamp"] == "1517820392000"
    assert params["sign_method"] == "sha256"
    assert params["access_token"] == "tok"
    assert "search" not in params
    assert params["sign"] == params["sign"].upper() and len(params["sign"]) == 64
    assert signature_matches("helloworld", "/products/get", params)


@pytest.mark.parametrize("tamper", ["filter", "timestamp", "access_token", "app_key"])
def test_any_changed_parameter_breaks_the_signature(tamper: str) -> None:
    """Changing any signed value (or the path or secret) makes verification fail."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    params = signed_params("/products/get", {"filter": "live"}, app_key="k", app_secret="s", now=now, access_token="t")
    assert not signature_matches("s", "/products/get", {**params, tamper: params[tamper] + "x"})
    assert not signature_matches("s", "/product/get", params)
    assert not signature_matches("wrong", "/products/get", params)


def test_parse_timestamp_accepts_ms_and_iso_only() -> None:
    """Both documented timestamp forms parse to the same instant; other text does not."""
    ms = parse_timestamp("1517820392000")
    iso = parse_timestamp("2018-02-05T08:46:32Z")
    assert ms == iso == datetime(2018, 2, 5, 8, 46, 32, tzinfo=UTC)
    assert parse_timestamp("2018-02-05T15:46:32+07:00") == ms
    assert parse_timestamp("yesterday") is None
