"""Who is calling: the identity the gate (`connector.web.guard`) found, as FastAPI dependencies.

API dependencies answer failures with JSON (401/403); page dependencies raise `PageError`, which
the app answers with an HTML page (a sign-in form for 401, a way to one's own page for 403).
API writes need the `Authorization: Bearer` header: a session cookie alone is refused, so another
site cannot make a signed-in browser trigger a resync.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from sqlmodel import Session

from connector.clock import aware
from connector.context import AppContext
from connector.reports.i18n import Lang, parse_lang
from connector.store import session_scope
from connector.web.auth import Principal, authenticate
from connector.web.guard import FailureLimiter, Identity
from connector.web.sessions import SESSION_COOKIE, csrf_for_session, session_principal

CSRF_COOKIE = "ocop_sync_csrf"


class PageError(Exception):
    """An authentication or authorization failure on a page, answered with an HTML page."""

    def __init__(self, status: int, next_url: str = "/", principal: Principal | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.next_url = next_url
        self.principal = principal


def utc_or_422(moment: datetime | None) -> datetime | None:
    """`moment` as aware UTC, or HTTP 422 when it cannot be represented."""
    try:
        return aware(moment)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(422, "since is out of range") from exc


def identity_of(request: Request) -> Identity:
    """The identity the gate attached to this request (anonymous if none)."""
    identity = getattr(request.state, "identity", None)
    return identity if isinstance(identity, Identity) else Identity()


def same_origin(request: Request) -> bool:
    """False when the browser says the form was sent from another site (Origin, else Referer)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True  # not a browser form post (a browser sends Origin on every POST); the form token decides
    host = request.headers.get("host", "")
    return bool(host) and urlsplit(source).netloc.lower() == host.lower()


def tokens_match(presented: str, expected: str) -> bool:
    """Constant-time comparison of a form token with the expected one (both non-empty)."""
    return bool(presented) and bool(expected) and hmac.compare_digest(presented, expected)


class Access:
    """Principal resolution over one application context, with the dependencies routes declare."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        web = ctx.settings.web
        self.limiter = FailureLimiter(web.auth_failure_limit, web.auth_failure_window_s)

    def session(self) -> Session:
        """A read session on the store (objects stay usable after commit)."""
        return Session(self.ctx.engine, expire_on_commit=False)

    def default_lang(self, lang: str | None) -> Lang:
        """`lang`, or the configured report language."""
        return parse_lang(lang or self.ctx.settings.reports.lang)

    def resolve(self, token: str) -> Principal | None:
        """The principal of an API token, or None when unknown or revoked."""
        with self.session() as s:
            return authenticate(s, token)

    def identify(self, bearer: str, session_id: str) -> Identity:
        """The caller presenting a bearer token (first) or a session id; anonymous when neither is valid."""
        if bearer:
            return Identity(self.resolve(bearer), "bearer")
        with session_scope(self.ctx.engine) as s:
            return Identity(session_principal(s, session_id, now=self.ctx.clock()), "session")

    # ---------------------------------------------------------------- CSRF

    @staticmethod
    def login_csrf(request: Request) -> tuple[str, bool]:
        """The sign-in form token (the double-submit cookie's value) and whether the cookie must be set."""
        current = request.cookies.get(CSRF_COOKIE, "")
        if 20 <= len(current) <= 64 and current.isascii():
            return current, False
        return secrets.token_urlsafe(24), True

    @staticmethod
    def logout_csrf(request: Request) -> str:
        """The sign-out form token of the current session ("" without one)."""
        from_cookie = request.cookies.get(SESSION_COOKIE, "")
        return csrf_for_session(from_cookie) if from_cookie else ""

    # ---------------------------------------------------------------- dependencies

    def api_principal(self, request: Request) -> Principal:
        """Any authenticated caller (a session cookie counts only on reads), else 401."""
        identity = identity_of(request)
        if identity.principal is None or (request.method not in ("GET", "HEAD") and identity.via != "bearer"):
            raise HTTPException(401, "missing, unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return identity.principal

    def api_operator(self, request: Request) -> Principal:
        """An operator, else 401/403."""
        principal = self.api_principal(request)
        if not principal.is_operator:
            raise HTTPException(403, "operator token required")
        return principal

    def page_principal(self, request: Request) -> Principal:
        """Any authenticated reader of a page, else a 401 page offering the sign-in form."""
        principal = identity_of(request).principal
        if principal is None:
            raise PageError(401, request.url.path)
        return principal

    def page_operator(self, request: Request) -> Principal:
        """An operator reading a page, else a 401 page, or a 403 page pointing a producer to their own."""
        principal = self.page_principal(request)
        if not principal.is_operator:
            raise PageError(403, principal=principal)
        return principal
