"""The Voso simulator: the assumed Voso partner API (see README.md here) as a Starlette app.

Every authenticated call passes `Sandbox.gate` (latency, per-seller rate limit, injected
faults), and gate decisions are rendered Voso-style: a throttle is HTTP 200 with
`{error: true, code: "RATE_LIMIT"}` and a Retry-After header; an error is HTTP 500/503 with
Retry-After; an outage is 503; a malformed reply misses a required field. Replies are built
from the same wire models the adapter parses (`adapters.voso.mapping`).
"""

from __future__ import annotations

import copy
import hmac
import itertools
import math
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from json import JSONDecodeError
from typing import Any, TypeGuard

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.sandbox import Sandbox, SandboxClock, SandboxListing, SandboxOptions
from adapters.sandbox.app import GateDecision
from adapters.sandbox.faults import Fault
from adapters.voso.mapping import VosoProduct, VosoReview, from_ms, to_ms

MAX_PAGE = 100
MAX_BATCH = 100
MIN_PRICE_VND = 1_000
MAX_PRICE_VND = 1_000_000_000
MAX_QUANTITY = 999_999
MAX_IMAGES = 9
OCOP_PRODUCT_SETS = range(1, 27)
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
OK_MESSAGE = "Thành công / OK"


class VosoRefusal(Exception):
    """A handled request Voso refuses: rendered as HTTP 200 with `error: true`."""

    def __init__(self, code: str, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _invalid(field: str, reason: str, code: str = "VALIDATION_ERROR") -> VosoRefusal:
    return VosoRefusal(code, f"Dữ liệu không hợp lệ / invalid {field}: {reason}", {"field": field, "reason": reason})


Handler = Callable[[Request, str], Awaitable[dict[str, Any]]]


class VosoSandbox(Sandbox):
    """Voso's partner API, simulated (an assumed contract: Voso publishes none)."""

    marketplace = "voso"
    published_rate_limit_per_s = 20

    def __init__(self, options: SandboxOptions | None = None, clock: SandboxClock | None = None) -> None:
        self.tokens: dict[str, tuple[str, datetime]] = {}
        self.activate_on_approval: set[tuple[str, str]] = set()
        self._request_ids = itertools.count(1)
        super().__init__(options, clock)

    # -- routes -------------------------------------------------------------------------------

    def marketplace_routes(self) -> list[BaseRoute]:
        """The Voso partner API."""
        return [
            Route("/v1/partner/login", self._login, methods=["POST"]),
            Route("/v1/partner/products", self._endpoint("list_listings", False, self._list), methods=["GET"]),
            Route("/v1/partner/products/detail", self._endpoint("get_listing", False, self._detail), methods=["GET"]),
            Route("/v1/partner/products/upsert", self._endpoint("upsert", True, self._upsert), methods=["POST"]),
            Route(
                "/v1/partner/products/price-stock",
                self._endpoint("price_stock", True, self._price_stock),
                methods=["POST"],
            ),
            Route(
                "/v1/partner/products/activate",
                self._endpoint("activate", True, self._status_handler(True)),
                methods=["POST"],
            ),
            Route(
                "/v1/partner/products/deactivate",
                self._endpoint("deactivate", True, self._status_handler(False)),
                methods=["POST"],
            ),
            Route("/v1/partner/orders", self._endpoint("list_orders", False, self._orders), methods=["GET"]),
        ]

    # -- envelope and gate ------------------------------------------------------------------

    def _rid(self) -> str:
        return f"voso-{next(self._request_ids):08d}"

    def _reply(
        self,
        rid: str,
        *,
        data: Any = None,
        code: str = "OK",
        message: str = OK_MESSAGE,
        http_status: int = 200,
        body_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> JSONResponse:
        error = code != "OK"
        payload = {
            "status": body_status or http_status,
            "error": error,
            "code": code,
            "message": message,
            "data": data,
            "request_id": rid,
        }
        return JSONResponse(payload, status_code=http_status, headers={"X-Request-Id": rid, **(headers or {})})

    def _fault_reply(self, decision: GateDecision, rid: str) -> JSONResponse:
        spec = self.faults.spec
        if decision.fault is Fault.THROTTLE:
            wait = decision.retry_after or spec.retry_after_s
            return self._reply(
                rid,
                code="RATE_LIMIT",
                message="Vượt quá giới hạn gọi API / too many requests",
                data={"retry_after": wait},
                body_status=429,
                headers={"Retry-After": self.retry_after_header(wait)},
            )
        retry = {"Retry-After": self.retry_after_header(spec.retry_after_s)}
        if decision.fault is Fault.OUTAGE:
            return self._reply(
                rid,
                code="SERVICE_UNAVAILABLE",
                message="Hệ thống đang bảo trì / service unavailable",
                http_status=503,
                headers=retry,
            )
        return self._reply(
            rid,
            code="SYSTEM_ERROR",
            message="Lỗi hệ thống / internal error",
            http_status=self.rng.choice((500, 503)),
            headers=retry,
        )

    def _authenticate(self, request: Request, rid: str) -> str | JSONResponse:
        token = request.headers.get("Token", "")
        if not token:
            return self._reply(
                rid, code="TOKEN_REQUIRED", message="Thiếu Token / Token header required", body_status=401
            )
        entry = self.tokens.get(token)
        if entry is None:
            return self._reply(rid, code="TOKEN_INVALID", message="Token không hợp lệ / invalid token", body_status=401)
        seller_id, expires_at = entry
        if self.clock.now() >= expires_at:
            return self._reply(rid, code="TOKEN_EXPIRED", message="Token đã hết hạn / token expired", body_status=401)
        return seller_id

    def _endpoint(self, operation: str, is_write: bool, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            rid = self._rid()
            seller = self._authenticate(request, rid)
            if isinstance(seller, JSONResponse):
                return seller
            self.tick_reviews()
            self.run_buyers(seller)
            decision = await self.gate(seller, operation, is_write=is_write)
            if decision.fault in (Fault.THROTTLE, Fault.ERROR, Fault.OUTAGE):
                return self._fault_reply(decision, rid)
            try:
                response = self._reply(rid, data=await handler(request, seller))
            except VosoRefusal as refusal:
                response = self._reply(
                    rid, code=refusal.code, message=refusal.message, data=refusal.data, body_status=400
                )
            if decision.fault is Fault.MALFORMED:
                return JSONResponse(malform(_body(response)), headers={"X-Request-Id": rid})
            return response

        return endpoint

    # -- auth ---------------------------------------------------------------------------------

    async def _login(self, request: Request) -> Response:
        rid = self._rid()
        if self.faults.spec.outage:
            return self._fault_reply(GateDecision(Fault.OUTAGE), rid)
        try:
            body = await _json(request)
        except VosoRefusal as refusal:
            return self._reply(rid, code=refusal.code, message=refusal.message, data=refusal.data, body_status=400)
        username, password = str(body.get("username", "")), str(body.get("password", ""))
        account = next((s for s in self.sellers.values() if s.credentials.get("username") == username), None)
        expected = account.credentials.get("password", "") if account else ""
        if account is None or not password or not hmac.compare_digest(expected.encode(), password.encode()):
            return self._reply(
                rid, code="LOGIN_FAILED", message="Sai tên đăng nhập hoặc mật khẩu / wrong username or password"
            )
        token = f"vtk_{self.rng.getrandbits(128):032x}"
        ttl = self.options.token_ttl_s
        self.tokens[token] = (account.seller_id, self.clock.now() + timedelta(seconds=ttl))
        self.record(account.seller_id, "login", False, "ok")
        return self._reply(rid, data={"token": token, "expires_in": ttl})

    # -- products -----------------------------------------------------------------------------

    async def _list(self, request: Request, seller: str) -> dict[str, Any]:
        page = _int_param(request, "page", 1, 1, 1_000_000)
        limit = _int_param(request, "limit", 20, 1, MAX_PAGE)
        since_ms = _int_param(request, "updated_since", -1, 0, 10**15)
        if page > 1 and self.faults.chance(self.faults.spec.page_drift_rate):
            self._drift(seller)
        rows = self.store.view(seller, "listed", _listed_in_item_order)
        if since_ms >= 0:
            rows = [x for x in rows if to_ms(x.updated_at) >= since_ms]
        items = rows[(page - 1) * limit : page * limit]
        return {
            "items": [product_json(x) for x in items],
            "page": page,
            "limit": limit,
            "total": len(rows),
            "total_pages": math.ceil(len(rows) / limit),
        }

    async def _detail(self, request: Request, seller: str) -> dict[str, Any]:
        sku = request.query_params.get("seller_sku", "")
        if not sku:
            raise _invalid("seller_sku", "required", "INVALID_PARAM")
        return product_json(self._listing(seller, sku))

    async def _upsert(self, request: Request, seller: str) -> dict[str, Any]:
        body = await _json(request)
        product = body.get("product")
        if not isinstance(product, dict):
            raise _invalid("product", "object required", "INVALID_PARAM")
        sku = product.get("seller_sku")
        if not isinstance(sku, str) or not SKU_PATTERN.match(sku):
            raise _invalid("seller_sku", "1-50 letters, digits, '.', '_' or '-'")
        existing = self.store.find(seller, sku)
        creating = existing is None or existing.status == "deleted"
        if creating and not body.get("create_if_missing", True):
            raise VosoRefusal("PRODUCT_NOT_FOUND", f"Không tìm thấy sản phẩm / no product {sku}")
        values = validate_product(product, creating=creating)
        now = self.clock.now()
        if existing is None or creating:
            listing = SandboxListing(
                seller_id=seller,
                seller_sku=sku,
                item_id=self.store.next_id(),
                sku_id=self.store.next_id(),
                title="",
                price=0,
                stock=0,
                created_at=now,
                updated_at=now,
                status="inactive",
            )
            if not self.skip_apply():
                _apply(listing, values)
                self.store.record_create(listing)
                self.start_review(listing)
                if product.get("active", True):
                    self.activate_on_approval.add((seller, sku))
        else:
            listing = existing
            if not self.skip_apply():
                _apply(listing, values)
                listing.updated_at = now
                if listing.qc_status != "approved":
                    self.start_review(listing)  # a pending or rejected listing is resubmitted
                    if product.get("active", True):
                        self.activate_on_approval.add((seller, sku))
                self.store.writes_applied["upsert"] += 1
        self.lose_response(seller, "upsert")
        return {
            "product_id": int(listing.item_id),
            "seller_sku": sku,
            "created": creating,
            "review": review_json(listing),
        }

    async def _price_stock(self, request: Request, seller: str) -> dict[str, Any]:
        items = _batch(await _json(request), "items")
        results: list[dict[str, Any]] = []
        for item in items:
            sku = str(item.get("seller_sku", "")) if isinstance(item, dict) else ""
            listing = self.store.find(seller, sku)
            price, quantity = (item.get("price"), item.get("quantity")) if isinstance(item, dict) else (None, None)
            if listing is None or listing.status == "deleted":
                results.append(_item(sku, "PRODUCT_NOT_FOUND", "Không tìm thấy sản phẩm / no such product"))
            elif not _is_int(price) or not MIN_PRICE_VND <= price <= MAX_PRICE_VND:
                results.append(_item(sku, "INVALID_PRICE", f"Giá phải từ {MIN_PRICE_VND} đồng / price", "price"))
            elif not _is_int(quantity) or not max(0, listing.reserved) <= quantity <= MAX_QUANTITY:
                results.append(_item(sku, "INVALID_QUANTITY", "Tồn kho không hợp lệ / bad quantity", "quantity"))
            elif self.fail_item():
                results.append(_item(sku, "SYSTEM_BUSY", "Hệ thống bận, thử lại sau / busy, retry"))
            else:
                if not self.skip_apply():
                    listing.price, listing.stock = price, quantity
                    listing.updated_at = self.clock.now()
                    self.store.writes_applied["price_stock"] += 1
                results.append({"seller_sku": sku, "success": True, "code": "OK", "message": OK_MESSAGE})
        self.lose_response(seller, "price_stock")
        return {"results": results}

    def _status_handler(self, active: bool) -> Handler:
        async def handler(request: Request, seller: str) -> dict[str, Any]:
            skus = _batch(await _json(request), "seller_skus")
            results: list[dict[str, Any]] = []
            for raw in skus:
                sku = str(raw)
                listing = self.store.find(seller, sku)
                if listing is None or listing.status == "deleted":
                    results.append(_item(sku, "PRODUCT_NOT_FOUND", "Không tìm thấy sản phẩm / no such product"))
                elif active and listing.qc_status != "approved":
                    results.append(_item(sku, "NOT_APPROVED", "Sản phẩm chưa được duyệt OCOP / not approved yet"))
                elif self.fail_item():
                    results.append(_item(sku, "SYSTEM_BUSY", "Hệ thống bận, thử lại sau / busy, retry"))
                else:
                    if not self.skip_apply():
                        listing.status = "active" if active else "inactive"
                        listing.updated_at = self.clock.now()
                        self.activate_on_approval.discard((seller, sku))
                        self.store.writes_applied["activate" if active else "deactivate"] += 1
                    results.append({"seller_sku": sku, "success": True, "code": "OK", "message": OK_MESSAGE})
            self.lose_response(seller, "activate" if active else "deactivate")
            return {"results": results}

        return handler

    # -- orders -------------------------------------------------------------------------------

    async def _orders(self, request: Request, seller: str) -> dict[str, Any]:
        page = _int_param(request, "page", 1, 1, 1_000_000)
        limit = _int_param(request, "limit", 20, 1, MAX_PAGE)
        created_ms = _int_param(request, "created_since", -1, 0, 10**15)
        since_ms = _int_param(request, "updated_since", -1, 0, 10**15)
        lines = self.store.orders_of(seller, from_ms(since_ms) if since_ms >= 0 else None)
        if created_ms >= 0:
            lines = [x for x in lines if x.created_at >= from_ms(created_ms)]
        orders: dict[str, dict[str, Any]] = {}
        for line in lines:
            listing = self.store.find(seller, line.seller_sku)
            order = orders.setdefault(
                line.order_id,
                {
                    "order_id": line.order_id,
                    "status": "CONFIRMED",
                    "created_at": to_ms(line.created_at),
                    "updated_at": to_ms(line.changed_at),
                    "lines": [],
                },
            )
            if line.cancelled:
                order["status"] = "CANCELLED"
            elif line.returned:
                order["status"] = "RETURNED"
            order["lines"].append(
                {
                    "line_id": line.line_id,
                    "seller_sku": line.seller_sku,
                    "quantity": line.quantity,
                    "price": listing.price if listing else 0,
                }
            )
        rows = list(orders.values())
        return {
            "items": rows[(page - 1) * limit : page * limit],
            "page": page,
            "limit": limit,
            "total": len(rows),
            "total_pages": math.ceil(len(rows) / limit),
        }

    # -- state --------------------------------------------------------------------------------

    def _listing(self, seller: str, sku: str) -> SandboxListing:
        listing = self.store.find(seller, sku)
        if listing is None or listing.status == "deleted":
            raise VosoRefusal("PRODUCT_NOT_FOUND", f"Không tìm thấy sản phẩm / no product {sku}")
        return listing

    def _drift(self, seller: str) -> None:
        """The seller edits a listing in the Voso portal while a client is paging."""
        shop = self.store.shop(seller)
        if shop:
            listing = shop[self.rng.choice(sorted(shop))]
            listing.updated_at = self.clock.now()

    def tick_reviews(self) -> None:
        """Resolve due reviews; an approved listing its seller wanted live goes live."""
        super().tick_reviews()
        for key in sorted(self.activate_on_approval):
            listing = self.store.find(*key)
            if listing is None or listing.qc_status == "rejected":
                self.activate_on_approval.discard(key)
            elif listing.qc_status == "approved":
                listing.status = "active"
                self.activate_on_approval.discard(key)


# -- rendering and validation (pure) ----------------------------------------------------------


def _listed_in_item_order(shelf: dict[str, SandboxListing]) -> list[SandboxListing]:
    """Listings not deleted, by item id (numeric order); cached by the store until a change."""
    return sorted((x for x in shelf.values() if x.status != "deleted"), key=lambda x: (len(x.item_id), x.item_id))


def review_json(listing: SandboxListing) -> dict[str, Any]:
    """A listing's review block."""
    status = listing.qc_status.upper()
    return VosoReview.model_validate(
        {"status": status, "reason": listing.qc_reason, "field": listing.qc_field}
    ).model_dump()


def product_json(listing: SandboxListing) -> dict[str, Any]:
    """A listing as Voso renders it."""
    return VosoProduct(
        product_id=int(listing.item_id),
        seller_sku=listing.seller_sku,
        name=listing.title,
        description=listing.description,
        images=list(listing.images),
        brand=listing.brand,
        category_id=listing.category,
        unit=listing.unit,
        weight=listing.weight_g,
        barcode=listing.barcode,
        attributes=dict(listing.attributes),
        price=listing.price,
        quantity=listing.stock,
        status="ACTIVE" if listing.status == "active" else "INACTIVE",
        review=VosoReview.model_validate(review_json(listing)),
        updated_at=to_ms(listing.updated_at),
    ).model_dump()


def validate_product(product: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The listing fields an upsert sets, checked; VosoRefusal names the first bad field."""
    values: dict[str, Any] = {}
    text_fields = {
        "name": ("title", 255),
        "description": ("description", 5000),
        "brand": ("brand", 100),
        "unit": ("unit", 20),
    }
    for wire, (attr, limit) in text_fields.items():
        if wire in product:
            value = product[wire]
            if not isinstance(value, str) or len(value) > limit or (wire == "name" and not value.strip()):
                raise _invalid(
                    wire, f"text of 1-{limit} characters" if wire == "name" else f"at most {limit} characters"
                )
            values[attr] = value
    if "images" in product or creating:
        images = product.get("images")
        if not isinstance(images, list) or not all(
            isinstance(u, str) and u.startswith(("http://", "https://")) for u in images
        ):
            raise _invalid("images", "a list of http(s) URLs")
        if not 1 <= len(images) <= MAX_IMAGES:
            raise _invalid("images", f"1-{MAX_IMAGES} images required")
        values["images"] = list(images)
    if "category_id" in product or creating:
        if product.get("category_id") not in OCOP_PRODUCT_SETS:
            raise _invalid("category_id", "an OCOP product set 1-26")
        values["category"] = product["category_id"]
    if "weight" in product:
        if not _is_int(product["weight"]) or not 0 <= product["weight"] <= 100_000:
            raise _invalid("weight", "grams 0-100000")
        values["weight_g"] = product["weight"]
    if "barcode" in product:
        values["barcode"] = product["barcode"] if isinstance(product["barcode"], str) else None
    if "attributes" in product:
        attributes = product["attributes"]
        if not isinstance(attributes, dict):
            raise _invalid("attributes", "an object of strings")
        values["attributes"] = {str(k): str(v) for k, v in attributes.items()}
    if creating and "name" not in product:
        raise _invalid("name", "required")
    if "price" in product or creating:
        price = product.get("price")
        if not _is_int(price) or not MIN_PRICE_VND <= price <= MAX_PRICE_VND:
            raise _invalid("price", f"whole đồng from {MIN_PRICE_VND}")
        values["price"] = price
    if "quantity" in product or creating:
        quantity = product.get("quantity")
        if not _is_int(quantity) or not 0 <= quantity <= MAX_QUANTITY:
            raise _invalid("quantity", f"0-{MAX_QUANTITY}")
        values["stock"] = quantity
    return values


def malform(payload: dict[str, Any]) -> dict[str, Any]:
    """The same reply with one required field missing (API drift, a broken proxy)."""
    out = copy.deepcopy(payload)
    data = out.get("data")
    if not out.get("error") and isinstance(data, dict):
        for key in ("items", "results"):
            rows = data.get(key)
            if isinstance(rows, list) and rows and isinstance(rows[0], dict):
                for field in ("seller_sku", "order_id"):
                    if field in rows[0]:
                        del rows[0][field]
                        return out
        for field in ("product_id", "token", "total_pages"):
            if field in data:
                del data[field]
                return out
    del out["error"]
    return out


def _apply(listing: SandboxListing, values: dict[str, Any]) -> None:
    for attr, value in values.items():
        setattr(listing, attr, value)


def _item(sku: str, code: str, message: str, field: str = "") -> dict[str, Any]:
    return {"seller_sku": sku, "success": False, "code": code, "message": message, "field": field}


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _body(response: JSONResponse) -> dict[str, Any]:
    import json

    parsed: dict[str, Any] = json.loads(bytes(response.body))
    return parsed


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (JSONDecodeError, UnicodeDecodeError):
        raise _invalid("body", "JSON object required", "INVALID_PARAM") from None
    if not isinstance(body, dict):
        raise _invalid("body", "JSON object required", "INVALID_PARAM")
    return body


def _batch(body: dict[str, Any], key: str) -> list[Any]:
    items = body.get(key)
    if not isinstance(items, list) or not items:
        raise _invalid(key, "a non-empty list", "INVALID_PARAM")
    if len(items) > MAX_BATCH:
        raise VosoRefusal(
            "BATCH_TOO_LARGE", f"Tối đa {MAX_BATCH} sản phẩm mỗi lần / at most {MAX_BATCH} per call", {"field": key}
        )
    return items


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, "an integer", "INVALID_PARAM") from None
    if not low <= value <= high:
        raise _invalid(name, f"between {low} and {high}", "INVALID_PARAM")
    return value
