"""Lazada push messages: the signature as Lazada documents it, and what a message names (on the filed reply)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from adapters.lazada.push import message_id, message_skus, message_time_s, push_signature, signature_matches

GOLDEN = Path(__file__).parent / "golden" / "lazada" / "push_product_edited.assumed.json"


def test_signature_is_hmac_sha256_of_app_key_plus_body_keyed_with_the_secret() -> None:
    body = b'{"message_type":0}'
    expected = hmac.new(b"secret", b"key" + body, hashlib.sha256).hexdigest()
    assert push_signature("key", "secret", body) == expected
    assert signature_matches("key", "secret", body, expected.upper())  # hex case ignored
    assert not signature_matches("key", "secret", body + b" ", expected)
    assert not signature_matches("key", "other", body, expected)
    assert not signature_matches("key", "secret", body, "")


def test_the_filed_product_message_names_its_skus_and_time() -> None:
    raw = GOLDEN.read_bytes()
    message = json.loads(raw)
    assert message_skus(message) == ["OCOP-AG-MO-001"]
    assert message_time_s(message) == 1701320400.123
    assert message_id(raw) == hashlib.sha256(raw).hexdigest()
    assert message_skus({"message_type": 0, "data": {"trade_order_id": "1"}}) is None
    assert message_time_s({"timestamp": "soon"}) is None
