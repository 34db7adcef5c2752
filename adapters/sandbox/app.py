"""The base every marketplace simulator builds on: gatekeeping, review queue, buyers, control API.

A marketplace sandbox subclasses `Sandbox`, adds its own routes (`marketplace_routes`) and
renders gate decisions in its own envelope. The `/_sandbox/...` control routes are the same
for all: set faults, inspect creates and the request log, place buyer orders, edit a listing
by hand, advance the clock.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.sandbox.clock import SandboxClock
from adapters.sandbox.faults import Fault, FaultInjector, FaultSpec, SimulatedReset
from adapters.sandbox.push import Pusher
from adapters.sandbox.ratelimit import SlidingWindowLimiter
from adapters.sandbox.store import SandboxListing, SandboxOrder, SandboxStore


class SellerAccount(BaseModel):
    """A seller the sandbox knows, with the sandbox-only credentials it accepts."""

    model_config = ConfigDict(frozen=True)

    seller_id: str
    credentials: dict[str, str] = Field(default_factory=dict)


class SandboxOptions(BaseModel):
    """How a simulator behaves; every knob has a realistic default."""

    sellers: tuple[SellerAccount, ...] = ()
    faults: FaultSpec = Field(default_factory=FaultSpec)
    seed: int = 0
    rate_limit_per_s: int = Field(default=0, ge=0, description="0 = the marketplace's published limit")
    token_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    refresh_ttl_s: int = Field(default=14 * 24 * 3600, gt=0)
    qc_delay_s: float = Field(default=0.0, ge=0, description="simulated seconds a review takes")
    qc_reject_rate: float = Field(default=0.0, ge=0, le=1)
    qc_reject_skus: tuple[str, ...] = ()
    buyers_per_minute: float = Field(default=0.0, ge=0, description="simulated buyer orders")
    push_url: str | None = Field(default=None, description="where this sandbox POSTs its pushes (None = no pushes)")
    push_duplicate_rate: float = Field(default=0.0, ge=0, le=1, description="share of pushes sent twice")
    push_reorder: bool = Field(default=False, description="deliver each batch of pushes in a shuffled order")


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it, for tests and benchmarks."""

    at: datetime
    seller_id: str
    operation: str
    is_write: bool
    outcome: str  # ok | throttled | error | outage | reset | timeout | lost | not_applied
    retry_after: float | None = None


@dataclass(frozen=True)
class GateDecision:
    """What the gate decided for a request: go on, or answer with a fault."""

    fault: Fault
    retry_after: float | None = None

    @property
    def passed(self) -> bool:
        """True when the request should be handled normally."""
        return self.fault is Fault.NONE


class ResetMiddleware:
    """Turns SimulatedReset into a connection that dies mid-response, as over a real socket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; on SimulatedReset, start a response and abandon it; a client gone mid-body gets nothing."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except SimulatedReset:
            if not started:
                headers = [(b"content-length", b"1000"), (b"content-type", b"application/json")]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
            raise
        except ClientDisconnect:
            return  # the caller hung up while sending its body (timed out or killed): nobody to answer


class Sandbox:
    """Shared state and behaviour of one marketplace simulator."""

    marketplace: str = "sandbox"
    published_rate_limit_per_s: int = 50
    api_base_path: str = ""
    """Path a real client puts after the host in its base URL (Lazada's gateway is `<host>/rest`)."""

    def __init__(self, options: SandboxOptions | None = None, clock: SandboxClock | None = None) -> None:
        self.options = options or SandboxOptions()
        self.clock = clock or SandboxClock()
        self.faults = FaultInjector(self.options.faults)
        self.rng = random.Random(self.options.seed)
        self.store = SandboxStore()
        self.pusher = Pusher(
            url=self.options.push_url,
            duplicate_rate=self.options.push_duplicate_rate,
            reorder=self.options.push_reorder,
            rng=random.Random(self.options.seed + 1),
        )
        self.log: list[RequestRecord] = []
        limit = self.options.rate_limit_per_s or self.published_rate_limit_per_s
        self.limiter = SlidingWindowLimiter(limit)
        self.sellers = {s.seller_id: s for s in self.options.sellers}
        self._under_review: dict[tuple[str, str], SandboxListing] = {}
        self.buyers_at: dict[str, datetime] = {}
        self.app: ASGIApp = ResetMiddleware(Starlette(routes=[*self.marketplace_routes(), *self.control_routes()]))

    # -- to be provided by each marketplace -------------------------------------------------

    def marketplace_routes(self) -> list[BaseRoute]:
        """The marketplace's own API routes."""
        return []

    # -- gatekeeping ------------------------------------------------------------------------

    def record(
        self, seller_id: str, operation: str, is_write: bool, outcome: str, retry_after: float | None = None
    ) -> None:
        """Append one entry to the request log."""
        self.log.append(RequestRecord(self.clock.now(), seller_id, operation, is_write, outcome, retry_after))

    async def gate(self, seller_id: str, operation: str, *, is_write: bool) -> GateDecision:
        """Apply latency, rate limits and injected faults to one authenticated request."""
        spec = self.faults.spec
        if spec.latency_ms:
            await asyncio.sleep(spec.latency_ms / 1000)
        fault = self.faults.draw()
        retry_after: float | None = None
        if fault is Fault.NONE:
            wait = self.limiter.check(seller_id, self.clock.now())
            if wait is not None:
                fault, retry_after = Fault.THROTTLE, wait
        elif fault is Fault.THROTTLE:
            retry_after = spec.retry_after_s
        outcome = {Fault.NONE: "ok", Fault.THROTTLE: "throttled"}.get(fault, fault.value)
        self.record(seller_id, operation, is_write, outcome, retry_after)
        if fault is Fault.RESET:
            raise SimulatedReset(operation)
        if fault is Fault.TIMEOUT:
            await asyncio.sleep(spec.timeout_hang_s)
            raise SimulatedReset(operation)
        return GateDecision(fault, retry_after)

    def retry_after_header(self, seconds: float) -> str:
        """A Retry-After value in the configured form (delta-seconds or HTTP-date)."""
        if self.faults.spec.retry_after_http_date:
            from email.utils import format_datetime

            when = self.clock.now() + timedelta(seconds=max(1.0, seconds))
            if when.microsecond:  # an HTTP-date has whole seconds: round up, never promise less than the ban
                when = when.replace(microsecond=0) + timedelta(seconds=1)
            return format_datetime(when, usegmt=True)
        if self.faults.spec.retry_after_s < 1:
            # scaled-down time (chaos tests): delta-seconds with a fraction, which clients parse as a float
            return f"{max(seconds, self.faults.spec.retry_after_s):.3f}"
        return str(max(1, round(seconds + 0.499)))

    def lose_response(self, seller_id: str, operation: str) -> None:
        """After a committed write: sometimes drop the reply so the client cannot know it worked."""
        if self.faults.chance(self.faults.spec.lost_response_rate):
            self.record(seller_id, operation, True, "lost")
            raise SimulatedReset(operation)

    def skip_apply(self) -> bool:
        """True when a write should be acknowledged but silently not applied."""
        return self.faults.chance(self.faults.spec.not_applied_rate)

    def fail_item(self) -> bool:
        """True when one item of a batch should fail (partial batch failure)."""
        return self.faults.chance(self.faults.spec.partial_batch_rate)

    def throttle_violations(self, tolerance_s: float = 0.05) -> list[RequestRecord]:
        """Requests a seller sent while a throttle back-off it was given had not yet passed."""
        violations: list[RequestRecord] = []
        banned_until: dict[str, datetime] = {}
        for entry in self.log:
            until = banned_until.get(entry.seller_id)
            if until is not None and entry.at < until - timedelta(seconds=tolerance_s):
                violations.append(entry)
            if entry.outcome == "throttled" and entry.retry_after:
                banned_until[entry.seller_id] = entry.at + timedelta(seconds=entry.retry_after)
        return violations

    # -- review queue and buyers ------------------------------------------------------------

    def start_review(self, listing: SandboxListing) -> None:
        """Put a listing under review; it resolves after `qc_delay_s` simulated seconds."""
        listing.qc_status = "pending"
        listing.qc_ready_at = self.clock.now() + timedelta(seconds=self.options.qc_delay_s)
        self._under_review[(listing.seller_id, listing.seller_sku)] = listing

    def tick_reviews(self) -> None:
        """Resolve every review whose delay has passed: approve, or reject with a reason.

        Only listings put under review are visited (every request ticks, so a scan of the
        whole store here made each request cost O(listings)).
        """
        now = self.clock.now()
        for key, listing in list(self._under_review.items()):
            if listing.qc_status != "pending":
                del self._under_review[key]
                continue
            if listing.qc_ready_at and listing.qc_ready_at > now:
                continue
            del self._under_review[key]
            if listing.seller_sku in self.options.qc_reject_skus or self.rng.random() < self.options.qc_reject_rate:
                listing.qc_status, listing.status = "rejected", "inactive"
                listing.qc_reason = "Hình ảnh sản phẩm không đạt yêu cầu (image below 500x500 px)"
                listing.qc_field = "images"
            else:
                listing.qc_status, listing.qc_reason, listing.qc_field = "approved", "", ""
            listing.updated_at = now

    def simulate_buyers(self, seller_id: str, count: int = 1) -> list[str]:
        """Place `count` random single-unit orders on a seller's active, stocked listings."""
        placed: list[str] = []
        for _ in range(count):
            candidates = [x for x in self.store.shop(seller_id).values() if x.status == "active" and x.stock > 0]
            if not candidates:
                break
            listing = self.rng.choice(sorted(candidates, key=lambda x: x.seller_sku))
            order = self.store.place_order(seller_id, listing.seller_sku, 1, self.clock.now())
            self.on_order_change(seller_id, [order])
            placed.append(order.order_id)
        return placed

    partial_cancels: bool = False
    """Whether buyers can cancel some units of a line (Lazada: each unit is its own order item)."""

    def change_order(
        self, seller_id: str, order_id: str, change: str, *, quantity: int | None = None
    ) -> list[SandboxOrder]:
        """A buyer cancels (`cancel`, `quantity` units of each line when given) or returns (`return`) an order now.

        Raises KeyError when the order or change is unknown, ValueError for a bad quantity or
        a partial cancel on a marketplace that has none.
        """
        if quantity is not None and not self.partial_cancels:
            raise ValueError(f"{self.marketplace} sandbox: no partial cancels")
        lines = self.store.change_order(seller_id, order_id, change, self.clock.now(), quantity=quantity)
        self.on_order_change(seller_id, lines)
        return lines

    def on_order_change(self, seller_id: str, lines: list[SandboxOrder]) -> None:
        """Hook for sandboxes that announce new or changed orders (pushes, event queues); nothing by default."""

    def run_buyers(self, seller_id: str) -> list[str]:
        """Place the buyer orders due for a seller since the last call, at `buyers_per_minute`."""
        rate, now = self.options.buyers_per_minute, self.clock.now()
        last = self.buyers_at.setdefault(seller_id, now)
        due = int((now - last).total_seconds() / 60 * rate) if rate > 0 else 0
        if due <= 0:
            return []
        self.buyers_at[seller_id] = last + timedelta(minutes=due / rate)
        return self.simulate_buyers(seller_id, min(due, 1000))

    # -- control API --------------------------------------------------------------------------

    def control_routes(self) -> list[BaseRoute]:
        """The `/_sandbox/...` routes tests, benchmarks and the demo use to steer the simulator."""

        async def faults(request: Request) -> JSONResponse:
            if request.method == "PUT":
                body = await request.json()
                spec = FaultSpec.parse(body) if isinstance(body, str) else FaultSpec.model_validate(body)
                self.faults.set_spec(spec)
            return JSONResponse(self.faults.spec.model_dump())

        async def creates(request: Request) -> JSONResponse:
            items = sorted(self.store.creates.items())
            rows = [{"seller_id": s, "seller_sku": k, "count": n} for (s, k), n in items]
            return JSONResponse({"creates": rows, "duplicates": sum(1 for _, n in items if n > 1)})

        async def listings(request: Request) -> JSONResponse:
            seller = request.query_params.get("seller_id", "")
            self.tick_reviews()
            rows = [_listing_json(x) for x in sorted(self.store.shop(seller).values(), key=lambda x: x.seller_sku)]
            return JSONResponse({"listings": rows})

        async def requests_log(request: Request) -> JSONResponse:
            rows = [
                {**e.__dict__, "at": e.at.isoformat()}
                for e in self.log[-int(request.query_params.get("limit", 1000)) :]
            ]
            return JSONResponse({"requests": rows, "throttle_violations": len(self.throttle_violations())})

        async def orders(request: Request) -> JSONResponse:
            body = await request.json()
            try:
                order = self.store.place_order(
                    body["seller_id"], body["seller_sku"], int(body.get("quantity", 1)), self.clock.now()
                )
            except KeyError as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            self.on_order_change(body["seller_id"], [order])
            return JSONResponse({"order_id": order.order_id, "line_id": order.line_id, "quantity": order.quantity})

        async def order_change(request: Request) -> JSONResponse:
            body = await request.json()
            order_id, change = request.path_params["order_id"], request.path_params["change"]
            quantity = body.get("quantity")
            try:
                lines = self.change_order(
                    body["seller_id"], order_id, change, quantity=None if quantity is None else int(quantity)
                )
            except KeyError as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"order_id": order_id, "change": change, "lines": [x.line_id for x in lines]})

        async def edit(request: Request) -> JSONResponse:
            body: dict[str, Any] = await request.json()
            listing = self.store.find(body.pop("seller_id"), body.pop("seller_sku"))
            if listing is None:
                return JSONResponse({"error": "no such listing"}, status_code=404)
            for key, value in body.items():
                if not hasattr(listing, key):
                    return JSONResponse({"error": f"unknown field {key}"}, status_code=400)
                setattr(listing, key, value)
            listing.updated_at = self.clock.now()
            return JSONResponse(_listing_json(listing))

        async def advance(request: Request) -> JSONResponse:
            body = await request.json()
            self.clock.advance(float(body.get("seconds", 0)))
            self.tick_reviews()
            return JSONResponse({"now": self.clock.now().isoformat()})

        return [
            Route("/_sandbox/faults", faults, methods=["GET", "PUT"]),
            Route("/_sandbox/creates", creates),
            Route("/_sandbox/listings", listings),
            Route("/_sandbox/requests", requests_log),
            Route("/_sandbox/orders", orders, methods=["POST"]),
            Route("/_sandbox/orders/{order_id}/{change}", order_change, methods=["POST"]),
            Route("/_sandbox/edit", edit, methods=["POST"]),
            Route("/_sandbox/clock/advance", advance, methods=["POST"]),
        ]


def _listing_json(listing: SandboxListing) -> dict[str, Any]:
    data = dict(listing.__dict__)
    for key in ("created_at", "updated_at", "qc_ready_at"):
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return data
