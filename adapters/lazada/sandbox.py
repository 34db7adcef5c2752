"""`LazadaSandbox`: a Lazada Open Platform look-alike serving the shared sandbox store.

Routes mirror the real paths under `/rest` (token APIs included, on the same host). Every
call is checked like the gateway does: system parameters (`MissingParameter`), app key
(`InvalidApiKey`), signature (`IncompleteSignature`), timestamp within 7200 s, access token
(`IllegalAccessToken`, expiring after `options.token_ttl_s` of sandbox time); then the
shared gate applies latency, per-seller rate limits and injected faults, rendered the
Lazada way (`ApiCallLimit` in HTTP 200; `ServiceTimeout` or HTTP 500; 503 for outages).
Errors are HTTP 200 envelopes with string codes. See README.md for every knob.
"""

from __future__ import annotations

import itertools
import math
import secrets
from bisect import bisect_left
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.lazada.sandbox_categories import attributes_body, mandatory_attributes, tree_body
from adapters.lazada.sandbox_push import order_push
from adapters.lazada.sandbox_requests import (
    apply_attributes,
    apply_update,
    bounded_int,
    deactivate_targets,
    iso_date,
    json_array,
    json_product,
    order_in_bounds,
    parse_xml,
    price_quantity_problem,
    price_quantity_skus,
    product_in_bounds,
    request_params,
    sku_list,
    without_member,
)
from adapters.lazada.sandbox_shapes import (
    FILTERS,
    LzError,
    category_key,
    grams_of,
    group_products,
    matches_filter,
    render_order,
    render_order_items,
    render_product,
    updated_of,
    whole,
)
from adapters.lazada.signing import MAX_CLOCK_SKEW, SIGN_METHOD, parse_timestamp, signature_matches
from adapters.sandbox.app import GateDecision, Sandbox, SandboxOptions, SellerAccount
from adapters.sandbox.clock import SandboxClock
from adapters.sandbox.faults import Fault
from adapters.sandbox.store import SandboxListing, SandboxOrder

MAX_PAGE = 50
MAX_OFFSET = 10_000
MAX_BATCH = 50
RECOMMENDED_BATCH = 20
MAX_ORDERS_PAGE = 100
AUTH_CODE_TTL = timedelta(minutes=30)
DATE_PARAMS = ("create_after", "create_before", "update_after", "update_before")

Handler = Callable[[str, dict[str, str]], Awaitable[tuple[dict[str, Any], bool]]]


def sandbox_credentials(seller_id: str) -> dict[str, str]:
    """The sandbox-only credentials the simulator accepts for `seller_id` (not secrets)."""
    return {
        "app_key": f"sbx-lzd-{seller_id}",
        "app_secret": f"sbx-lzd-secret-{seller_id}",
        "refresh_token": f"sbx-lzd-refresh-{seller_id}",
    }


@dataclass(frozen=True)
class _App:
    seller_id: str
    secret: str


@dataclass(frozen=True)
class _Token:
    seller_id: str
    app_key: str
    expires_at: datetime | None  # None: the configured refresh token, valid until re-authorised


@dataclass
class _Code:
    seller_id: str
    issued_at: datetime
    used: bool = False


@dataclass(frozen=True)
class _Api:
    path: str
    handler: Handler
    methods: tuple[str, ...]
    is_write: bool = False
    identity: str = "access_token"  # or refresh_token / code
    malformed_drop: tuple[str, ...] = ("code",)


class LazadaSandbox(Sandbox):
    """The Lazada simulator: shared sandbox machinery plus Lazada's routes, auth and shapes."""

    marketplace = "lazada"
    api_base_path = "/rest"  # the real gateway is https://api.lazada.vn/rest; the SDKs are configured with it
    published_rate_limit_per_s = 50  # inventory APIs, per seller (the only published per-seller figure)
    partial_cancels = True  # an order item is one unit: a buyer may cancel some units of a SKU
    timestamp_error_code = "InvalidTimestamp"  # [I] Lazada's code for clock skew is not published

    def __init__(self, options: SandboxOptions | None = None, clock: SandboxClock | None = None) -> None:
        self._apps: dict[str, _App] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._codes: dict[str, _Code] = {}
        self._request_ids = itertools.count(1)
        super().__init__(options, clock)
        for seller in self.options.sellers:
            self.register_seller(seller)

    # -- accounts and tokens --------------------------------------------------------------------

    def register_seller(self, seller: SellerAccount) -> None:
        """Accept a seller's app key, app secret and configured refresh token."""
        creds = {**sandbox_credentials(seller.seller_id), **seller.credentials}
        self.sellers[seller.seller_id] = seller
        self._apps[creds["app_key"]] = _App(seller.seller_id, creds["app_secret"])
        self._refresh[creds["refresh_token"]] = _Token(seller.seller_id, creds["app_key"], None)
        self.store.shop(seller.seller_id)

    def issue_auth_code(self, seller_id: str) -> str:
        """A single-use authorisation code, as the OAuth redirect would hand the app (valid 30 min)."""
        code = f"sbx-code-{secrets.token_hex(8)}"
        self._codes[code] = _Code(seller_id, self.clock.now())
        return code

    def _issue_tokens(self, seller_id: str, app_key: str, list_name: str) -> dict[str, Any]:
        now = self.clock.now()
        access, refresh = f"sbx-lzd-at-{secrets.token_hex(12)}", f"sbx-lzd-rt-{secrets.token_hex(12)}"
        self._access[access] = _Token(seller_id, app_key, now + timedelta(seconds=self.options.token_ttl_s))
        self._refresh[refresh] = _Token(seller_id, app_key, now + timedelta(seconds=self.options.refresh_ttl_s))
        user = {"country": "vn", "seller_id": seller_id, "user_id": seller_id, "short_code": f"VN{seller_id}"}
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": str(self.options.token_ttl_s),
            "refresh_expires_in": str(self.options.refresh_ttl_s),
            "account": f"{seller_id.lower()}@sandbox.lazada.vn",
            "account_platform": "seller_center",
            "country": "vn",
            list_name: [user],
        }

    def _valid(self, token: _Token, app_key: str) -> bool:
        if token.app_key != app_key:
            return False
        return token.expires_at is None or token.expires_at > self.clock.now()

    # -- routing and gatekeeping ------------------------------------------------------------------

    def marketplace_routes(self) -> list[BaseRoute]:
        """Lazada's API routes under /rest, a catch-all for unknown paths, and the auth-code control route."""
        apis = [
            _Api("/products/get", self._products_get, ("GET",), malformed_drop=("data", "products")),
            _Api("/product/item/get", self._item_get, ("GET",), malformed_drop=("data", "item_id")),
            _Api("/product/create", self._create, ("POST",), True, malformed_drop=("data", "item_id")),
            _Api("/product/update", self._update, ("POST",), True),
            _Api("/product/price_quantity/update", self._price_quantity, ("POST",), True),
            _Api("/product/deactivate", self._deactivate, ("POST",), True),
            _Api("/orders/get", self._orders_get, ("GET",), malformed_drop=("data", "orders")),
            _Api("/order/items/get", self._order_items_get, ("GET",), malformed_drop=("data",)),
            _Api("/category/tree/get", self._category_tree, ("GET",), malformed_drop=("data",)),
            _Api("/category/attributes/get", self._category_attributes, ("GET",), malformed_drop=("data",)),
            _Api("/auth/token/create", self._token_create, ("GET", "POST"), False, "code", ("access_token",)),
            _Api(
                "/auth/token/refresh", self._token_refresh, ("GET", "POST"), False, "refresh_token", ("access_token",)
            ),
        ]
        routes: list[BaseRoute] = [
            Route("/rest" + api.path, self._endpoint(api), methods=list(api.methods)) for api in apis
        ]
        routes.append(Route("/rest/{path:path}", self._unknown_path, methods=["GET", "POST"]))
        routes.append(Route("/_sandbox/lazada/auth_code", self._auth_code_route, methods=["POST"]))
        routes.append(Route("/oauth/authorize", self._authorize_page, methods=["GET"]))
        return routes

    def _request_id(self) -> str:
        return f"21{next(self._request_ids):021d}"

    def _error(self, error: LzError, request_id: str) -> JSONResponse:
        body: dict[str, Any] = {
            "type": error.kind,
            "code": error.code,
            "message": error.message,
            "request_id": request_id,
        }
        if error.detail is not None:
            body["detail"] = error.detail
        return JSONResponse(body)

    def _endpoint(self, api: _Api) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            params = await request_params(request)
            request_id = self._request_id()
            try:
                seller_id = self._authenticate(api, params)
            except LzError as error:
                return self._error(error, request_id)
            decision = await self.gate(seller_id, api.path, is_write=api.is_write)
            if not decision.passed and decision.fault is not Fault.MALFORMED:
                return self._fault_response(decision, request_id)
            self.tick_reviews()
            try:
                body, committed = await api.handler(seller_id, params)
            except LzError as error:
                return self._error(error, request_id)
            if committed:
                self.lose_response(seller_id, api.path)
            body = {**body, "code": "0", "request_id": request_id}
            if decision.fault is Fault.MALFORMED:
                body = without_member(body, api.malformed_drop)
            return JSONResponse(body)

        return endpoint

    def _authenticate(self, api: _Api, params: dict[str, str]) -> str:
        """Check system parameters, app key, signature, timestamp and identity; return the seller id."""
        required = ["app_key", "timestamp", "sign_method", "sign", api.identity]
        missing = [name for name in required if not params.get(name)]
        if missing:
            raise LzError("MissingParameter", f"The input parameter “{missing[0]}” that is mandatory is not supplied")
        app = self._apps.get(params["app_key"])
        if app is None:
            raise LzError("InvalidApiKey", "The specified app key is invalid")
        if params["sign_method"] != SIGN_METHOD or not signature_matches(app.secret, api.path, params):
            raise LzError("IncompleteSignature", "The request signature does not conform to platform standards")
        self._check_timestamp(params["timestamp"])
        if api.identity == "access_token":
            token = self._access.get(params["access_token"])
            if token is None or not self._valid(token, params["app_key"]):
                raise LzError("IllegalAccessToken", "The specified access token is invalid or expired")
            return token.seller_id
        if api.identity == "refresh_token":
            token = self._refresh.get(params["refresh_token"])
            if token is None or not self._valid(token, params["app_key"]):
                raise LzError("IllegalRefreshToken", "The specified refresh token is invalid or expired")
            return token.seller_id
        code = self._codes.get(params["code"])
        if code is None or code.used or self.clock.now() - code.issued_at > AUTH_CODE_TTL:
            raise LzError("InvalidCode", "Invalid authorization code")
        if code.seller_id != app.seller_id:
            raise LzError("InvalidCode", "The authorization code was issued to another app")
        return code.seller_id

    def _check_timestamp(self, value: str) -> None:
        """Within 7200 s of UTC; the sandbox clock is also accepted, since tests may advance it."""
        when = parse_timestamp(value)
        if when is None:
            raise LzError(self.timestamp_error_code, f"Invalid timestamp {value!r}: epoch milliseconds or ISO-8601")
        references = (datetime.now(UTC), self.clock.now())
        if all(abs(when - ref) > MAX_CLOCK_SKEW for ref in references):
            raise LzError(self.timestamp_error_code, "The timestamp differs from server time by more than 7200 s")

    def _fault_response(self, decision: GateDecision, request_id: str) -> Response:
        if decision.fault is Fault.THROTTLE:
            injected = self.faults.spec.retry_after_s
            seconds = decision.retry_after if decision.retry_after == injected else math.ceil(decision.retry_after or 1)
            message = f"Api access frequency exceeds the limit. this ban will last {seconds:g} seconds"
            return self._error(LzError("ApiCallLimit", message), request_id)
        if decision.fault is Fault.ERROR:
            if self.rng.random() < 0.5:
                return PlainTextResponse("Internal Server Error", status_code=500)
            message = "The request has failed due to a temporary failure of the server"
            return self._error(LzError("ServiceTimeout", message, kind="SYSTEM"), request_id)
        return PlainTextResponse("Service Unavailable", status_code=503)

    async def _unknown_path(self, request: Request) -> Response:
        return self._error(LzError("InvalidApiPath", "The specified API path is invalid"), self._request_id())

    async def _auth_code_route(self, request: Request) -> Response:
        body = await request.json()
        seller_id = str(body.get("seller_id", ""))
        if seller_id not in self.sellers:
            return JSONResponse({"error": f"unknown seller {seller_id!r}"}, status_code=404)
        return JSONResponse({"code": self.issue_auth_code(seller_id)})

    async def _authorize_page(self, request: Request) -> Response:
        """`GET /oauth/authorize`: the app's own seller "logs in and agrees"; redirect with code and state."""
        query = request.query_params
        app = self._apps.get(query.get("client_id", ""))
        redirect_uri = query.get("redirect_uri", "")
        if app is None or query.get("response_type") != "code" or not redirect_uri:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        target = {"code": self.issue_auth_code(app.seller_id)}
        if query.get("state"):
            target["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + separator + urlencode(target), status_code=302)

    # -- categories -------------------------------------------------------------------------------

    async def _category_tree(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        return {"data": tree_body()}, False

    async def _category_attributes(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        raw = params.get("primary_category_id", "")
        data = attributes_body(int(raw)) if raw.isdigit() else None
        if data is None:
            raise LzError("201", f"Invalid category id: {raw}")
        return {"data": data}, False

    # -- auth APIs --------------------------------------------------------------------------------

    async def _token_create(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        self._codes[params["code"]].used = True
        return self._issue_tokens(seller_id, params["app_key"], "country_user_info"), False

    async def _token_refresh(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        return self._issue_tokens(seller_id, params["app_key"], "country_user_info_list"), False

    # -- product reads ----------------------------------------------------------------------------

    async def _products_get(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        name = params.get("filter", "all")
        if name not in FILTERS:
            raise LzError("36", "E036: Invalid status filter")
        limit = bounded_int(
            params.get("limit", "10"), 1, MAX_PAGE, "19", "Invalid Limit: should not exceed a maximum of 50"
        )
        offset = bounded_int(params.get("offset", "0"), 0, MAX_OFFSET, "14", "E014: Invalid Offset (maximum 10000)")
        bounds = {key: iso_date(params[key]) for key in DATE_PARAMS if params.get(key)}
        wanted = sku_list(params.get("sku_seller_list"))
        if wanted is not None:
            products = [
                p
                for p in group_products(self._candidates(seller_id, wanted))
                if matches_filter(p, name) and product_in_bounds(p, bounds) and any(x.seller_sku in wanted for x in p)
            ]
        else:
            ordered, stamps = self._ordered(seller_id, name)
            after = bounds.get("update_after")
            products = ordered[bisect_left(stamps, after) :] if after is not None else ordered
            others = {key: bound for key, bound in bounds.items() if key != "update_after"}
            if others:
                products = [p for p in products if product_in_bounds(p, others)]
        page = [render_product(p) for p in products[offset : offset + limit]]
        if self.faults.chance(self.faults.spec.page_drift_rate):
            self._drift(seller_id)
        return {"data": {"total_products": len(products), "products": page}}, False

    def _candidates(self, seller_id: str, wanted: set[str]) -> list[SandboxListing]:
        """The listings of the items of the named SKUs (from the indexes: O(SKUs named), not O(shop))."""
        shelf = self.store.shop(seller_id)
        items = sorted({x.item_id for sku in wanted if (x := shelf.get(sku)) is not None})
        return [x for item in items for x in self.store.by_item(seller_id, item)]

    def _ordered(self, seller_id: str, name: str) -> tuple[list[list[SandboxListing]], list[datetime]]:
        """The seller's products under `filter=name` in scroll order, and their update times (cached until a change)."""

        def build(shelf: dict[str, SandboxListing]) -> tuple[list[list[SandboxListing]], list[datetime]]:
            products = [p for p in group_products(list(shelf.values())) if matches_filter(p, name)]
            return products, [updated_of(p) for p in products]

        return self.store.view(seller_id, f"products:{name}", build)

    def _drift(self, seller_id: str) -> None:
        """Data changing under a scrolling client: a random listing is edited (its update time moves)."""
        candidates = sorted(
            (x for x in self.store.shop(seller_id).values() if x.status != "deleted"), key=lambda x: x.seller_sku
        )
        if candidates:
            victim = self.rng.choice(candidates)
            victim.updated_at = self.clock.now()
            self.record(seller_id, "page_drift", False, "ok")

    async def _item_get(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        if params.get("seller_sku") and not params.get("item_id"):
            raise LzError("4193", "The SellerSku parameter is no longer supported, please use item_id")
        listings = self.store.by_item(seller_id, params.get("item_id", ""))
        if not listings:
            raise LzError("208", "E208: Item not exist")
        return {"data": render_product(group_products(listings)[0])}, False

    # -- product writes ---------------------------------------------------------------------------

    @property
    def _reviews_creates(self) -> bool:
        opts = self.options
        return opts.qc_delay_s > 0 or opts.qc_reject_rate > 0 or bool(opts.qc_reject_skus)

    async def _create(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        product = json_product(params.get("payload"))
        images = json_array((product.get("Images") or {}).get("Image", []), "Images.Image")
        skus = json_array((product.get("Skus") or {}).get("Sku"), "Skus.Sku")
        attributes = product.get("Attributes") or {}
        if not isinstance(attributes, dict) or not str(attributes.get("name", "")).strip():
            raise LzError(
                "4108",
                "Mandatory attribute name is missing",
                detail=[{"field": "name", "message": "name is mandatory"}],
            )
        if not product.get("PrimaryCategory"):
            raise LzError(
                "4108", "PrimaryCategory is mandatory", detail=[{"field": "PrimaryCategory", "message": "missing"}]
            )
        self._check_category_attributes(product.get("PrimaryCategory"), attributes)
        rows = [self._new_sku(seller_id, sku) for sku in skus]
        if not rows:
            raise LzError("1001", "Skus.Sku must not be empty")
        item_id, now, reviewed = self.store.next_id(), self.clock.now(), self._reviews_creates
        sku_list = []
        for seller_sku, price, quantity, sku in rows:
            listing = SandboxListing(
                seller_id=seller_id,
                seller_sku=seller_sku,
                item_id=item_id,
                sku_id=self.store.next_id(),
                title=str(attributes["name"]),
                price=price,
                stock=quantity,
                created_at=now,
                updated_at=now,
                images=[str(i) for i in images],
                category=category_key(product.get("PrimaryCategory")),
                weight_g=grams_of(sku.get("package_weight", 0)),
                status="inactive" if str(sku.get("Status", "active")).lower() == "inactive" else "active",
            )
            apply_attributes(listing, attributes)
            self.store.record_create(listing)
            if reviewed:
                self.start_review(listing)
            sku_list.append(
                {
                    "seller_sku": seller_sku,
                    "shop_sku": f"{item_id}_VNAMZ-{listing.sku_id}",
                    "sku_id": int(listing.sku_id),
                }
            )
        live = any(x.status == "active" for x in self.store.by_item(seller_id, item_id))
        status = "Pending QC" if reviewed else ("Active" if live else "InActive")
        return {"data": {"item_id": int(item_id), "sku_list": sku_list, "item_status": status}}, True

    @staticmethod
    def _check_category_attributes(category: Any, attributes: dict[str, Any]) -> None:
        """Lazada's 4110 BIZ_CHECK_CAT_PROP_MANDATORY for a tree category whose mandatory attribute is empty."""
        missing = [n for n in mandatory_attributes(whole(category) or 0) if not str(attributes.get(n, "")).strip()]
        if missing:
            raise LzError(
                "4110",
                f"BIZ_CHECK_CAT_PROP_MANDATORY: Category attribute {missing[0]} is mandatory",
                detail=[{"field": n, "message": f"Category attribute {n} is mandatory"} for n in missing],
            )

    def _new_sku(self, seller_id: str, sku: Any) -> tuple[str, int, int, dict[str, Any]]:
        if not isinstance(sku, dict) or not str(sku.get("SellerSku", "")).strip():
            raise LzError("4108", "SellerSku is mandatory", detail=[{"field": "SellerSku", "message": "missing"}])
        seller_sku = str(sku["SellerSku"]).strip()
        existing = self.store.find(seller_id, seller_sku)
        if existing is not None and existing.status != "deleted":
            message = f"THD_IC_ERR_F_IC_INFRA_PRODUCT_036: SellerSku {seller_sku} đã tồn tại / already exists"
            raise LzError(
                "500",
                message,
                kind="ISP",
                detail=[{"field": "SellerSku", "seller_sku": seller_sku, "message": message}],
            )
        price, quantity = whole(sku.get("price")), whole(sku.get("quantity", 0))
        if price is None or price <= 0:
            raise LzError(
                "4118",
                "Price is 0 or invalid",
                detail=[{"field": "price", "seller_sku": seller_sku, "message": "price must be > 0"}],
            )
        if quantity is None or quantity < 0:
            raise LzError(
                "501",
                "Create product failed",
                detail=[{"field": "quantity", "seller_sku": seller_sku, "message": "quantity must be >= 0"}],
            )
        return seller_sku, price, quantity, sku

    async def _update(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        product = json_product(params.get("payload"))
        skus = json_array((product.get("Skus") or {}).get("Sku"), "Skus.Sku")
        targets = []
        for sku in skus:
            sku_id = str(sku.get("SkuId", "")).strip() if isinstance(sku, dict) else ""
            if not sku_id:
                raise LzError(
                    "501", "Update product failed", detail=[{"field": "SkuId", "message": "SkuId is mandatory"}]
                )
            listing = self.store.by_sku_id(seller_id, sku_id)
            if listing is None or (product.get("ItemId") and str(product["ItemId"]) != listing.item_id):
                raise LzError(
                    "207",
                    "E207: SKU not exist",
                    detail=[{"field": "SkuId", "sku_id": sku_id, "message": "SKU not exist"}],
                )
            if sku.get("SellerSku") and str(sku["SellerSku"]) != listing.seller_sku:
                message = "SellerSku không thể thay đổi / SellerSku cannot be changed"
                raise LzError(
                    "500",
                    message,
                    detail=[{"field": "SellerSku", "seller_sku": listing.seller_sku, "message": message}],
                )
            targets.append((listing, sku))
        if self.skip_apply():
            self.record(seller_id, "/product/update", True, "not_applied")
            return self._updated(targets), False
        for listing, sku in targets:
            apply_update(listing, product, sku)
            listing.updated_at = self.clock.now()
        return self._updated(targets), True

    def _updated(self, targets: list[tuple[SandboxListing, Any]]) -> dict[str, Any]:
        """The UpdateProduct reply: `data.item_status` of the item (the sample's `variation` is left out)."""
        live = any(x.status == "active" for x, _ in targets)
        return {"data": {"item_status": "Active" if live else "InActive"}}

    async def _price_quantity(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        if not params.get("payload"):
            raise LzError("MissingParameter", "The input parameter “payload” that is mandatory is not supplied")
        skus = price_quantity_skus(parse_xml(params["payload"]))
        if len(skus) > MAX_BATCH:
            message = f"The updated SKU quantity exceeds the maximum number 50 ({len(skus)}), please do not update more"
            raise LzError("4171", message + " than 50 SKUs at once")
        if len(skus) > RECOMMENDED_BATCH and self.faults.chance(self.faults.spec.error_rate):
            raise LzError("513", "E513: Request timeout, please send fewer than 20 SKUs", kind="SYSTEM")
        shop = self.store.shop(seller_id)
        updates: list[tuple[SandboxListing, int | None, int | None]] = []
        detail: list[dict[str, Any]] = []
        for sku in skus:
            listing = self.store.by_sku_id(seller_id, sku.sku_id) if sku.sku_id else shop.get(sku.seller_sku)
            problem = price_quantity_problem(listing, sku)
            if problem is None and self.fail_item():
                problem = ("6", "", "E006: Unexpected internal error")
            if problem is not None:
                code, field, message = problem
                name = listing.seller_sku if listing else sku.seller_sku
                detail.append(
                    {"seller_sku": name, "sku_id": sku.sku_id, "field": field, "code": code, "message": message}
                )
            elif listing is not None:
                updates.append(
                    (listing, whole(sku.price) if sku.price else None, whole(sku.quantity) if sku.quantity else None)
                )
        if detail:
            raise LzError("501", "Update product failed", kind="ISP", detail=detail)
        if self.skip_apply():
            self.record(seller_id, "/product/price_quantity/update", True, "not_applied")
            return {"data": {}}, False
        now = self.clock.now()
        for listing, price, quantity in updates:
            listing.price = price if price is not None else listing.price
            listing.stock = quantity if quantity is not None else listing.stock
            listing.updated_at = now
            self.store.writes_applied[listing.seller_sku] += 1
        return {"data": {}}, True

    async def _deactivate(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        if not params.get("apiRequestBody"):
            raise LzError("MissingParameter", "The input parameter “apiRequestBody” that is mandatory is not supplied")
        item_id, sku_ids, by_seller_sku = deactivate_targets(parse_xml(params["apiRequestBody"]))
        if by_seller_sku:
            raise LzError("4193", "The SellerSku parameter is no longer supported, please use SkuId")
        if not item_id:
            raise LzError("501", "ItemId is mandatory", detail=[{"field": "ItemId", "message": "ItemId is mandatory"}])
        listings = list(self.store.by_item(seller_id, item_id))
        if not listings:
            raise LzError("208", "E208: Item not exist")
        unknown = set(sku_ids) - {x.sku_id for x in listings}
        if unknown:
            raise LzError("207", f"E207: SKU not exist: {', '.join(sorted(unknown))}")
        if self.skip_apply():
            self.record(seller_id, "/product/deactivate", True, "not_applied")
            return {"data": {}}, False
        for listing in listings:
            if not sku_ids or listing.sku_id in sku_ids:
                listing.status = "inactive" if listing.status != "deleted" else listing.status
                listing.updated_at = self.clock.now()
        return {"data": {}}, True

    # -- orders -----------------------------------------------------------------------------------

    def on_order_change(self, seller_id: str, lines: list[SandboxOrder]) -> None:
        """Push a signed trade-order message (type 0) for the order when pushes are configured."""
        account = self.sellers.get(seller_id)
        if self.pusher.enabled and lines:
            creds = (account.credentials if account else None) or sandbox_credentials(seller_id)
            message = order_push(seller_id, lines, self.clock.now(), creds["app_key"], creds["app_secret"])
            self.pusher.enqueue(message)

    async def _orders_get(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        if not params.get("created_after") and not params.get("update_after"):
            raise LzError("MissingParameter", "Either created_after or update_after is mandatory")
        keys = ("created_after", "created_before", "update_after", "update_before")
        bounds = {key: iso_date(params[key]) for key in keys if params.get(key)}
        limit = bounded_int(params.get("limit", "100"), 1, MAX_ORDERS_PAGE, "19", "Invalid Limit: at most 100")
        offset = bounded_int(params.get("offset", "0"), 0, 10**9, "14", "Invalid Offset")
        orders: dict[str, list[SandboxOrder]] = {}
        for line in self.store.orders_of(seller_id):
            orders.setdefault(line.order_id, []).append(line)
        sort_by = params.get("sort_by", "created_at")
        if sort_by not in ("created_at", "updated_at"):
            raise LzError("75", "E075: Invalid sort filter.")

        def when(lines: list[SandboxOrder]) -> datetime:
            return max(x.changed_at for x in lines) if sort_by == "updated_at" else lines[0].created_at

        picked = [
            lines
            for lines in orders.values()
            if order_in_bounds(lines[0].created_at, max(x.changed_at for x in lines), bounds)
        ]
        picked.sort(
            key=lambda lines: (when(lines), int(lines[0].order_id)),
            reverse=params.get("sort_direction", "DESC").upper() == "DESC",
        )
        prices = {x.seller_sku: x.price for x in self.store.shop(seller_id).values()}
        page = [render_order(lines, prices) for lines in picked[offset : offset + limit]]
        return {"data": {"count": len(page), "countTotal": len(picked), "orders": page}}, False

    async def _order_items_get(self, seller_id: str, params: dict[str, str]) -> tuple[dict[str, Any], bool]:
        order_id = params.get("order_id", "")
        lines = [x for x in self.store.orders_of(seller_id) if x.order_id == order_id]
        if not lines:
            raise LzError("16", "E016: Invalid Order ID")
        return {"data": render_order_items(lines, self.store.shop(seller_id))}, False
