"""Desired state: what every listing of one shop should look like, computed from the catalog.

Pure functions only: the catalog, the shop's rules and today's date go in, one
`DesiredListing` per listable product comes out. No I/O and no clock (``today`` is passed in).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel

from connector.engine.gcpause import gc_paused
from connector.settings import ShopSettings
from schemas.catalog import LISTING_ATTRIBUTES, CertificateState, Producer, Product
from schemas.listing import ListingContent
from schemas.sync import DesiredListing

__all__ = [
    "CONTENT_HASH_VERSION",
    "INACTIVE_CERT_EXPIRED",
    "INACTIVE_PRODUCT",
    "ContentMemo",
    "content_hash",
    "desired_listings",
    "legacy_content_hash",
    "listing_content",
    "same_pushed_content",
    "shop_price",
    "shop_stock",
]

INACTIVE_PRODUCT = "product_inactive"
INACTIVE_CERT_EXPIRED = "certificate_expired"
_CONTENT_FIELDS = tuple(ListingContent.model_fields)
_DESIRED_FIELDS = tuple(DesiredListing.model_fields)

# Every value below comes from an already validated `Product`/`Producer` or from
# `shop_price`/`shop_stock` (never negative), so the models are built without validating them
# again, sharing one "fields set" per call (bench (d): at 100,000 SKUs x 3 this is most of the
# planning time). `_construct` does what `BaseModel.model_construct` does for models whose every
# field is given, without its per-field default handling; tests/engine/test_desired.py checks that
# it builds models equal to validated ones.

_Model = TypeVar("_Model", bound=BaseModel)


def _construct(cls: type[_Model], fields_set: set[str], values: dict[str, Any]) -> _Model:
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", values)
    object.__setattr__(model, "__pydantic_fields_set__", fields_set)
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


@lru_cache(maxsize=256)
def _markup_ratio(markup_pct: float) -> tuple[int, int]:
    """(numerator, denominator) of 1 + markup_pct/100, exactly as the decimal text of the setting says."""
    numerator, denominator = (Decimal(100) + Decimal(str(markup_pct))).as_integer_ratio()
    return numerator, denominator * 100


def shop_price(base_vnd: int, shop: ShopSettings) -> int:
    """The shop's selling price: catalog price plus markup, rounded half-up to `price_round_vnd`, floored."""
    numerator, denominator = _markup_ratio(shop.price_markup_pct)
    step = shop.price_round_vnd
    scaled = base_vnd * numerator  # the exact price is scaled / denominator; round it half-up to `step`
    unit = denominator * step
    steps = (2 * scaled + unit) // (2 * unit) if scaled >= 0 else -((-2 * scaled + unit) // (2 * unit))
    return max(steps * step, shop.price_floor_vnd, 0)


def shop_stock(on_hand: int, shop: ShopSettings) -> int:
    """Sellable stock for the shop: on hand minus safety stock, 0 below `zero_below`, never negative."""
    sellable = on_hand - shop.safety_stock
    if sellable < shop.zero_below:
        return 0
    return max(sellable, 0)


def listing_content(product: Product, producer: Producer | None, cert_valid: bool) -> ListingContent:
    """The content we own on a listing; OCOP stars appear only while the certificate is valid."""
    return _content(product, producer, cert_valid, set(_CONTENT_FIELDS))


_NO_ATTRIBUTES: dict[str, str] = {}


@lru_cache(maxsize=4096)
def _ocop_attributes(stars: int, expires: date) -> dict[str, str]:
    """The OCOP attributes of a listing, one shared dict per (stars, expiry): content models are frozen and
    nothing mutates their attributes, so 100,000 listings need not carry 100,000 equal dicts."""
    return {"ocop_stars": str(stars), "ocop_valid_until": expires.isoformat()}


def _content(product: Product, producer: Producer | None, cert_valid: bool, fields: set[str]) -> ListingContent:
    title = product.name
    attributes: dict[str, str] = _NO_ATTRIBUTES
    if cert_valid:
        title = f"{product.name} - OCOP {product.stars} sao"
        attributes = _ocop_attributes(product.stars, product.certificate.expires)
    listed = {name: value for name in LISTING_ATTRIBUTES if (value := getattr(product, name))}
    if listed:  # a new dict: the OCOP one is shared between listings
        attributes = {**attributes, **listed}
    values = {
        "title": title,
        "description": product.description,
        "images": tuple(product.images),
        "brand": product.brand or (producer.name if producer is not None else ""),
        "category_key": product.product_set,
        "unit": product.unit,
        "weight_g": product.weight_g,
        "barcode": product.barcode,
        "attributes": attributes,
    }
    return _construct(ListingContent, fields, values)


CONTENT_HASH_VERSION = "v2"  # not a hex digit: a stored hash without it was made by `legacy_content_hash`


def content_hash(content: ListingContent) -> str:
    """A stable hash of the content fields we own (equal content hashes equal), 32 characters."""
    parts = [
        content.title,
        content.description,
        str(len(content.images)),
        *content.images,
        content.brand,
        str(content.category_key),
        content.unit,
        str(content.weight_g),
        "-" if content.barcode is None else f"+{content.barcode}",
        str(len(content.attributes)),
    ]
    for key in sorted(content.attributes):
        parts += (key, content.attributes[key])
    encoded = "".join(f"{len(part)}:{part}" for part in parts)  # length-prefixed: no two contents collide
    return CONTENT_HASH_VERSION + hashlib.blake2b(encoded.encode("utf-8"), digest_size=15).hexdigest()


def legacy_content_hash(content: ListingContent) -> str:
    """The first recipe (sha256 of the JSON dump), still found in bindings pushed before `CONTENT_HASH_VERSION`."""
    payload = json.dumps(content.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def same_pushed_content(pushed_hash: str, content: ListingContent, current_hash: str) -> bool:
    """True when `pushed_hash` (stored when content was pushed) is the hash of `content`, whose current-recipe
    hash is `current_hash`. Stored hashes of the first recipe are checked with it: they are migrated lazily,
    because the pushed content itself is not stored and cannot be hashed again."""
    if not pushed_hash:
        return False
    if pushed_hash.startswith(CONTENT_HASH_VERSION):
        return pushed_hash == current_hash
    return pushed_hash == legacy_content_hash(content)


@dataclass
class ContentMemo:
    """Listing content and its hash by product, for the shops of one catalog: content does not depend on the shop.

    An entry is reused only for the very same `Product` and `Producer` objects and certificate
    validity (a changed record is a new object), so a memo never changes what `desired_listings`
    returns, only how often the content is built and hashed (bench (d): 3 shops, one build).
    """

    by_sku: dict[str, tuple[Product, Producer | None, bool, ListingContent, str]] = field(default_factory=dict)

    def content(
        self, product: Product, producer: Producer | None, cert_valid: bool, fields: set[str]
    ) -> tuple[ListingContent, str]:
        """The listing content of `product` and its `content_hash`, built once per (product, producer, validity)."""
        hit = self.by_sku.get(product.sku)
        if hit is not None and hit[0] is product and hit[1] is producer and hit[2] is cert_valid:
            return hit[3], hit[4]
        content = _content(product, producer, cert_valid, fields)
        digest = content_hash(content)
        self.by_sku[product.sku] = (product, producer, cert_valid, content, digest)
        return content, digest


def _desired_one(
    product: Product,
    producer: Producer | None,
    shop: ShopSettings,
    today: date,
    fields: tuple[set[str], set[str]],
    memo: ContentMemo,
) -> DesiredListing:
    expired = product.certificate.state(today) is CertificateState.EXPIRED
    content, digest = memo.content(product, producer, not expired, fields[0])
    reason = INACTIVE_PRODUCT if not product.active else INACTIVE_CERT_EXPIRED if expired else ""
    values = {
        "shop_id": shop.id,
        "seller_sku": product.sku,
        "producer_id": product.producer_id,
        "content": content,
        "price_vnd": shop_price(product.price_vnd, shop),
        "stock": shop_stock(product.stock, shop),
        "active": not reason,
        "inactive_reason": reason,
        "cert_expired": expired,
        "content_hash": digest,
    }
    return _construct(DesiredListing, fields[1], values)


def desired_listings(
    products: Iterable[Product],
    producers: Iterable[Producer] | Mapping[str, Producer],
    shop: ShopSettings,
    today: date,
    contents: ContentMemo | None = None,
) -> list[DesiredListing]:
    """One desired listing per product the shop should carry, sorted by SKU.

    Community-tourism services (set 26) are never listed; a shop that belongs to one
    producer carries only that producer's products. Inactive products and products whose
    OCOP certificate expired are still returned, with ``active=False`` and a reason, so the
    plan can take their listings down. `contents`, shared by the shops of one catalog, builds
    each product's content once for all of them (the result is the same with or without it).
    """
    by_id = dict(producers) if isinstance(producers, Mapping) else {p.id: p for p in producers}
    wanted = [p for p in products if p.shippable and (shop.producer_id is None or p.producer_id == shop.producer_id)]
    fields = (set(_CONTENT_FIELDS), set(_DESIRED_FIELDS))  # shared by this call's models (copies update their own)
    memo = contents if contents is not None else ContentMemo()
    with gc_paused():  # builds only acyclic values
        return [
            _desired_one(p, by_id.get(p.producer_id), shop, today, fields, memo)
            for p in sorted(wanted, key=lambda p: p.sku)
        ]
