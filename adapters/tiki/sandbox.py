"""The Tiki simulator: OAuth2 client credentials, Open API v2/v2.1 routes, review requests.

Reproduces what `marketplace-apis.md` §2 and the §6 checklist say about Tiki: real HTTP
statuses with `{"errors": [...]}` bodies, Bearer tokens that expire on the sandbox clock,
the `paging` block, `include=inventory` (available = sellable + reserved), product
requests that walk queuing → processing → drafted → bot_awaiting_approve → awaiting_approve
→ approved|rejected (approved products start inactive), `updateSku`/`updateSkus` applied at
once, and `updateProductInfo` as a review request. Products live in the shared
`SandboxStore`: `item_id` is Tiki's `product_id`, `sku_id` its `sku`, `seller_sku` the
`original_sku`. Request states the sandbox reports are driven by `tick_reviews()`.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.sandbox import Fault, Sandbox, SandboxClock, SandboxListing, SandboxOptions, SandboxOrder
from adapters.tiki.mapping import (
    ATTR_BARCODE,
    ATTR_BRAND,
    ATTR_UNIT,
    ATTR_WEIGHT,
    RESERVED_ATTRS,
    UPDATE_APPROVED_STATE,
    UPDATE_PENDING_STATE,
    UPDATE_REJECTED_STATE,
    category_id,
    category_key,
    format_time,
    parse_time,
)
from adapters.tiki.sandbox_categories import detail_body as category_detail_body
from adapters.tiki.sandbox_categories import list_body as categories_list
from adapters.tiki.sandbox_categories import required_attributes
from adapters.tiki.sandbox_oauth import GrantError, TikiGrants
from adapters.tiki.sandbox_queue import TikiQueues

CREATE_FLOW = ("queuing", "processing", "drafted", "bot_awaiting_approve", "awaiting_approve")
UPDATE_FLOW = ("queuing", UPDATE_PENDING_STATE)
FINAL_STATES = ("approved", "rejected", "deleted", UPDATE_APPROVED_STATE, UPDATE_REJECTED_STATE)
TRACK_TTL = timedelta(days=30)
RATE_LIMIT_MESSAGE = "Current rate limit is 200 request / per second / per seller"
REJECT_REASON = {
    "field": "images",
    "message": "Hình ảnh sản phẩm không đạt yêu cầu / product images do not meet the requirements (min 500x500 px)",
}


@dataclass
class TikiRequest:
    """A product request (create or content update) and where it is in Tiki's review flow."""

    request_id: str
    track_id: str
    seller_id: str
    original_sku: str
    kind: str  # create_product | update_product
    state: str
    created_at: datetime
    updated_at: datetime
    ready_at: datetime
    info: dict[str, Any] = field(default_factory=dict)
    reasons: list[dict[str, str]] | None = None
    product_id: int | None = None
    approved_at: datetime | None = None


class TikiError(Exception):
    """A Tiki error answer raised inside a handler: HTTP status plus the `errors` list."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__(messages[0] if messages else str(status))
        self.status = status
        self.messages = list(messages)


@dataclass(frozen=True)
class Caller:
    """An authenticated request that passed the gate."""

    seller_id: str
    malformed: bool


class TikiSandbox(Sandbox):
    """An in-memory Tiki Open API for any number of sellers."""

    marketplace = "tiki"
    published_rate_limit_per_s = 200

    def __init__(
        self,
        options: SandboxOptions | None = None,
        clock: SandboxClock | None = None,
        *,
        max_page_size: int = 100,
        deep_paging_cap: int = 10_000,
        update_skus_limit: int = 50,
    ) -> None:
        self.max_page_size = max_page_size
        self.deep_paging_cap = deep_paging_cap
        self.update_skus_limit = update_skus_limit
        self.requests: dict[str, TikiRequest] = {}
        self.tokens: dict[str, tuple[str, datetime]] = {}
        self.inactive_sellers: set[str] = set()
        self.grants = TikiGrants()
        self.market_prices: dict[tuple[str, str], int] = {}
        self.queues = TikiQueues(clock=lambda: self.clock.now(), rng=random.Random(0))
        super().__init__(options, clock)
        self.queues.rng = random.Random(self.options.seed + 104729)
        self.queues.duplicate_rate = self.options.push_duplicate_rate
        self.queues.reorder = self.options.push_reorder
        self._ids_rng = random.Random(self.options.seed + 7919)
        self._numbers = itertools.count(1)

    # -- helpers --------------------------------------------------------------------------------

    def _request_id(self) -> str:
        return f"sbx-tiki-{next(self._numbers):08d}"

    def _reply(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
        merged = {"X-Request-Id": self._request_id(), "Date": format_datetime(self.clock.now(), usegmt=True)}
        return JSONResponse(body, status_code=status, headers=merged | (headers or {}))

    def _errors(self, status: int, *messages: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return self._reply({"errors": list(messages)}, status, headers)

    def _seller_for(self, client_id: str, client_secret: str) -> str | None:
        for seller in self.sellers.values():
            creds = seller.credentials
            if creds.get("client_id") == client_id and creds.get("client_secret") == client_secret:
                return seller.seller_id
        prefix = "sbx-tiki-"
        if client_id.startswith(prefix) and not client_id.startswith(prefix + "secret-"):
            seller_id = client_id[len(prefix) :]
            if seller_id not in self.sellers and client_secret == f"sbx-tiki-secret-{seller_id}":
                return seller_id
        return None

    def issue_token(self, seller_id: str) -> str:
        """Mint an access token for a seller (tests use it to skip the token endpoint)."""
        token = f"sbx-at-{self._ids_rng.getrandbits(128):032x}"
        self.tokens[token] = (seller_id, self.clock.now() + timedelta(seconds=self.options.token_ttl_s))
        return token

    def _fault_reply(self, fault: Fault, retry_after: float | None) -> Response | None:
        spec = self.faults.spec
        if fault is Fault.THROTTLE:
            # Tiki sends no Retry-After on 429; we add one only when the fault spec asks for a
            # back-off other than the 1 s a client assumes by default.
            headers = None
            if spec.retry_after_http_date or spec.retry_after_s != 1.0:
                headers = {"Retry-After": self.retry_after_header(retry_after or spec.retry_after_s)}
            return self._errors(429, RATE_LIMIT_MESSAGE, headers=headers)
        if fault in (Fault.ERROR, Fault.OUTAGE):
            status = 503 if fault is Fault.OUTAGE or self._ids_rng.random() < 0.5 else 500
            message = "Service is under maintenance" if status == 503 else "Internal server error"
            return self._errors(status, message, headers={"Retry-After": self.retry_after_header(spec.retry_after_s)})
        return None

    async def _enter(self, request: Request, operation: str, *, is_write: bool) -> Caller | Response:
        """Authenticate the Bearer token, then pass the gate; a Response means stop here."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        grant = self.tokens.get(token)
        if grant is None or grant[1] <= self.clock.now():
            return self._errors(401, "Unauthorized: the access token is missing, invalid or expired")
        seller_id = grant[0]
        if seller_id in self.inactive_sellers:
            return self._errors(403, "Forbidden: the seller is not active")
        self.tick_reviews()  # reviews progress with the sandbox clock, as on the real marketplace
        decision = await self.gate(seller_id, operation, is_write=is_write)
        reply = self._fault_reply(decision.fault, decision.retry_after)
        if reply is not None:
            return reply
        return Caller(seller_id, malformed=decision.fault is Fault.MALFORMED)

    def _ok(self, caller: Caller, body: dict[str, Any], required: str) -> JSONResponse:
        if caller.malformed:
            body = {k: v for k, v in body.items() if k != required}
        return self._reply(body)

    @staticmethod
    def _time_param(request: Request, name: str) -> datetime | None:
        raw = request.query_params.get(name)
        if not raw:
            return None
        try:
            return parse_time(raw)
        except ValueError:
            raise TikiError(400, f"{name}: invalid format, expected yyyy-MM-dd HH:mm:ss") from None

    def _paging(self, request: Request, rows: Sequence[Any]) -> tuple[list[Any], dict[str, int]]:
        try:
            page = int(request.query_params.get("page", "1"))
            limit = int(request.query_params.get("limit", "20"))
        except ValueError:
            raise TikiError(400, "page and limit must be integers") from None
        if page < 1 or limit < 1:
            raise TikiError(400, "page and limit must be positive")
        if limit > self.max_page_size:
            raise TikiError(400, f"limit: must be less than or equal to {self.max_page_size}")
        if page * limit > self.deep_paging_cap:
            raise TikiError(400, f"Result window is too large, page * limit must be <= {self.deep_paging_cap}")
        start = (page - 1) * limit
        chunk = list(rows[start : start + limit])
        total = len(rows)
        paging = {
            "total": total,
            "current_page": page,
            "from": start + 1 if chunk else 0,
            "to": start + len(chunk),
            "per_page": limit,
            "last_page": max(1, math.ceil(total / limit)),
        }
        return chunk, paging

    @staticmethod
    def _product_id(listing: SandboxListing) -> int:
        return int(listing.item_id) if listing.item_id.isdigit() else zlib.crc32(listing.item_id.encode())

    def render_product(self, listing: SandboxListing, inventory: bool) -> dict[str, Any]:
        """One stored listing as Tiki's product JSON."""
        attrs: dict[str, Any] = {**listing.attributes, ATTR_BRAND: listing.brand}
        if listing.unit:
            attrs[ATTR_UNIT] = listing.unit
        if listing.weight_g:
            attrs[ATTR_WEIGHT] = str(listing.weight_g)
        if listing.barcode:
            attrs[ATTR_BARCODE] = listing.barcode
        cat = category_id(listing.category) if 1 <= listing.category <= 26 else listing.category
        attrs["description"] = listing.description  # v1 detail sample: the description is an attribute
        row: dict[str, Any] = {
            "id": self._product_id(listing),
            "sku": listing.sku_id,
            "original_sku": listing.seller_sku,  # [I] in v1 rows and the detail; the v2 list sample lacks it
            "name": listing.title,
            "master_id": self._product_id(listing),
            "master_sku": listing.sku_id,
            "super_id": 0,
            "super_sku": "",
            "entity_type": "seller_simple",
            "type": "simple",
            "price": listing.price,
            "market_price": self.market_prices.get((listing.seller_id, listing.seller_sku), listing.price),
            "active": "1" if listing.status == "active" else "0",
            "created_at": format_time(listing.created_at),
            "updated_at": format_time(listing.updated_at),
            "thumbnail": listing.images[0] if listing.images else "",
            "images": [{"url": url, "position": i} for i, url in enumerate(listing.images)],
            "categories": [{"id": cat, "is_primary": True}],
            "attributes": attrs,
        }
        if inventory:
            available = listing.stock + listing.reserved
            row["inventory"] = {
                "inventory_type": "dropship",
                "quantity": available,
                "quantity_available": available,
                "quantity_saleable": listing.stock,
                "quantity_reserved": listing.reserved,
            }
        return row

    def render_request(self, req: TikiRequest, include_info: bool) -> dict[str, Any]:
        """One product request as Tiki's request JSON."""
        listing = self.store.find(req.seller_id, req.original_sku) if req.product_id is not None else None
        return {
            "request_id": req.request_id,
            "track_id": req.track_id,
            "state": req.state,
            "kind": req.kind,
            "original_sku": req.original_sku,
            "product_id": req.product_id,
            "sku": listing.sku_id if listing is not None else None,
            "name": req.info.get("name", ""),
            "price": req.info.get("price"),
            "created_at": format_time(req.created_at),
            "updated_at": format_time(req.updated_at),
            "approved_at": format_time(req.approved_at) if req.approved_at else None,
            "reasons": req.reasons,
            "product_info": dict(req.info) if include_info else None,
        }

    # -- review flow ----------------------------------------------------------------------------

    def _new_request(self, seller_id: str, sku: str, kind: str, info: dict[str, Any]) -> TikiRequest:
        now = self.clock.now()
        req = TikiRequest(
            request_id=str(1_115_320_939_429_000_000 + next(self._numbers)),
            track_id=f"{self._ids_rng.getrandbits(128):032x}",
            seller_id=seller_id,
            original_sku=sku,
            kind=kind,
            state="queuing",
            created_at=now,
            updated_at=now,
            ready_at=now + timedelta(seconds=self.options.qc_delay_s),
            info=info,
        )
        self.requests[req.track_id] = req
        return req

    def tick_reviews(self) -> None:
        """Move every open request along its flow by the sandbox clock; resolve those that are due."""
        now = self.clock.now()
        for req in self.requests.values():
            if req.state in FINAL_STATES:
                continue
            if now >= req.ready_at:
                self._resolve(req, now)
                continue
            flow = CREATE_FLOW if req.kind == "create_product" else UPDATE_FLOW
            total = max((req.ready_at - req.created_at).total_seconds(), 1e-9)
            step = min(len(flow) - 1, int(len(flow) * (now - req.created_at).total_seconds() / total))
            if flow[step] != req.state:
                req.state, req.updated_at = flow[step], now
        super().tick_reviews()

    @staticmethod
    def _missing_attributes(req: TikiRequest) -> list[dict[str, str]]:
        """Review reasons for a create whose tree category requires an attribute the request left empty [I]."""
        if req.kind != "create_product":
            return []
        attributes = req.info.get("attributes") or {}
        category = str(req.info.get("category_id") or "")
        required = required_attributes(int(category)) if category.isdigit() else ()
        return [
            {"field": name, "message": f"{name}: attribute not found / thiếu thuộc tính bắt buộc"}
            for name in required
            if not str(attributes.get(name, "") if isinstance(attributes, dict) else "").strip()
        ]

    def _resolve(self, req: TikiRequest, now: datetime) -> None:
        reject = req.original_sku in self.options.qc_reject_skus or self.rng.random() < self.options.qc_reject_rate
        req.updated_at = now
        listing = self.store.find(req.seller_id, req.original_sku)
        if missing := self._missing_attributes(req):
            req.state, req.reasons = "rejected", missing
            return
        if reject:
            req.state = "rejected" if req.kind == "create_product" else UPDATE_REJECTED_STATE
            req.reasons = [dict(REJECT_REASON)]
            if listing is not None and req.kind != "create_product":
                listing.qc_status, listing.qc_reason, listing.qc_field = "rejected", REJECT_REASON["message"], "images"
            return
        req.approved_at = now
        if req.kind == "create_product":
            req.state = "approved"
            if listing is None:
                listing = self._product_from(req, now)
                self.store.shop(req.seller_id)[req.original_sku] = listing
            req.product_id = self._product_id(listing)
            return
        req.state = UPDATE_APPROVED_STATE
        if listing is not None:
            self._apply_content(listing, req.info)
            listing.qc_status, listing.qc_reason, listing.qc_field = "approved", "", ""
            listing.updated_at = now

    def _product_from(self, req: TikiRequest, now: datetime) -> SandboxListing:
        info = req.info
        item_id = self.store.next_id()
        listing = SandboxListing(
            seller_id=req.seller_id,
            seller_sku=req.original_sku,
            item_id=item_id,
            sku_id=f"{zlib.crc32(item_id.encode()) % 10**13:013d}",
            title=str(info.get("name", "")),
            price=int(info.get("price", 0)),
            stock=int(info.get("quantity", 0)),
            created_at=now,
            updated_at=now,
            status="inactive",  # approved products wait for the seller to activate them
        )
        self._apply_content(listing, info)
        self.market_prices[(req.seller_id, req.original_sku)] = int(info.get("market_price", listing.price) or 0)
        return listing

    @staticmethod
    def _apply_content(listing: SandboxListing, info: dict[str, Any]) -> None:
        attrs = {str(k): str(v) for k, v in dict(info.get("attributes") or {}).items()}
        listing.title = str(info.get("name", listing.title))
        listing.description = str(info.get("description", ""))
        image = info.get("image")
        listing.images = [str(u) for u in ([image] if image else []) + list(info.get("images") or [])]
        listing.brand = attrs.get(ATTR_BRAND, "")
        listing.unit = attrs.get(ATTR_UNIT, "")
        weight = attrs.get(ATTR_WEIGHT, "0")
        listing.weight_g = int(weight) if weight.isdigit() else 0
        listing.barcode = attrs.get(ATTR_BARCODE) or None
        listing.attributes = {k: v for k, v in attrs.items() if k not in RESERVED_ATTRS}
        cat = int(info.get("category_id", 0) or 0)
        listing.category = category_key(cat) if cat else listing.category

    # -- routes ---------------------------------------------------------------------------------

    def marketplace_routes(self) -> list[BaseRoute]:
        """Tiki's token endpoint and the Open API v2/v2.1 routes we simulate."""

        def wrap(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
            async def endpoint(request: Request) -> Response:
                try:
                    response: Response = await handler(request)
                except TikiError as exc:
                    return self._errors(exc.status, *exc.messages)
                return response

            return endpoint

        v2, v21 = "/integration/v2", "/integration/v2.1"
        routes = [
            ("/sc/oauth2/token", self.token, ["POST"]),
            ("/sc/oauth2/auth", self.authorize, ["GET"]),
            (f"{v2}/sellers/me", self.seller_me, ["GET"]),
            (f"{v2}/products", self.list_products, ["GET"]),
            (f"{v2}/products/findBy", self.find_product, ["GET"]),
            (f"{v2}/products/updateSku", self.update_sku, ["PUT", "POST"]),
            (f"{v21}/products/updateSkus", self.update_skus, ["PUT"]),
            (f"{v2}/products/{{product_id:int}}", self.get_product, ["GET"]),
            (f"{v2}/requests/findBy", self.find_requests, ["GET"]),
            (f"{v2}/requests/updateProductInfo", self.update_product_info, ["POST"]),
            (f"{v21}/requests/updateProductInfo", self.update_product_info, ["POST"]),
            (f"{v2}/requests", self.list_requests, ["GET"]),
            (f"{v2}/requests", self.create_request, ["POST"]),
            (f"{v21}/requests", self.create_request, ["POST"]),
            (f"{v2}/requests/{{request_id}}", self.get_request, ["GET"]),
            (f"{v2}/requests/{{request_id}}", self.delete_request, ["DELETE"]),
            (f"{v2}/tracking/{{track_id}}", self.tracking, ["GET"]),
            (f"{v2}/orders", self.list_orders, ["GET"]),
            (f"{v2}/categories", self.list_categories, ["GET"]),
            (f"{v2}/categories/{{category_id:int}}", self.category_detail, ["GET"]),
        ]
        queue_routes: list[BaseRoute] = [Route(p, h, methods=m) for p, h, m in self.queues.routes(self._enter_queue)]
        return [Route(path, wrap(handler), methods=methods) for path, handler, methods in routes] + queue_routes

    async def _enter_queue(self, request: Request, operation: str) -> str | Response:
        caller = await self._enter(request, operation, is_write=operation in ("create_queue", "subscribe"))
        return caller if isinstance(caller, Response) else caller.seller_id

    def on_order_change(self, seller_id: str, lines: list[SandboxOrder]) -> None:
        """Route an order event to the seller's subscribed queues: created, or its status updated."""
        if not lines:
            return
        first = lines[0]
        new = all(x.updated_at is None for x in lines)
        status = "canceled" if first.cancelled else "returned" if first.returned else "queueing"
        event_type = "ORDER_CREATED_SUCCESSFULLY" if new else "ORDER_STATUS_UPDATED"
        self.queues.publish(seller_id, event_type, {"order_code": first.order_id, "status": status})

    async def list_categories(self, request: Request) -> Response:
        """`GET /integration/v2/categories`: the category list (filters `name`, `parent`, `primary`)."""
        caller = await self._enter(request, "categories", is_write=False)
        if isinstance(caller, Response):
            return caller
        query = request.query_params
        parent, primary = query.get("parent"), query.get("primary")
        rows = categories_list(
            name=query.get("name", ""),
            parent=int(parent) if parent and parent.isdigit() else None,
            primary=int(primary) if primary and primary.isdigit() else None,
        )
        return self._reply({"data": rows} if caller.malformed else rows)  # malformed: not the documented bare list

    async def category_detail(self, request: Request) -> Response:
        """`GET /integration/v2/categories/{id}`: one category with its attributes; 404 for an unknown id."""
        caller = await self._enter(request, "category_attributes", is_write=False)
        if isinstance(caller, Response):
            return caller
        category_id = int(request.path_params["category_id"])
        body = category_detail_body(category_id)
        if body is None:
            return self._errors(404, f"Category not found id: {category_id}")
        return self._ok(caller, body, "attributes")

    async def token(self, request: Request) -> Response:
        """`POST /sc/oauth2/token`: client_credentials with client_secret_basic or _post."""
        form = await request.form()
        header = request.headers.get("authorization", "")
        client_id = client_secret = ""
        if header.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = ""
        elif "client_id" in form:
            client_id, client_secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        seller_id = self._seller_for(client_id, client_secret)
        if seller_id is None:
            denied = {"error": "invalid_client", "error_description": "Client authentication failed"}
            return self._reply(denied, 401, {"WWW-Authenticate": "Basic"})
        fields = {k: str(v) for k, v in form.items()}
        if fields.get("grant_type") != "client_credentials":
            try:
                self.grants.redeem(fields, seller_id, client_id, self.clock.now())
            except GrantError as exc:
                return self._reply(exc.body, 400)
        decision = await self.gate(seller_id, "token", is_write=False)
        reply = self._fault_reply(decision.fault, decision.retry_after)
        if reply is not None:
            return reply
        token = self.issue_token(seller_id)
        body: dict[str, Any] = {
            "access_token": token,
            "expires_in": self.options.token_ttl_s,
            "scope": str(form.get("scope") or "product order inventory"),
            "token_type": "bearer",
        }
        if fields.get("grant_type") != "client_credentials":
            body["refresh_token"] = self.grants.new_refresh_token(seller_id, client_id)
        return self._ok(Caller(seller_id, decision.fault is Fault.MALFORMED), body, "access_token")

    async def authorize(self, request: Request) -> Response:
        """`GET /sc/oauth2/auth`: the app's seller logs in and agrees; redirect back with code and state."""
        query = dict(request.query_params)
        client_id = query.get("client_id", "")
        seller_id = next(
            (s.seller_id for s in self.sellers.values() if s.credentials.get("client_id") == client_id), None
        )
        try:
            target = self.grants.authorize(query, seller_id, self.clock.now())
        except GrantError as exc:
            return self._reply(exc.body, 400)
        return RedirectResponse(target, status_code=302)

    async def seller_me(self, request: Request) -> Response:
        """`GET /integration/v2/sellers/me`."""
        caller = await self._enter(request, "seller_me", is_write=False)
        if isinstance(caller, Response):
            return caller
        body = {"id": caller.seller_id, "name": f"Seller {caller.seller_id}", "active": 1, "can_update_product": 1}
        return self._ok(caller, body, "id")

    def _drift(self, seller_id: str) -> None:
        """Data changing under a paging client: a buyer-like stock change on a random listing."""
        if not self.faults.chance(self.faults.spec.page_drift_rate):
            return
        shop = sorted(self.store.shop(seller_id).values(), key=lambda x: x.seller_sku)
        if shop:
            listing = self._ids_rng.choice(shop)
            listing.stock = max(0, listing.stock - 1) if listing.stock else listing.stock + 5
            listing.updated_at = self.clock.now()

    async def list_products(self, request: Request) -> Response:
        """`GET /integration/v2/products`: filters, created_at desc, page/limit, paging block."""
        caller = await self._enter(request, "list_products", is_write=False)
        if isinstance(caller, Response):
            return caller
        q = request.query_params
        bounds = {name: self._time_param(request, name) for name in _TIME_FILTERS}
        rows = self.store.view(caller.seller_id, "products", self._newest_first)
        if any(bound is not None for bound in bounds.values()):
            rows = [x for x in rows if _within(x, bounds)]
        if q.get("active") in ("0", "1"):
            rows = [x for x in rows if (x.status == "active") == (q["active"] == "1")]
        if q.get("name"):
            rows = [x for x in rows if q["name"].lower() in x.title.lower()]
        chunk, paging = self._paging(request, rows)
        inventory = "inventory" in q.get("include", "").split(",")
        body = {"data": [self.render_product(x, inventory) for x in chunk], "paging": paging}
        self._drift(caller.seller_id)
        return self._ok(caller, body, "paging")

    async def find_product(self, request: Request) -> Response:
        """`GET /integration/v2/products/findBy?original_sku=`."""
        caller = await self._enter(request, "find_product", is_write=False)
        if isinstance(caller, Response):
            return caller
        sku = request.query_params.get("original_sku", "")
        if not sku:
            raise TikiError(400, "original_sku: is required")
        listing = self.store.find(caller.seller_id, sku)
        rows = [listing] if listing is not None and listing.status != "deleted" else []
        inventory = "inventory" in request.query_params.get("include", "").split(",")
        chunk, paging = self._paging(request, rows)
        body = {"data": [self.render_product(x, inventory) for x in chunk], "paging": paging}
        return self._ok(caller, body, "paging")

    async def get_product(self, request: Request) -> Response:
        """`GET /integration/v2/products/{product_id}`."""
        caller = await self._enter(request, "get_product", is_write=False)
        if isinstance(caller, Response):
            return caller
        listing = self._by_product_id(caller.seller_id, int(request.path_params["product_id"]))
        if listing is None:
            raise TikiError(404, "Product not found")
        return self._ok(caller, self.render_product(listing, True), "id")

    def _newest_first(self, shelf: dict[str, SandboxListing]) -> list[SandboxListing]:
        """Listed products in Tiki's order (created_at desc); cached by the store until a change."""
        rows = [x for x in shelf.values() if x.status != "deleted"]
        rows.sort(key=lambda x: (x.created_at, self._product_id(x)), reverse=True)
        return rows

    def _by_product_id(self, seller_id: str, product_id: int) -> SandboxListing | None:
        return self.store.view(seller_id, "by_product_id", self._product_index, ids=True).get(product_id)

    def _product_index(self, shelf: dict[str, SandboxListing]) -> dict[int, SandboxListing]:
        index: dict[int, SandboxListing] = {}
        for listing in shelf.values():
            index.setdefault(self._product_id(listing), listing)
        return index

    def _target(self, seller_id: str, item: dict[str, Any]) -> SandboxListing:
        listing = None
        if item.get("product_id") is not None:
            listing = self._by_product_id(seller_id, int(item["product_id"]))
        elif item.get("original_sku"):
            listing = self.store.find(seller_id, str(item["original_sku"]))
        else:
            raise TikiError(400, "original_sku or product_id is required")
        if listing is None or listing.status == "deleted":
            raise TikiError(404, "Product not found")
        return listing

    def _validate_sku_update(self, listing: SandboxListing, item: dict[str, Any]) -> dict[str, Any]:
        """The changes one updateSku item asks for, or a TikiError (422) when a value is invalid."""
        changes: dict[str, Any] = {}
        if "price" in item:
            price = item["price"]
            if not isinstance(price, int) or price <= 0:
                raise TikiError(422, "price: must be a positive integer")
            if price * 10 < listing.price:
                raise TikiError(422, "Price is not valid because less than ten percent listing price")
            changes["price"] = price
        if "active" in item:
            if item["active"] not in (0, 1, "0", "1"):
                raise TikiError(422, "active: must be 0 or 1")
            changes["status"] = "active" if str(item["active"]) == "1" else "inactive"
        quantities = item.get("warehouse_quantities")
        if quantities is not None:
            try:
                total = sum(int(w["qty_available"]) for w in quantities)
            except (KeyError, TypeError, ValueError):
                raise TikiError(422, "warehouse_quantities: qty_available is required") from None
            if total < 0:
                raise TikiError(422, "qty_available: must not be negative")
            changes["stock"] = max(0, total - listing.reserved)
        elif "quantity" in item:
            changes["stock"] = max(0, int(item["quantity"]) - listing.reserved)
        return changes

    def _apply(self, listing: SandboxListing, changes: dict[str, Any], operation: str) -> bool:
        """Apply validated changes unless the fault spec says to drop them silently."""
        if self.skip_apply():
            self.record(listing.seller_id, operation, True, "not_applied")
            return False
        for key, value in changes.items():
            setattr(listing, key, value)
        listing.updated_at = self.clock.now()
        self.store.writes_applied[operation] += 1
        return True

    async def update_sku(self, request: Request) -> Response:
        """`PUT /integration/v2/products/updateSku`: price, stock, active; applied at once."""
        caller = await self._enter(request, "update_sku", is_write=True)
        if isinstance(caller, Response):
            return caller
        item = await _json_object(request)
        listing = self._target(caller.seller_id, item)
        self._apply(listing, self._validate_sku_update(listing, item), "update_sku")
        self.lose_response(caller.seller_id, "update_sku")
        return self._ok(caller, {"state": "approved"}, "state")

    async def update_skus(self, request: Request) -> Response:
        """`PUT /integration/v2.1/products/updateSkus`: a batch with one result per item [I]."""
        caller = await self._enter(request, "update_skus", is_write=True)
        if isinstance(caller, Response):
            return caller
        body = await _json_object(request)
        items = body.get("data")
        if not isinstance(items, list) or not items:
            raise TikiError(400, "data: must be a non-empty list")
        if len(items) > self.update_skus_limit:
            raise TikiError(400, f"data: at most {self.update_skus_limit} items per request")
        results = [self._update_one(caller.seller_id, item) for item in items]
        self.lose_response(caller.seller_id, "update_skus")
        return self._ok(caller, {"data": results}, "data")

    def _update_one(self, seller_id: str, item: Any) -> dict[str, Any]:
        key = {k: item.get(k) for k in ("original_sku", "product_id")} if isinstance(item, dict) else {}
        if self.fail_item():
            return {**key, "state": "failed", "errors": ["Hệ thống bận, thử lại sau / temporary failure, retry"]}
        try:
            if not isinstance(item, dict):
                raise TikiError(400, "data: items must be objects")
            listing = self._target(seller_id, item)
            self._apply(listing, self._validate_sku_update(listing, item), "update_skus")
        except TikiError as exc:
            return {**key, "state": "rejected", "errors": exc.messages}
        return {**key, "original_sku": listing.seller_sku, "product_id": self._product_id(listing), "state": "approved"}

    async def create_request(self, request: Request) -> Response:
        """`POST /integration/v2.1/requests`: a create-product request, `{track_id, state}`."""
        caller = await self._enter(request, "create", is_write=True)
        if isinstance(caller, Response):
            return caller
        body = await _json_object(request)
        variants = body.get("variants")
        if not isinstance(variants, list) or not variants or not isinstance(variants[0], dict):
            raise TikiError(400, "variants: at least one variant is required")
        variant = variants[0]
        missing = [k for k in ("category_id", "name") if not body.get(k)] + [
            f"variants[0].{k}" for k in ("sku", "price") if not variant.get(k)
        ]
        if missing:
            raise TikiError(400, *(f"{k}: is required" for k in missing))
        info = {k: body.get(k) for k in ("name", "description", "category_id", "attributes", "image", "images")}
        info |= {
            "price": int(variant["price"]),
            "market_price": int(variant.get("market_price") or body.get("market_price") or variant["price"]),
            "quantity": int(variant.get("quantity") or 0),
        }
        req = self._new_request(caller.seller_id, str(variant["sku"]), "create_product", info)
        self.store.creates[(caller.seller_id, req.original_sku)] += 1
        self.lose_response(caller.seller_id, "create")
        return self._ok(caller, {"track_id": req.track_id, "state": req.state}, "track_id")

    async def update_product_info(self, request: Request) -> Response:
        """`POST /integration/v2.1/requests/updateProductInfo`: content goes to review, not live."""
        caller = await self._enter(request, "update_content", is_write=True)
        if isinstance(caller, Response):
            return caller
        body = await _json_object(request)
        listing = self._target(caller.seller_id, body)
        if "name" in body and not body["name"]:
            raise TikiError(422, "name: must not be empty")
        info = {"name": listing.title, **{k: v for k, v in body.items() if k not in ("product_id", "original_sku")}}
        req = self._new_request(caller.seller_id, listing.seller_sku, "update_product", info)
        req.product_id = self._product_id(listing)
        self.start_review(listing)
        listing.qc_ready_at = req.ready_at
        self.lose_response(caller.seller_id, "update_content")
        return self._ok(caller, {"track_id": req.track_id, "state": req.state}, "track_id")

    def _requests_of(self, seller_id: str) -> list[TikiRequest]:
        rows = [r for r in self.requests.values() if r.seller_id == seller_id]
        return sorted(rows, key=lambda r: (r.created_at, r.request_id), reverse=True)

    async def list_requests(self, request: Request) -> Response:
        """`GET /integration/v2/requests`: page, limit, `state` (one value), `updated_from_date` [I]."""
        caller = await self._enter(request, "list_requests", is_write=False)
        if isinstance(caller, Response):
            return caller
        rows = self._requests_of(caller.seller_id)
        state = request.query_params.get("state")
        if state:
            rows = [r for r in rows if r.state == state]
        since = self._time_param(request, "updated_from_date")
        if since is not None:
            rows = [r for r in rows if r.updated_at >= since]
        chunk, paging = self._paging(request, rows)
        info = "product_info" in request.query_params.get("include", "").split(",")
        return self._ok(caller, {"data": [self.render_request(r, info) for r in chunk], "paging": paging}, "paging")

    async def find_requests(self, request: Request) -> Response:
        """`GET /integration/v2/requests/findBy?original_sku=` (documented for v1; assumed in v2)."""
        caller = await self._enter(request, "find_requests", is_write=False)
        if isinstance(caller, Response):
            return caller
        sku = request.query_params.get("original_sku", "")
        if not sku:
            raise TikiError(400, "original_sku: is required")
        rows = [r for r in self._requests_of(caller.seller_id) if r.original_sku == sku]
        chunk, paging = self._paging(request, rows)
        info = "product_info" in request.query_params.get("include", "").split(",")
        return self._ok(caller, {"data": [self.render_request(r, info) for r in chunk], "paging": paging}, "paging")

    def _owned_request(self, seller_id: str, key: str) -> TikiRequest:
        req = self.requests.get(key) or next((r for r in self.requests.values() if r.request_id == key), None)
        if req is None or req.seller_id != seller_id:
            raise TikiError(404, "Request not found")
        return req

    async def get_request(self, request: Request) -> Response:
        """`GET /integration/v2/requests/{request_id}`."""
        caller = await self._enter(request, "get_request", is_write=False)
        if isinstance(caller, Response):
            return caller
        req = self._owned_request(caller.seller_id, request.path_params["request_id"])
        return self._ok(caller, self.render_request(req, True), "state")

    async def delete_request(self, request: Request) -> Response:
        """`DELETE /integration/v2/requests/{request_id}`: state becomes `deleted` (not once final)."""
        caller = await self._enter(request, "delete_request", is_write=True)
        if isinstance(caller, Response):
            return caller
        req = self._owned_request(caller.seller_id, request.path_params["request_id"])
        if req.state in FINAL_STATES:
            raise TikiError(400, f"Request in state {req.state} cannot be deleted")
        req.state, req.updated_at = "deleted", self.clock.now()
        return self._ok(caller, {"request_id": req.request_id, "state": req.state}, "state")

    async def tracking(self, request: Request) -> Response:
        """`GET /integration/v2/tracking/{track_id}`; a track id expires after 30 days."""
        caller = await self._enter(request, "tracking", is_write=False)
        if isinstance(caller, Response):
            return caller
        req = self.requests.get(request.path_params["track_id"])
        if req is None or req.seller_id != caller.seller_id or self.clock.now() - req.created_at > TRACK_TTL:
            raise TikiError(404, "TraceId not found")
        reason = req.reasons[0]["message"] if req.reasons else None
        body = {"track_id": req.track_id, "state": req.state, "reason": reason, "request_id": req.request_id}
        return self._ok(caller, body, "state")

    async def list_orders(self, request: Request) -> Response:
        """`GET /integration/v2/orders`: newest update first; `created_from_date`, `updated_from_date` [I]."""
        caller = await self._enter(request, "list_orders", is_write=False)
        if isinstance(caller, Response):
            return caller
        created_from = self._time_param(request, "created_from_date")
        since = self._time_param(request, "updated_from_date")
        lines = self.store.orders_of(caller.seller_id, since)
        if created_from is not None:
            lines = [o for o in lines if o.created_at >= created_from]
        orders = sorted(lines, key=lambda o: o.changed_at, reverse=True)
        chunk, paging = self._paging(request, orders)
        data = []
        for order in chunk:
            listing = self.store.find(caller.seller_id, order.seller_sku)
            price = listing.price if listing else 0
            item = {
                "id": int(order.line_id) if order.line_id.isdigit() else order.line_id,
                "product": {
                    "id": self._product_id(listing) if listing else None,
                    "sku": listing.sku_id if listing else "",
                    "name": listing.title if listing else "",
                    "seller_product_code": order.seller_sku,  # [I] not in the captured v2 docs
                },
                "invoice": {"price": price, "quantity": order.quantity, "subtotal": price * order.quantity},
            }
            data.append(
                {
                    "code": order.order_id,
                    "status": "canceled" if order.cancelled else "returned" if order.returned else "queueing",
                    "created_at": format_time(order.created_at),
                    "updated_at": format_time(order.changed_at),
                    "items": [item],
                }
            )
        return self._ok(caller, {"data": data, "paging": paging}, "paging")


_TIME_FILTERS = ("created_from_date", "created_to_date", "updated_from_date", "updated_to_date")


def _within(listing: SandboxListing, bounds: dict[str, datetime | None]) -> bool:
    """Whether a listing passes the created/updated time filters (bounds are inclusive, to the second)."""
    created = listing.created_at.replace(microsecond=0)
    updated = listing.updated_at.replace(microsecond=0)
    checks = (
        (bounds["created_from_date"], created, True),
        (bounds["created_to_date"], created, False),
        (bounds["updated_from_date"], updated, True),
        (bounds["updated_to_date"], updated, False),
    )
    return all(b is None or (value >= b if lower else value <= b) for b, value, lower in checks)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise TikiError(400, "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise TikiError(400, "Request body must be a JSON object")
    return body


__all__ = ["TikiRequest", "TikiSandbox"]
