"""Who is calling: principals resolved from a bearer token or the sign-in cookie, as FastAPI dependencies.

API dependencies answer failures with JSON (401/403); page dependencies raise `PageError`, which
the app answers with an HTML page (a sign-in form for 401).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from connector.clock import aware
from connector.context import AppContext
from connector.reports.i18n import Lang, parse_lang
from connector.web.auth import Principal, authenticate

COOKIE_NAME = "ocop_sync_token"
bearer = HTTPBearer(auto_error=False, description="An operator or producer token from `ocop-sync token create`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


class PageError(Exception):
    """An authentication or authorization failure on a page, answered with an HTML page."""

    def __init__(self, status: int, next_url: str = "/") -> None:
        super().__init__(status)
        self.status = status
        self.next_url = next_url


def utc_or_422(moment: datetime | None) -> datetime | None:
    """`moment` as aware UTC, or HTTP 422 when it cannot be represented."""
    try:
        return aware(moment)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(422, "since is out of range") from exc


def _token_of(request: Request, credentials: HTTPAuthorizationCredentials | None, *, allow_cookie: bool) -> str:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    if allow_cookie:
        return request.cookies.get(COOKIE_NAME, "")
    return ""


class Access:
    """Principal resolution over one application context, with the dependencies routes declare."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def session(self) -> Session:
        """A read session on the store (objects stay usable after commit)."""
        return Session(self.ctx.engine, expire_on_commit=False)

    def default_lang(self, lang: str | None) -> Lang:
        """`lang`, or the configured report language."""
        return parse_lang(lang or self.ctx.settings.reports.lang)

    def resolve(self, token: str) -> Principal | None:
        """The principal of a token, or None when unknown or revoked."""
        with self.session() as s:
            return authenticate(s, token)

    def api_principal(self, request: Request, credentials: Credentials) -> Principal:
        """Any authenticated caller (the cookie counts only on GET), else 401."""
        token = _token_of(request, credentials, allow_cookie=request.method == "GET")
        principal = self.resolve(token) if token else None
        if principal is None:
            raise HTTPException(401, "missing, unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return principal

    def api_operator(self, request: Request, credentials: Credentials) -> Principal:
        """An operator, else 401/403."""
        principal = self.api_principal(request, credentials)
        if not principal.is_operator:
            raise HTTPException(403, "operator token required")
        return principal

    def page_principal(self, request: Request, credentials: Credentials) -> Principal:
        """Any authenticated reader of a page, else a 401 page offering the sign-in form."""
        token = _token_of(request, credentials, allow_cookie=True)
        principal = self.resolve(token) if token else None
        if principal is None:
            raise PageError(401, request.url.path)
        return principal

    def page_operator(self, request: Request, credentials: Credentials) -> Principal:
        """An operator reading a page, else a 401/403 page."""
        principal = self.page_principal(request, credentials)
        if not principal.is_operator:
            raise PageError(403)
        return principal
