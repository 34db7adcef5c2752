"""Voso partner API transport: login, the `Token` header, the envelope, and the one error table.

Voso publishes no seller API; this client speaks the assumed contract in
`adapters/voso/README.md`, modelled on Viettel Post's partner conventions: HTTP 200 with
`{error, code, message, data, request_id}`, `error: true` on failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from adapters.base import parse_payload
from adapters.errors import (
    AdapterError,
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
from adapters.voso.mapping import VosoLogin

MARKETPLACE = "voso"
TOKEN_HEADER = "Token"
LOGIN_PATH = "/v1/partner/login"
DEFAULT_THROTTLE_BACKOFF_S = 1.0

ERROR_TABLE: dict[str, type[AdapterError]] = {
    "TOKEN_EXPIRED": AuthExpired,
    "TOKEN_INVALID": AuthExpired,
    "TOKEN_REQUIRED": AuthExpired,
    "LOGIN_FAILED": AuthFailed,
    "ACCOUNT_LOCKED": AuthFailed,
    "RATE_LIMIT": RateLimited,
    "SYSTEM_ERROR": TransientError,
    "SYSTEM_BUSY": TransientError,
    "SERVICE_UNAVAILABLE": TransientError,
    "VALIDATION_ERROR": Rejected,
    "INVALID_PARAM": Rejected,
    "BATCH_TOO_LARGE": Rejected,
    "NOT_APPROVED": Rejected,
    "PRODUCT_NOT_FOUND": NotFound,
}
"""Voso `code` → our error class. Unknown codes are permanent: better to stop than to loop."""


class Envelope(BaseModel):
    """Every Voso reply: `error` is the only field that must be there."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    error: bool
    code: str = ""
    message: str = ""
    data: Any = None
    request_id: str = ""


@dataclass(frozen=True)
class Reply:
    """The `data` of a successful call and the request id to quote in logs."""

    data: Any
    request_id: str


def error_for(envelope: Envelope, response: httpx.Response, operation: str) -> AdapterError:
    """The typed error for a Voso reply with `error: true` (or a non-200 status)."""
    kind = ERROR_TABLE.get(envelope.code, PermanentError)
    common: dict[str, Any] = {
        "marketplace": MARKETPLACE,
        "operation": operation,
        "code": envelope.code,
        "request_id": envelope.request_id or response.headers.get("X-Request-Id", ""),
        "http_status": response.status_code,
    }
    message = envelope.message or envelope.code or f"HTTP {response.status_code}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if issubclass(kind, RateLimited):
        return RateLimited(message, retry_after=retry_after or DEFAULT_THROTTLE_BACKOFF_S, **common)
    if issubclass(kind, TransientError):
        return kind(message, retry_after=retry_after, **common)
    if issubclass(kind, Rejected):
        details = envelope.data if isinstance(envelope.data, dict) else {}
        return Rejected(message, field=str(details.get("field", "")), reason=str(details.get("reason", "")), **common)
    return kind(message, **common)


def check(response: httpx.Response, operation: str) -> Reply:
    """Turn one HTTP response into its `data`, or raise the typed error it stands for."""
    request_id = response.headers.get("X-Request-Id", "")
    if response.status_code >= 500 or response.status_code == 429:
        envelope = _lenient_envelope(response)
        code = envelope.code or ("RATE_LIMIT" if response.status_code == 429 else "SYSTEM_ERROR")
        raise error_for(envelope.model_copy(update={"code": code}), response, operation)
    if response.status_code != 200:
        raise PermanentError(
            f"unexpected HTTP {response.status_code}",
            marketplace=MARKETPLACE,
            operation=operation,
            http_status=response.status_code,
            request_id=request_id,
        )
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResponseShapeError(
            "reply is not JSON", field="<body>", marketplace=MARKETPLACE, operation=operation, request_id=request_id
        ) from exc
    envelope = parse_payload(Envelope, body, marketplace=MARKETPLACE, operation=operation, request_id=request_id)
    if envelope.error:
        raise error_for(envelope, response, operation)
    return Reply(envelope.data, envelope.request_id or request_id)


def _lenient_envelope(response: httpx.Response) -> Envelope:
    """Whatever envelope a 5xx/429 reply carries; an empty one when it carries none."""
    try:
        return Envelope.model_validate(response.json())
    except ValueError:
        return Envelope(error=True)


class VosoClient:
    """One seller's session with the Voso partner API: logs in lazily and sends single-shot calls."""

    def __init__(self, http: httpx.AsyncClient, *, username: str, password: str) -> None:
        self._http = http
        self._username = username
        self._password = password
        self._token: str | None = None
        self.expires_at: datetime | None = None

    @property
    def has_token(self) -> bool:
        """True when a token is held (it may still have expired on the server)."""
        return self._token is not None

    async def login(self) -> datetime:
        """Log in with username and password; returns when the new token expires."""
        request = self._http.build_request(
            "POST", LOGIN_PATH, json={"username": self._username, "password": self._password}
        )
        response = await send(self._http, request, marketplace=MARKETPLACE, operation="login", is_write=False)
        reply = check(response, "login")
        login = parse_payload(
            VosoLogin, reply.data, marketplace=MARKETPLACE, operation="login", request_id=reply.request_id
        )
        self._token = login.token
        self.expires_at = datetime.now(UTC) + timedelta(seconds=login.expires_in)
        return self.expires_at

    async def _login_token(self) -> str:
        await self.login()
        return self._token or ""

    def export(self) -> dict[str, str]:
        """The held token and its expiry, for encrypted storage."""
        if self._token is None or self.expires_at is None:
            return {}
        return {"token": self._token, "expires_at": self.expires_at.isoformat()}

    def restore(self, tokens: dict[str, str]) -> None:
        """Resume with a token exported earlier."""
        if tokens.get("token"):
            self._token = tokens["token"]
            expires = tokens.get("expires_at")
            self.expires_at = datetime.fromisoformat(expires) if expires else None

    async def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        is_write: bool,
        params: dict[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Reply:
        """Send one authenticated call (logging in first when no token is held) and check its reply."""
        token = self._token if self._token is not None else await self._login_token()
        request = self._http.build_request(method, path, params=params, json=body, headers={TOKEN_HEADER: token})
        response = await send(self._http, request, marketplace=MARKETPLACE, operation=operation, is_write=is_write)
        return check(response, operation)
