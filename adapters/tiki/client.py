"""Tiki HTTP client: OAuth2 client-credentials tokens, Bearer calls, and the error table.

Tiki answers with real HTTP statuses and `{"errors": [...]}` bodies. `TikiClient.call`
sends exactly one request (fetching a token first only when it holds none) and turns every
non-2xx answer into the typed errors of `adapters.errors`:

| HTTP                         | error                                   |
|------------------------------|-----------------------------------------|
| 401 on an API call           | AuthExpired (refresh once, retry once)  |
| 400/401 on the token endpoint| AuthFailed                              |
| 403                          | AuthFailed (scope or inactive seller)   |
| 404                          | NotFound                                |
| 429                          | RateLimited(retry_after or 1 s)         |
| 500/502/504 on a write       | AmbiguousWrite (the write may have run) |
| other 5xx                    | TransientError(retry_after)             |
| other 4xx                    | Rejected(field, reason)                 |
| timeout / reset              | TransientError, AmbiguousWrite on writes|
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel

from adapters.base import TokenInfo, parse_payload
from adapters.errors import (
    AmbiguousWrite,
    AuthExpired,
    AuthFailed,
    NotFound,
    RateLimited,
    Rejected,
    ResponseShapeError,
    TransientError,
)
from adapters.http import parse_retry_after, send
from adapters.tiki.mapping import error_messages, guess_field
from adapters.tiki.replies import ErrorBody, TokenResponse

MARKETPLACE = "tiki"
TOKEN_PATH = "/sc/oauth2/token"
AUTHORIZE_PATH = "/sc/oauth2/auth"
REQUEST_ID_HEADERS = ("x-request-id", "x-tiki-request-id", "x-correlation-id")
DEFAULT_RETRY_AFTER_S = 1.0
EXPIRY_MARGIN = timedelta(seconds=30)

Model = TypeVar("Model", bound=BaseModel)


def request_id_of(response: httpx.Response) -> str:
    """The request id Tiki (or our sandbox) put on a response, if any."""
    return next((response.headers[h] for h in REQUEST_ID_HEADERS if h in response.headers), "")


def _error_text(response: httpx.Response) -> tuple[str, str]:
    """The first error message of a Tiki error body and the field it names."""
    try:
        body = ErrorBody.model_validate(response.json())
    except ValueError:
        snippet = response.text[:200].strip()
        return snippet or response.reason_phrase or f"HTTP {response.status_code}", ""
    messages = error_messages(body)
    first = messages[0] if messages else f"HTTP {response.status_code}"
    return "; ".join(messages) or first, guess_field(first)


def raise_for_status(response: httpx.Response, *, operation: str, is_write: bool, token_call: bool = False) -> None:
    """Raise the typed error for a non-2xx Tiki answer; return quietly on success."""
    status = response.status_code
    if status < 400:
        return
    common: dict[str, Any] = {
        "marketplace": MARKETPLACE,
        "operation": operation,
        "code": str(status),
        "request_id": request_id_of(response),
        "http_status": status,
    }
    message, field = _error_text(response)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if token_call and status in (400, 401, 403):
        raise AuthFailed(f"client authentication failed: {message}", **common)
    if status == 401:
        raise AuthExpired(f"access token rejected: {message}", **common)
    if status == 403:
        raise AuthFailed(f"forbidden: {message}", **common)
    if status == 429:
        raise RateLimited(message, retry_after=retry_after or DEFAULT_RETRY_AFTER_S, **common)
    if status >= 500:
        error_type = AmbiguousWrite if is_write and status in (500, 502, 504) else TransientError
        raise error_type(message, retry_after=retry_after, **common)
    if status == 404:
        raise NotFound(message, **common)
    raise Rejected(message, field=field, reason=message, **common)


class TikiClient:
    """One seller's authenticated connection to the Tiki Open API."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        client_auth: str = "basic",
        scope: str = "",
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if client_auth not in ("basic", "post"):
            raise ValueError(f"client_auth must be 'basic' or 'post', not {client_auth!r}")
        self.http = http
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.client_auth = client_auth
        self.scope = scope
        self._now = now or (lambda: datetime.now(UTC))
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._refresh_token = ""  # held only after an authorization-code connect (partner apps)

    # -- tokens ---------------------------------------------------------------------------------

    def token_info(self) -> TokenInfo:
        """The access token's expiry as we computed it (the refresh token's expiry is not published)."""
        return TokenInfo(access_expires_at=self._expires_at)

    def export_tokens(self) -> dict[str, str]:
        """The current access (and refresh) token and expiry, for encrypted storage by the engine."""
        if self._token is None:
            return {}
        out = {"access_token": self._token}
        if self._expires_at is not None:
            out["access_expires_at"] = self._expires_at.isoformat()
        if self._refresh_token:
            out["refresh_token"] = self._refresh_token
        return out

    def import_tokens(self, tokens: Mapping[str, str]) -> None:
        """Resume with tokens stored earlier by `export_tokens`."""
        self._refresh_token = tokens.get("refresh_token") or self._refresh_token
        token = tokens.get("access_token")
        if not token:
            return
        self._token = token
        expires = tokens.get("access_expires_at")
        self._expires_at = datetime.fromisoformat(expires) if expires else None

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        """Tiki's authorisation page for a partner app (authorization-code grant with PKCE S256)."""
        query = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": redirect_uri,
            "scope": self.scope or "offline product order inventory",
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return self.base_url + AUTHORIZE_PATH + "?" + urlencode(query)

    async def fetch_token(self) -> TokenInfo:
        """Renew the access token: the refresh_token grant when one is held, else client_credentials."""
        if self._refresh_token:
            return await self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        return await self._grant(form)

    async def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> TokenInfo:
        """The authorization-code grant: the seller's code (and our PKCE verifier) for tokens."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        return await self._grant(form)

    async def _grant(self, form: dict[str, str]) -> TokenInfo:
        headers = {"Accept": "application/json"}
        if self.client_auth == "basic":
            raw = f"{self._client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        else:
            form = form | {"client_id": self._client_id, "client_secret": self._client_secret}
        request = self.http.build_request("POST", self.base_url + TOKEN_PATH, data=form, headers=headers)
        response = await send(self.http, request, marketplace=MARKETPLACE, operation="token", is_write=False)
        raise_for_status(response, operation="token", is_write=False, token_call=True)
        body = self._parse(TokenResponse, response, "token")
        self._token = body.access_token
        self._expires_at = self._now() + timedelta(seconds=body.expires_in)
        if body.refresh_token:
            self._refresh_token = body.refresh_token
        return self.token_info()

    def _token_usable(self) -> bool:
        if self._token is None:
            return False
        return self._expires_at is None or self._now() < self._expires_at - EXPIRY_MARGIN

    # -- calls ----------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        is_write: bool,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one authenticated request and return the 2xx response, or raise a typed error."""
        if not self._token_usable():
            await self.fetch_token()
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        request = self.http.build_request(
            method, self.base_url + path, params=dict(params or {}), json=json, headers=headers
        )
        response = await send(self.http, request, marketplace=MARKETPLACE, operation=operation, is_write=is_write)
        raise_for_status(response, operation=operation, is_write=is_write)
        return response

    async def call_model(
        self,
        model: type[Model],
        method: str,
        path: str,
        *,
        operation: str,
        is_write: bool,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> tuple[Model, str]:
        """Like `call`, then parse the body into `model`; returns it with the request id."""
        response = await self.call(method, path, operation=operation, is_write=is_write, params=params, json=json)
        return self._parse(model, response, operation), request_id_of(response)

    def _parse(self, model: type[Model], response: httpx.Response, operation: str) -> Model:
        request_id = request_id_of(response)
        try:
            data = response.json()
        except ValueError as exc:
            raise ResponseShapeError(
                "response body is not JSON",
                field="<root>",
                marketplace=MARKETPLACE,
                operation=operation,
                request_id=request_id,
            ) from exc
        return parse_payload(model, data, marketplace=MARKETPLACE, operation=operation, request_id=request_id)


__all__ = ["MARKETPLACE", "TikiClient", "raise_for_status", "request_id_of"]
