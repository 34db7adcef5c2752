"""The canonical OCOP catalog: producers (chủ thể) and their certified products.

These models are the truth the whole service reconciles marketplaces against, so they
validate hard: stars 3..5, product set 1..26, integer VND, https images, GTIN check digits,
and Vietnamese text normalised to NFC so that it round-trips byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.lean import LeanFrozenModel

CERTIFICATE_VALIDITY_MONTHS = 36


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def nfc(value: str) -> str:
    """Return `value` in Unicode NFC, line breaks as "\\n", surrounding whitespace removed.

    Control characters (other than tab and line breaks) and lone surrogates are refused: they
    cannot be stored in a spreadsheet and never belong in a product record.
    """
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


Text = Annotated[str, AfterValidator(nfc)]
# Ids and names are strict strings: a boolean, a number or bytes is refused, never turned into
# "False" or a 121-digit name (issue #18; an importer must hand the schema the value it read).
NonEmptyText = Annotated[str, Strict(), AfterValidator(nfc), Field(min_length=1)]
Sku = Annotated[str, Strict(), AfterValidator(nfc), Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]


class ProducerType(StrEnum):
    """The legal form of an OCOP chủ thể (ocop-domain C6)."""

    ENTERPRISE = "enterprise"  # doanh nghiệp
    COOPERATIVE = "cooperative"  # hợp tác xã
    COOPERATIVE_GROUP = "cooperative_group"  # tổ hợp tác
    HOUSEHOLD = "household"  # hộ / cơ sở sản xuất kinh doanh


class ProductGroup(StrEnum):
    """The six OCOP product groups since 2023 (ocop-domain C1, C3)."""

    FOOD = "food"
    BEVERAGES = "beverages"
    HERBAL = "herbal"
    HANDICRAFTS = "handicrafts"
    ORNAMENTAL = "ornamental"
    TOURISM = "tourism"


class CriteriaVersion(StrEnum):
    """The legal instrument a rating was scored under (ocop-domain C1)."""

    QD_1048_2019 = "1048/QĐ-TTg"
    QD_148_2023 = "148/QĐ-TTg"
    QD_26_2026 = "26/2026/QĐ-TTg"


class IssuingLevel(StrEnum):
    """Who recognised the rating: district (2023-2025), province (3-4★) or central (5★)."""

    DISTRICT = "district"
    PROVINCE = "province"
    CENTRAL = "central"


class CertificateState(StrEnum):
    """Whether an OCOP certificate may be shown on a listing today."""

    VALID = "valid"
    EXPIRING = "expiring"  # valid, but within the warning window
    EXPIRED = "expired"


COMMUNITY_TOURISM_SET = 26
_DIGITS = re.compile(r"\s*[0-9]+\s*")


def group_of_set(product_set: int) -> ProductGroup:
    """Map an OCOP product set (1..26, ocop-domain C3) to its group."""
    if 1 <= product_set <= 13:
        return ProductGroup.FOOD
    if 14 <= product_set <= 17:
        return ProductGroup.BEVERAGES
    if 18 <= product_set <= 20:
        return ProductGroup.HERBAL
    if 21 <= product_set <= 22:
        return ProductGroup.HANDICRAFTS
    if 23 <= product_set <= 25:
        return ProductGroup.ORNAMENTAL
    if product_set == COMMUNITY_TOURISM_SET:
        return ProductGroup.TOURISM
    raise ValueError(f"product set must be 1..26, got {product_set}")


def add_months(day: date, months: int) -> date:
    """Return `day` moved by whole months, clamped to the last day of the target month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {day}")  # pragma: no cover


def gtin_is_valid(code: str) -> bool:
    """True when `code` is a GTIN-8/12/13/14 with a correct check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _check_gtin(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not gtin_is_valid(value):
        raise ValueError("barcode is not a valid GTIN-8/12/13/14 (wrong length or check digit)")
    return value


def _check_https(value: str) -> str:
    value = value.strip()
    if not value.startswith("https://") or len(value) <= len("https://") or value[len("https://")] == "/":
        raise ValueError("image URL must start with https:// and name a host")
    if any(c.isspace() for c in value):
        raise ValueError("image URL must not contain spaces")
    return value


Gtin = Annotated[str | None, AfterValidator(_check_gtin)]
HttpsUrl = Annotated[str, AfterValidator(_check_https)]


class Address(LeanFrozenModel):
    """A postal address; OCOP keeps the one on the certificate and the current one (C8 merger)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    street: Text = ""
    commune: Text = ""
    district: Text = ""
    province: NonEmptyText


class Producer(LeanFrozenModel):
    """An OCOP chủ thể: the cooperative, firm or household that owns certified products."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Sku
    name: NonEmptyText
    type: ProducerType
    registration_no: Text = ""  # business registration / tax number
    address_certified: Address
    address_current: Address
    contact_name: Text = ""
    contact_phone: Text = ""
    contact_email: Text = ""


class Compliance(LeanFrozenModel):
    """References that let a food product be sold online (ocop-domain C7)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    self_declaration_ref: Text = ""
    lab_test_date: date | None = None
    food_safety_cert_no: Text = ""
    food_safety_cert_expires: date | None = None
    food_safety_exemption: Text = ""  # exemption ground or GMP/HACCP/ISO 22000 reference
    alcohol: bool = False
    cosmetic: bool = False


class OcopCertificate(LeanFrozenModel):
    """The recognition decision behind a star rating; valid 36 months by default (C4)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision_no: NonEmptyText
    decision_date: date
    issuing_level: IssuingLevel
    issuer: Text = ""
    valid_until: date | None = None

    @field_validator("valid_until")
    @classmethod
    def _not_before_decision(cls, value: date | None, info: ValidationInfo) -> date | None:
        decided = info.data.get("decision_date")
        if value is not None and decided is not None and value < decided:
            raise ValueError("valid_until is before the decision date")
        return value

    @model_validator(mode="after")
    def _default_validity(self) -> OcopCertificate:
        if self.valid_until is None:
            object.__setattr__(self, "valid_until", add_months(self.decision_date, CERTIFICATE_VALIDITY_MONTHS))
        return self

    @property
    def expires(self) -> date:
        """The last day the certificate is valid."""
        assert self.valid_until is not None
        return self.valid_until

    def state(self, today: date, warn_days: int = 60) -> CertificateState:
        """Whether the certificate is valid, expiring within `warn_days`, or expired on `today`."""
        if today > self.expires:
            return CertificateState.EXPIRED
        if (self.expires - today).days <= warn_days:
            return CertificateState.EXPIRING
        return CertificateState.VALID


LISTING_ATTRIBUTES = ("origin", "shelf_life", "storage", "ingredients")
"""Product fields that travel as listing attributes (brand travels as the listing's brand)."""


class Product(LeanFrozenModel):
    """One OCOP-certified product as the catalog knows it; `sku` is our seller SKU everywhere."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: Sku
    ocop_code: Text = ""
    producer_id: Sku
    name: NonEmptyText
    product_set: int = Field(ge=1, le=26)
    criteria_version: CriteriaVersion = CriteriaVersion.QD_148_2023
    score: int | None = Field(default=None, ge=0, le=100)
    stars: int = Field(ge=3, le=5)
    potential_5: bool = False
    certificate: OcopCertificate
    compliance: Compliance = Compliance()
    traceability_code: Text = ""
    traceability_url: Text = ""
    price_vnd: int = Field(ge=0, le=1_000_000_000)
    stock: int = Field(ge=0)
    unit: NonEmptyText = "sản phẩm"
    weight_g: int = Field(default=0, ge=0)
    description: Text = ""
    images: tuple[HttpsUrl, ...] = ()
    barcode: Gtin = None
    active: bool = True
    # attributes marketplaces' categories ask for (optional; pre-flight names the ones a category requires)
    brand: Text = ""
    origin: Text = ""
    shelf_life: Text = ""
    storage: Text = ""
    ingredients: Text = ""

    @field_validator("price_vnd", "stock", "weight_g", "product_set", "stars", "score", mode="before")
    @classmethod
    def _whole_numbers(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a whole number, not a boolean")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError("must be a whole number (VND has no fractions)")
            return int(value)
        if isinstance(value, str) and not _DIGITS.fullmatch(value):
            # pydantic would read "85.000" (Vietnamese thousands) as 85: refuse anything but digits
            raise ValueError("must be written as plain digits, without separators, decimals or signs")
        return value

    @field_validator("potential_5")
    @classmethod
    def _potential_needs_four(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("stars", 4) != 4:
            raise ValueError("potential_5 applies only to 4-star products put forward for 5 stars")
        return value

    @field_validator("traceability_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and (not value.startswith(("https://", "http://")) or any(c.isspace() for c in value)):
            raise ValueError("traceability_url must be an http(s) URL without spaces")
        return value

    @property
    def group(self) -> ProductGroup:
        """The OCOP group derived from the product set."""
        return group_of_set(self.product_set)

    @property
    def shippable(self) -> bool:
        """False for community-tourism services (set 26), which are never listed."""
        return self.product_set != COMMUNITY_TOURISM_SET

    def content_hash(self) -> str:
        """A stable hash of every field; equal products hash equal, whatever their source file."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
