"""One signed call to the Lazada Open Platform, and the table mapping Lazada's codes to our errors.

Lazada answers almost everything with HTTP 200 and an envelope: ``{"code": "0", "data": ...,
"request_id": ...}`` on success, ``{"type", "code", "message", "request_id"[, "detail"]}``
on failure, with `code` a string ("0", "901", "ApiCallLimit", ...). `ERROR_TABLE` is the
single place those codes become `adapters.errors` classes. The client never retries or sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from adapters.base import Model, parse_payload
from adapters.errors import (
    AdapterError,
    AmbiguousWrite,
    AuthExpired,
    AuthFailed,
    NotFound,
    PermanentError,
    RateLimited,
    Rejected,
    ResponseShapeError,
    TransientError,
)
from adapters.http import parse_retry_after, send
from adapters.lazada.mapping import LzDetail
from adapters.lazada.signing import signed_params

MARKETPLACE = "lazada"
LAZADA_AUTH_URL = "https://auth.lazada.com/rest"
DEFAULT_THROTTLE_S = 1.0
_BAN_SECONDS = re.compile(r"last\s+(\d+(?:\.\d+)?)\s+second", re.IGNORECASE)


class ErrorKind(StrEnum):
    """How the engine must treat a Lazada error code."""

    RATE_LIMITED = "rate_limited"
    AUTH_EXPIRED = "auth_expired"
    AUTH_FAILED = "auth_failed"
    TRANSIENT = "transient"  # nothing happened; retry later
    SERVER_TIMEOUT = "server_timeout"  # retry; a write may or may not have been applied
    REJECTED = "rejected"
    NOT_FOUND = "not_found"
    PERMANENT = "permanent"


def _table(rows: dict[str, tuple[ErrorKind, str]]) -> Mapping[str, tuple[ErrorKind, str]]:
    return MappingProxyType(rows)


K = ErrorKind
ERROR_TABLE: Mapping[str, tuple[ErrorKind, str]] = _table(
    {
        # throttling: "this ban will last 1 seconds"
        "ApiCallLimit": (K.RATE_LIMITED, ""),
        "AppCallLimit": (K.RATE_LIMITED, ""),
        "901": (K.RATE_LIMITED, ""),
        "E901": (K.RATE_LIMITED, ""),
        "998": (K.TRANSIENT, ""),  # API downgraded during a mega campaign
        # authorisation
        "IllegalAccessToken": (K.AUTH_EXPIRED, "access_token"),
        "IllegalRefreshToken": (K.AUTH_FAILED, "refresh_token"),
        "IncompleteSignature": (K.AUTH_FAILED, "sign"),
        "InvalidApiKey": (K.AUTH_FAILED, "app_key"),
        "InvalidCode": (K.AUTH_FAILED, "code"),
        "AUTH_TYPE_UNSUPPORTED": (K.AUTH_FAILED, "refresh_token"),
        "InvalidTimestamp": (K.PERMANENT, "timestamp"),  # [I] skew code unpublished; fix the clock
        "MissingParameter": (K.PERMANENT, ""),
        "InvalidApiPath": (K.PERMANENT, ""),
        "SellerNotVerified": (K.PERMANENT, ""),
        "SellerNotActive": (K.PERMANENT, ""),
        # backend trouble
        "ServiceTimeout": (K.SERVER_TIMEOUT, ""),
        "513": (K.SERVER_TIMEOUT, ""),
        "6": (K.SERVER_TIMEOUT, ""),
        "E006": (K.SERVER_TIMEOUT, ""),
        "506": (K.TRANSIENT, ""),
        "1000": (K.SERVER_TIMEOUT, ""),
        # validation of what we sent
        "5": (K.REJECTED, "request"),
        "14": (K.REJECTED, "offset"),
        "30": (K.REJECTED, "request"),
        "17": (K.REJECTED, "update_after"),
        "19": (K.REJECTED, "limit"),
        "36": (K.REJECTED, "filter"),
        "70": (K.REJECTED, "sku_seller_list"),
        "212": (K.REJECTED, "quantity"),
        "500": (K.REJECTED, ""),
        "501": (K.REJECTED, ""),
        "1001": (K.REJECTED, "payload"),
        "4104": (K.REJECTED, "price"),
        "4108": (K.REJECTED, "attributes"),
        "4110": (K.REJECTED, "attributes"),
        "4117": (K.REJECTED, "special_price"),
        "4118": (K.REJECTED, "price"),
        "4119": (K.REJECTED, "special_price"),
        "4170": (K.REJECTED, "quantity"),
        "4171": (K.REJECTED, "payload"),
        "4193": (K.REJECTED, "SellerSku"),
        "204": (K.REJECTED, "payload"),
        "E204": (K.REJECTED, "payload"),
        "THD_IC_ERR_F_IC_INFRA_PRODUCT_036": (K.REJECTED, "SellerSku"),
        "E207": (K.NOT_FOUND, "SkuId"),
        "207": (K.NOT_FOUND, "SkuId"),
        "E208": (K.NOT_FOUND, "ItemId"),
        "208": (K.NOT_FOUND, "ItemId"),
    }
)


class LzEnvelope(BaseModel):
    """The fields every Lazada reply carries; `code` is required."""

    model_config = ConfigDict(extra="allow")

    code: str | int
    type: str = ""
    message: str = ""
    request_id: str = ""
    detail: Any = None


@dataclass(frozen=True)
class Reply:
    """A reply: the whole JSON body, its request id, and the error envelope when a tolerated call failed."""

    body: dict[str, Any]
    request_id: str
    failure: LzEnvelope | None = None

    def parse(self, model: type[Model], operation: str) -> Model:
        """Validate the body against `model`, naming the missing or wrong field on failure."""
        return parse_payload(model, self.body, marketplace=MARKETPLACE, operation=operation, request_id=self.request_id)


def details_of(envelope: LzEnvelope) -> list[LzDetail]:
    """The per-SKU entries of an error's `detail` array (entries we cannot read are skipped)."""
    raw = envelope.detail
    if not isinstance(raw, list):
        return []
    found: list[LzDetail] = []
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        try:
            found.append(LzDetail.model_validate({k: v for k, v in entry.items() if v is not None}))
        except ValidationError:
            continue  # an entry we cannot read names no SKU; the call's own error still applies
    return found


def kind_of(code: str, error_type: str = "") -> ErrorKind:
    """How to treat a Lazada code; unknown SYSTEM-type codes are transient, others permanent."""
    if code in ERROR_TABLE:
        return ERROR_TABLE[code][0]
    return ErrorKind.TRANSIENT if error_type.upper() == "SYSTEM" else ErrorKind.PERMANENT


def throttle_seconds(message: str, retry_after_header: str | None = None) -> float:
    """How long a throttle ban lasts: Retry-After if sent, else the ban the message names, else 1 s."""
    header = parse_retry_after(retry_after_header)
    if header is not None:
        return max(header, 0.001)
    match = _BAN_SECONDS.search(message)
    return float(match.group(1)) if match else DEFAULT_THROTTLE_S


def error_for(
    envelope: LzEnvelope,
    *,
    operation: str,
    is_write: bool,
    retry_after_header: str | None = None,
    http_status: int | None = None,
) -> AdapterError:
    """The typed error a failed envelope means (see ERROR_TABLE)."""
    code = str(envelope.code)
    kind = kind_of(code, envelope.type)
    details = details_of(envelope)
    message = envelope.message or code
    if details and details[0].message:
        message = f"{message}: {details[0].message}"
    common: dict[str, Any] = dict(
        marketplace=MARKETPLACE, operation=operation, code=code, request_id=envelope.request_id, http_status=http_status
    )
    if kind is ErrorKind.RATE_LIMITED:
        return RateLimited(message, retry_after=throttle_seconds(envelope.message, retry_after_header), **common)
    if kind is ErrorKind.AUTH_EXPIRED:
        return AuthExpired(message, **common)
    if kind is ErrorKind.AUTH_FAILED:
        return AuthFailed(message, **common)
    if kind is ErrorKind.SERVER_TIMEOUT:
        return (AmbiguousWrite if is_write else TransientError)(message, **common)
    if kind is ErrorKind.TRANSIENT:
        return TransientError(message, **common)
    if kind is ErrorKind.NOT_FOUND:
        return NotFound(message, **common)
    if kind is ErrorKind.REJECTED:
        field = (details[0].field_name if details else "") or ERROR_TABLE.get(code, (kind, ""))[1]
        reason = (details[0].message if details else "") or envelope.message or code
        return Rejected(message, field=field, reason=reason, **common)
    return PermanentError(message, **common)


def api_url_of(base_url: str) -> str:
    """The REST gateway for a configured base URL: as given, plus "/rest" when it has no path."""
    base = base_url.rstrip("/")
    return base if urlsplit(base).path not in ("", "/") else base + "/rest"


def auth_url_of(api_url: str, options: Mapping[str, Any]) -> str:
    """Where the token APIs live: `options.auth_url`, auth.lazada.com for Lazada gateways, else the gateway."""
    configured = options.get("auth_url")
    if configured:
        return str(configured).rstrip("/")
    host = urlsplit(api_url).hostname or ""
    return LAZADA_AUTH_URL if host.startswith("api.lazada.") else api_url


def authorize_base_of(auth_url: str) -> str:
    """The host of the seller-authorisation page: the token host without its "/rest" path."""
    base = auth_url.rstrip("/")
    return base[: -len("/rest")] if base.endswith("/rest") else base


class LazadaClient:
    """Signs and sends one Lazada API call and returns its body, or raises the typed error."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        auth_url: str,
        app_key: str,
        app_secret: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._http = http
        self._api_url = api_url
        self._auth_url = auth_url
        self._app_key = app_key
        self._app_secret = app_secret
        self._clock = clock

    @property
    def app_key(self) -> str:
        """The app key (public: it appears in the seller-authorisation URL)."""
        return self._app_key

    @property
    def auth_url(self) -> str:
        """Where the token APIs live."""
        return self._auth_url

    def __repr__(self) -> str:
        return f"LazadaClient(api_url={self._api_url!r}, app_key={self._app_key!r})"

    async def call(
        self,
        api_path: str,
        business: Mapping[str, str],
        *,
        operation: str,
        method: str = "GET",
        is_write: bool = False,
        access_token: str | None = None,
        auth_host: bool = False,
        tolerate_detail: bool = False,
    ) -> Reply:
        """Sign and send one call (GET as query, POST as form body); raise on any failure.

        With `tolerate_detail`, a failed envelope that carries a per-SKU `detail` array is
        returned as `Reply.failure` instead of raised, for the caller to map per SKU.
        """
        params = signed_params(
            api_path,
            business,
            app_key=self._app_key,
            app_secret=self._app_secret,
            now=self._clock(),
            access_token=access_token,
        )
        url = (self._auth_url if auth_host else self._api_url) + api_path
        if method == "GET":
            request = self._http.build_request("GET", url, params=params)
        else:
            request = self._http.build_request("POST", url, data=params)
        response = await send(self._http, request, marketplace=MARKETPLACE, operation=operation, is_write=is_write)
        return read_reply(response, operation=operation, is_write=is_write, tolerate_detail=tolerate_detail)


def read_reply(response: httpx.Response, *, operation: str, is_write: bool, tolerate_detail: bool = False) -> Reply:
    """Turn an HTTP response into a Reply, or raise the error its status or envelope means."""
    status = response.status_code
    retry_after = response.headers.get("Retry-After")
    common: dict[str, Any] = dict(marketplace=MARKETPLACE, operation=operation, http_status=status)
    if status == 429:
        raise RateLimited("HTTP 429", retry_after=throttle_seconds("", retry_after), **common)
    if status >= 500:
        error_type = AmbiguousWrite if is_write else TransientError
        raise error_type(f"HTTP {status}", retry_after=parse_retry_after(retry_after), **common)
    if status >= 400:
        raise PermanentError(f"HTTP {status}", **common)
    try:
        body = response.json()
    except ValueError as exc:
        raise ResponseShapeError("reply is not JSON", field="<body>", **common) from exc
    if not isinstance(body, dict):
        raise ResponseShapeError("reply is not a JSON object", field="<body>", **common)
    request_id = str(body.get("request_id", ""))
    envelope = parse_payload(LzEnvelope, body, marketplace=MARKETPLACE, operation=operation, request_id=request_id)
    if str(envelope.code) != "0":
        if tolerate_detail and details_of(envelope):
            return Reply(body=body, request_id=request_id, failure=envelope)
        raise error_for(
            envelope, operation=operation, is_write=is_write, retry_after_header=retry_after, http_status=status
        )
    return Reply(body=body, request_id=request_id)


__all__ = [
    "ERROR_TABLE",
    "ErrorKind",
    "LazadaClient",
    "LzEnvelope",
    "Reply",
    "api_url_of",
    "auth_url_of",
    "authorize_base_of",
    "details_of",
    "error_for",
    "kind_of",
    "read_reply",
    "throttle_seconds",
]
