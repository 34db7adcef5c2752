"""Lazada's push mechanism (webhooks): the signature, the message fields we read, and what a message names.

[V] Lazada POSTs a JSON body `{"seller_id", "message_type", "data": {...}, "timestamp", "site"}`
with an `Authorization` header holding the hex HMAC-SHA256 of `app_key + raw body`, keyed
with the app secret (the published sample prints lowercase hex). Sources: LZ-DOCS
`guides/push-mechanismwebhook-application/*.md`, LZ-ALITRIP articles 120205 / 120197.
Message types: 0 trade order, 3 product/SKU added, 4 product edited, 5 product/SKU deleted
(types 3-5 carry `data.sku_list[{seller_sku, ...}]`). Lazada publishes no message id; a
message is identified by the digest of its raw body (a retry of the same message is the same
bytes; [assumed] Lazada re-reads state on retry, which only makes it a newer message).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ORDER_MESSAGE",
    "PRODUCT_MESSAGES",
    "message_id",
    "message_skus",
    "message_time_s",
    "push_signature",
    "signature_matches",
]

ORDER_MESSAGE = 0
PRODUCT_MESSAGES = frozenset({3, 4, 5})


def push_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """The `Authorization` value Lazada sends: lowercase hex HMAC-SHA256(app_secret, app_key + body)."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def signature_matches(app_key: str, app_secret: str, body: bytes, header: str) -> bool:
    """Whether `header` is the push signature of `body` (constant-time; hex case ignored)."""
    expected = push_signature(app_key, app_secret, body)
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


def message_id(body: bytes) -> str:
    """Our id of one pushed message: the SHA-256 of its raw body."""
    return hashlib.sha256(body).hexdigest()


def message_time_s(message: Mapping[str, Any]) -> float | None:
    """The message's `timestamp` in epoch seconds (Lazada samples use ms; seconds accepted), or None."""
    raw = message.get("timestamp")
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value / 1000 if value > 10**11 else value


def message_skus(message: Mapping[str, Any]) -> list[str] | None:
    """The seller SKUs a message names (product messages), or None when it names none (an order message).

    None means "look at the whole shop": an order push names an order, not its SKUs, and the
    order pull that follows finds them.
    """
    data = message.get("data")
    if not isinstance(data, Mapping):
        return None
    rows = data.get("sku_list")
    if not isinstance(rows, list):
        return None
    skus = sorted({str(r["seller_sku"]) for r in rows if isinstance(r, Mapping) and r.get("seller_sku")})
    return skus or None
