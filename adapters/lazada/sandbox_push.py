"""What the Lazada sandbox pushes: a trade-order message (type 0) per changed order, signed as Lazada signs it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from adapters.lazada.push import ORDER_MESSAGE, push_signature
from adapters.lazada.sandbox_shapes import item_status
from adapters.sandbox.push import PushMessage
from adapters.sandbox.store import SandboxOrder

__all__ = ["order_push"]


def order_push(
    seller_id: str, lines: Sequence[SandboxOrder], now: datetime, app_key: str, app_secret: str
) -> PushMessage:
    """The signed type-0 message for one order's new state ([V] envelope; `data` fields [assumed] from the guide)."""
    first = lines[0]
    body = {
        "seller_id": seller_id,
        "message_type": ORDER_MESSAGE,
        "data": {
            "trade_order_id": first.order_id,
            "order_status": item_status(first),
            "status_update_time": int(max(x.changed_at for x in lines).timestamp()),
        },
        "timestamp": int(now.timestamp() * 1000),
        "site": "lazada_vn",
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Authorization": push_signature(app_key, app_secret, raw), "Content-Type": "application/json"}
    return PushMessage(body=raw, headers=headers)
