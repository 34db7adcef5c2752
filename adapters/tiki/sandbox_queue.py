"""The Tiki sandbox's event queues: create, subscribe, pull and ack, delivered at least once.

Published [V] (TIKI-DOCS `/api-references/event-queue-api/`, `/guides/event-queues/*`,
`/guides/tiki-theory/event-type/`): `GET|POST /integration/v1/queues` (queue `{code, name,
status}`), `POST /integration/v1/queues/{code}/subscriptions {event_type}` (subscription `{code,
active, event_type, sid}`), the event types and their v1 payloads (`order_code`, `status`;
`product_id`, `original_sku`, ...). Delivery is documented as at least once and in order.

Assumed [I] (the pull and ack sections were not in our sources): `POST
/integration/v1/queues/{code}/events/pull` answers `{"ack_id", "events": [{"id", "event_type",
"sid", "created_at", "payload"}]}`; `POST .../events/ack {"ack_id"}` answers `{}`; events pulled
and not acknowledged come back after `VISIBILITY_S`. The sandbox is harsher than the docs
promise: with `push_duplicate_rate` a pull repeats events, with `push_reorder` it shuffles them.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = ["EVENT_TYPES", "VISIBILITY_S", "QueueEvent", "TikiQueues"]

EVENT_TYPES = frozenset(
    {
        "ORDER_CREATED_SUCCESSFULLY",
        "ORDER_STATUS_UPDATED",
        "PRODUCT_PRICE_UPDATED",
        "PRODUCT_MARKET_PRICE_UPDATED",
        "PRODUCT_INVENTORY_UPDATED",
    }
)
VISIBILITY_S = 30.0  # [I] an event pulled but not acknowledged is delivered again after this
MAX_PULL = 50  # [I] events per pull

Enter = Callable[[Request, str], Awaitable[str | Response]]  # the seller id, or the reply that stops here


@dataclass
class QueueEvent:
    """One event routed to a queue, with its delivery state."""

    id: str
    event_type: str
    sid: str
    created_at: datetime
    payload: dict[str, Any]
    acked: bool = False
    visible_at: datetime | None = None  # pulled and not acknowledged: hidden until then
    ack_id: str = ""

    def render(self) -> dict[str, Any]:
        """The event as a pull shows it."""
        return {
            "id": self.id,
            "event_type": self.event_type,
            "sid": self.sid,
            "created_at": self.created_at.isoformat(),
            "payload": self.payload,
        }


@dataclass
class Queue:
    """One seller's queue and what is subscribed to it."""

    code: str
    name: str
    seller_id: str
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by event type
    events: list[QueueEvent] = field(default_factory=list)


@dataclass
class TikiQueues:
    """Every queue of the sandbox, the events routed to them, and the queue routes."""

    clock: Callable[[], datetime]
    rng: random.Random
    duplicate_rate: float = 0.0
    reorder: bool = False
    queues: dict[str, Queue] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- producing ------------------------------------------------------------------------------

    def publish(self, seller_id: str, event_type: str, payload: dict[str, Any]) -> int:
        """Route one event to every queue of the seller subscribed to its type; how many queues got it."""
        routed = 0
        for queue in self.queues.values():
            sub = queue.subscriptions.get(event_type)
            if queue.seller_id != seller_id or sub is None or not sub["active"]:
                continue
            event_id = f"evt-{next(self._ids):08d}"
            queue.events.append(QueueEvent(event_id, event_type, sub["sid"], self.clock(), payload))
            routed += 1
        return routed

    def unacked(self, seller_id: str) -> int:
        """Events of a seller's queues not yet acknowledged."""
        return sum(1 for q in self.queues.values() if q.seller_id == seller_id for e in q.events if not e.acked)

    # -- routes ---------------------------------------------------------------------------------

    def routes(self, enter: Enter) -> list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]]:
        """(path, handler, methods) of the queue API, each authenticated and gated through `enter`."""
        v1 = "/integration/v1/queues"

        def guarded(operation: str, handler: Callable[[Request, str], Awaitable[Response]]) -> Any:
            async def endpoint(request: Request) -> Response:
                caller = await enter(request, operation)
                if isinstance(caller, Response):
                    return caller
                return await handler(request, caller)

            return endpoint

        return [
            (v1, guarded("list_queues", self._list), ["GET"]),
            (v1, guarded("create_queue", self._create), ["POST"]),
            (f"{v1}/{{code}}/subscriptions", guarded("list_subscriptions", self._subscriptions), ["GET"]),
            (f"{v1}/{{code}}/subscriptions", guarded("subscribe", self._subscribe), ["POST"]),
            (f"{v1}/{{code}}/events/pull", guarded("pull_events", self._pull), ["POST"]),
            (f"{v1}/{{code}}/events/ack", guarded("ack_events", self._ack), ["POST"]),
        ]

    @staticmethod
    def _render(queue: Queue) -> dict[str, Any]:
        return {"code": queue.code, "name": queue.name, "status": "ACTIVE"}

    def _queue(self, request: Request, seller_id: str) -> Queue | None:
        queue = self.queues.get(request.path_params["code"])
        return queue if queue is not None and queue.seller_id == seller_id else None

    async def _list(self, request: Request, seller_id: str) -> Response:
        return JSONResponse([self._render(q) for q in self.queues.values() if q.seller_id == seller_id])

    async def _create(self, request: Request, seller_id: str) -> Response:
        body = await request.json()
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return JSONResponse({"errors": ["name is required"]}, status_code=400)
        queue = Queue(str(uuid.UUID(int=self.rng.getrandbits(128))), name, seller_id)
        self.queues[queue.code] = queue
        return JSONResponse(self._render(queue))

    async def _subscriptions(self, request: Request, seller_id: str) -> Response:
        queue = self._queue(request, seller_id)
        if queue is None:
            return JSONResponse({"errors": ["queue not found"]}, status_code=404)
        return JSONResponse(list(queue.subscriptions.values()))

    async def _subscribe(self, request: Request, seller_id: str) -> Response:
        queue = self._queue(request, seller_id)
        if queue is None:
            return JSONResponse({"errors": ["queue not found"]}, status_code=404)
        body = await request.json()
        event_type = body.get("event_type") if isinstance(body, dict) else None
        if event_type not in EVENT_TYPES:
            return JSONResponse({"errors": [f"event_type not supported: {event_type}"]}, status_code=400)
        sub = queue.subscriptions.get(event_type) or {
            "code": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "active": True,
            "event_type": event_type,
            "sid": f"{self.rng.getrandbits(160):040X}",
        }
        queue.subscriptions[event_type] = sub
        return JSONResponse(sub)

    async def _pull(self, request: Request, seller_id: str) -> Response:
        queue = self._queue(request, seller_id)
        if queue is None:
            return JSONResponse({"errors": ["queue not found"]}, status_code=404)
        now = self.clock()
        ready = [e for e in queue.events if not e.acked and (e.visible_at is None or e.visible_at <= now)]
        batch = ready[:MAX_PULL]
        ack_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        for event in batch:
            event.visible_at, event.ack_id = now + timedelta(seconds=VISIBILITY_S), ack_id
        shown = [*batch, *(e for e in batch if self.rng.random() < self.duplicate_rate)]
        if self.reorder:
            self.rng.shuffle(shown)
        return JSONResponse({"ack_id": ack_id if batch else "", "events": [e.render() for e in shown]})

    async def _ack(self, request: Request, seller_id: str) -> Response:
        queue = self._queue(request, seller_id)
        if queue is None:
            return JSONResponse({"errors": ["queue not found"]}, status_code=404)
        body = await request.json()
        ack_id = body.get("ack_id") if isinstance(body, dict) else None
        if not isinstance(ack_id, str) or not ack_id:
            return JSONResponse({"errors": ["ack_id is required"]}, status_code=400)
        for event in queue.events:
            if event.ack_id == ack_id:
                event.acked = True
        return JSONResponse({})
