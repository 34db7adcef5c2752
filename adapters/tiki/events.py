"""Tiki's event queue, consumed: find or create our queue, subscribe, pull, acknowledge.

Published [V] (TIKI-DOCS `/api-references/event-queue-api/`; golden `queues_list.json`,
`queue_create.json`, `subscription_create.json`): `GET|POST /integration/v1/queues` with
`{code, name, status}`, `POST /integration/v1/queues/{code}/subscriptions {event_type}` with
`{code, active, event_type, sid}`, and the event payloads (`order_code`, `status`; `product_id`,
`original_sku`). Assumed [I] (not in our sources): `GET .../subscriptions` lists them, `POST
.../events/pull` answers `{ack_id, events[{id, event_type, sid, created_at, payload}]}` and
`POST .../events/ack {ack_id}` acknowledges that pull (golden `events_pull.assumed.json`).

An event becomes a `MarketEvent`: an order event names no SKU (the order pull finds them), a
product event names its `original_sku`. Its id is Tiki's `id`, else the digest of the event.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, RootModel

from adapters.tiki.client import TikiClient
from schemas.listing import EventBatch, MarketEvent

__all__ = ["ORDER_EVENTS", "PRODUCT_EVENTS", "TikiEvents", "market_event"]

QUEUES = "/integration/v1/queues"
ORDER_EVENTS = frozenset({"ORDER_CREATED_SUCCESSFULLY", "ORDER_STATUS_UPDATED"})
PRODUCT_EVENTS = frozenset({"PRODUCT_PRICE_UPDATED", "PRODUCT_MARKET_PRICE_UPDATED", "PRODUCT_INVENTORY_UPDATED"})
SUBSCRIBED = ("ORDER_CREATED_SUCCESSFULLY", "ORDER_STATUS_UPDATED", "PRODUCT_INVENTORY_UPDATED")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class QueueRow(_Body):
    """A queue as `GET|POST /integration/v1/queues` shows it [V]."""

    code: str
    name: str = ""
    status: str = ""


class QueueList(RootModel[list[QueueRow]]):
    """`GET /integration/v1/queues`: a bare list [V]."""


class Subscription(_Body):
    """A subscription as `POST .../subscriptions` shows it [V]."""

    code: str = ""
    active: bool = True
    event_type: str
    sid: str = ""


class SubscriptionList(RootModel[list[Subscription]]):
    """`GET .../subscriptions`: a bare list [I]."""


class QueueEvent(_Body):
    """One pulled event [I] (its `payload` fields per event type are [V])."""

    id: str | int | None = None
    event_type: str
    sid: str = ""
    created_at: str | int | None = None
    payload: dict[str, Any] = {}


class PullReply(_Body):
    """`POST .../events/pull` [I]."""

    ack_id: str = ""
    events: list[QueueEvent]


def market_event(event: QueueEvent) -> MarketEvent | None:
    """What one Tiki event asks us to look at; None for a type we do not act on."""
    if event.id is not None and str(event.id):
        message_id = f"tiki:{event.id}"
    else:
        raw = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()
        message_id = "tiki:sha256:" + hashlib.sha256(raw).hexdigest()
    if event.event_type in ORDER_EVENTS:
        return MarketEvent(message_id=message_id, event_type=event.event_type, skus=())
    if event.event_type in PRODUCT_EVENTS:
        sku = event.payload.get("original_sku")
        skus = (str(sku),) if sku else None  # a product we cannot name: look at the whole shop
        return MarketEvent(message_id=message_id, event_type=event.event_type, skus=skus)
    return None


class TikiEvents:
    """One seller's queue: set up on first use (found by name, else created and subscribed)."""

    def __init__(self, client: TikiClient, *, queue_name: str) -> None:
        self.client = client
        self.queue_name = queue_name
        self.code: str | None = None

    async def _ensure_queue(self) -> str:
        if self.code is not None:
            return self.code
        found, _ = await self.client.call_model(QueueList, "GET", QUEUES, operation="list_queues", is_write=False)
        queue = next((q for q in found.root if q.name == self.queue_name), None)
        if queue is None:
            queue, _ = await self.client.call_model(
                QueueRow, "POST", QUEUES, operation="create_queue", is_write=True, json={"name": self.queue_name}
            )
        path = f"{QUEUES}/{queue.code}/subscriptions"
        subs, _ = await self.client.call_model(
            SubscriptionList, "GET", path, operation="list_subscriptions", is_write=False
        )
        have = {s.event_type for s in subs.root if s.active}
        for event_type in SUBSCRIBED:
            if event_type not in have:  # subscribing again is harmless: Tiki keeps one per type
                await self.client.call_model(
                    Subscription, "POST", path, operation="subscribe", is_write=True, json={"event_type": event_type}
                )
        self.code = queue.code
        return queue.code

    async def pull(self) -> EventBatch:
        """Pull the next events of our queue; events we do not act on are dropped (and acknowledged)."""
        code = await self._ensure_queue()
        reply, _ = await self.client.call_model(
            PullReply, "POST", f"{QUEUES}/{code}/events/pull", operation="pull_events", is_write=False, json={}
        )
        events = tuple(e for e in (market_event(x) for x in reply.events) if e is not None)
        return EventBatch(events=events, ack_id=reply.ack_id)

    async def ack(self, batch: EventBatch) -> None:
        """Acknowledge one pull (nothing to do for an empty one)."""
        if not batch.ack_id:
            return
        code = await self._ensure_queue()
        await self.client.call(
            "POST", f"{QUEUES}/{code}/events/ack", operation="ack_events", is_write=True, json={"ack_id": batch.ack_id}
        )
