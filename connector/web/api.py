"""The HTTP API and server-rendered pages: reports with per-producer access, and the resync trigger.

Authentication: `Authorization: Bearer <token>` on every request. Pages (and GET API calls) also
accept the `ocop_sync_token` cookie, which `POST /login` sets (HttpOnly, SameSite=Strict) from a
token pasted into the login form, so a browser never carries the token in a URL. `POST` API
calls need the header (the cookie alone is refused, which rules out cross-site request forgery).

Authorization (OWASP API1, object-level): no or unknown/revoked token → 401; a producer token on
an operator endpoint or page (`/api/drift`, `/api/runs`, `/api/shops`, `/api/resync`, `/`,
`/drift`) → 403; a producer token asking for another producer → 404, exactly as for a producer
that does not exist, so ids do not leak. Report queries are scoped by the id the principal may see.
"""

import inspect
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select

from connector.clock import aware
from connector.context import AppContext
from connector.reports import queries as reports
from connector.reports.i18n import Lang, Translator, parse_lang
from connector.reports.render import PageLinks, dashboard_html, drift_html, producer_html, render_page
from connector.store import session_scope
from connector.store.models import ResyncRequestRow, ShopRow
from connector.web.auth import Principal, authenticate
from schemas.report import DriftReport, ProducerReport, ResyncAccepted, ResyncRequest, RunsReport, ShopsReport

COOKIE_NAME = "ocop_sync_token"
API_VERSION = "1"
ResyncHook = Callable[[int], object]
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_bearer = HTTPBearer(auto_error=False, description="An operator or producer token from `ocop-sync token create`.")
LangQuery = Annotated[Literal["vi", "en"] | None, Query(description="report language (default: settings)")]
ShopQuery = Annotated[str | None, Query(max_length=64, description="only this shop")]


class _PageError(Exception):
    """An authentication or authorization failure on a page, answered with an HTML page."""

    def __init__(self, status: int, next_url: str = "/") -> None:
        super().__init__(status)
        self.status = status
        self.next_url = next_url


def _token_of(request: Request, credentials: HTTPAuthorizationCredentials | None, *, allow_cookie: bool) -> str:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    if allow_cookie:
        return request.cookies.get(COOKIE_NAME, "")
    return ""


def _utc_or_422(moment: datetime | None) -> datetime | None:
    """`moment` as aware UTC, or HTTP 422 when it cannot be represented."""
    try:
        return aware(moment)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(422, "since is out of range") from exc


def build_api(ctx: AppContext, *, extra_routers: Sequence[APIRouter] = (), resync: ResyncHook | None = None) -> FastAPI:
    """The FastAPI app serving the report API and pages over `ctx`'s store.

    `extra_routers` are included as they are (the daemon adds health and metrics). `resync`, when
    given, is called with the id of each recorded resync request after it is committed (it may
    return an awaitable) so a running daemon can start it at once instead of at its next poll.
    """
    app = FastAPI(
        title="ocop-sync",
        version=API_VERSION,
        description="Drift and producer listing-status reports, run history, shops and the resync trigger.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    settings = ctx.settings
    tz = settings.scheduler.timezone

    def default_lang(lang: str | None) -> Lang:
        return parse_lang(lang or settings.reports.lang)

    def session() -> Session:
        return Session(ctx.engine, expire_on_commit=False)

    def resolve(token: str) -> Principal | None:
        with session() as s:
            return authenticate(s, token)

    def api_principal(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        token = _token_of(request, credentials, allow_cookie=request.method == "GET")
        principal = resolve(token) if token else None
        if principal is None:
            raise HTTPException(401, "missing, unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return principal

    def api_operator(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
        if not principal.is_operator:
            raise HTTPException(403, "operator token required")
        return principal

    def page_principal(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        token = _token_of(request, credentials, allow_cookie=True)
        principal = resolve(token) if token else None
        if principal is None:
            raise _PageError(401, request.url.path)
        return principal

    def page_operator(principal: Annotated[Principal, Depends(page_principal)]) -> Principal:
        if not principal.is_operator:
            raise _PageError(403)
        return principal

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], object]) -> Response:
        response = await call_next(request)  # type: ignore[misc]
        assert isinstance(response, Response)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", _HTML_CSP)
        return response

    @app.exception_handler(_PageError)
    async def page_error(request: Request, exc: _PageError) -> HTMLResponse:
        lang = default_lang(None)
        t = Translator(lang)
        key = {401: "error.unauthorized", 403: "error.forbidden"}.get(exc.status, "error.not_found")
        login = {"action": "/login", "next": exc.next_url} if exc.status == 401 else None
        html = render_page("message.html", lang=lang, tz=tz, title=t(key), message="", login=login)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return HTMLResponse(html, status_code=exc.status, headers=headers)

    # ------------------------------------------------------------------ API

    @app.get("/api/drift", response_model=DriftReport, tags=["operator"])
    def api_drift(
        _: Annotated[Principal, Depends(api_operator)],
        shop: ShopQuery = None,
        since: Annotated[datetime | None, Query(description="resolved drift since (default: 7 days ago)")] = None,
    ) -> DriftReport:
        """Open drift by kind, shop and producer; drift resolved since `since`; dead actions; silent failures."""
        since_utc = _utc_or_422(since)
        with session() as s:
            return reports.drift_report(s, settings, now=ctx.clock(), shop_id=shop, since=since_utc)

    @app.get("/api/runs", response_model=RunsReport, tags=["operator"])
    def api_runs(
        _: Annotated[Principal, Depends(api_operator)],
        shop: ShopQuery = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> RunsReport:
        """The latest sync runs, newest first."""
        with session() as s:
            return reports.run_history(s, now=ctx.clock(), shop_id=shop, limit=limit)

    @app.get("/api/shops", response_model=ShopsReport, tags=["operator"])
    def api_shops(_: Annotated[Principal, Depends(api_operator)]) -> ShopsReport:
        """Every shop with its last success, last error, token expiry, open drift and outbox counts."""
        with session() as s:
            return reports.shops_report(s, settings, now=ctx.clock())

    @app.post("/api/resync", response_model=ResyncAccepted, status_code=202, tags=["operator"])
    async def api_resync(
        principal: Annotated[Principal, Depends(api_operator)], body: ResyncRequest | None = None
    ) -> ResyncAccepted:
        """Ask the daemon for a resync of one shop (or all); it is picked up within seconds."""
        body = body or ResyncRequest()
        now = ctx.clock()
        with session_scope(ctx.engine) as s:
            known = {shop.id for shop in settings.shops} | set(s.exec(select(ShopRow.id)).all())
            if body.shop_id is not None and body.shop_id not in known:
                raise HTTPException(404, "unknown shop")
            row = ResyncRequestRow(
                shop_id=body.shop_id, kind=body.kind, requested_by=f"api-token:{principal.token_id}", requested_at=now
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            request_id = row.id
        if resync is not None:
            result = resync(request_id)
            if inspect.isawaitable(result):
                await result
        return ResyncAccepted(request_id=request_id, shop_id=body.shop_id, kind=body.kind, requested_at=now)

    @app.get("/api/producers/{producer_id}/listings", response_model=ProducerReport, tags=["producer"])
    def api_producer_listings(
        producer_id: str, principal: Annotated[Principal, Depends(api_principal)], lang: LangQuery = None
    ) -> ProducerReport:
        """The producer's listing status on every shop; a producer token sees only its own producer."""
        if not principal.may_see_producer(producer_id):
            raise HTTPException(404, "not found")
        with session() as s:
            try:
                return reports.producer_report(s, settings, producer_id, now=ctx.clock(), lang=default_lang(lang))
            except reports.UnknownProducerError:
                raise HTTPException(404, "not found") from None

    # ------------------------------------------------------------------ pages

    def links(request: Request, lang: Lang) -> PageLinks:
        other = "en" if lang == "vi" else "vi"
        query = dict(request.query_params) | {"lang": other}
        return PageLinks(lang_url=f"{request.url.path}?{urlencode(query)}", logout="/logout")

    @app.get("/", response_class=HTMLResponse, tags=["pages"])
    def page_dashboard(
        request: Request, _: Annotated[Principal, Depends(page_operator)], lang: LangQuery = None
    ) -> HTMLResponse:
        """Operator dashboard: shops, recent runs, open drift by kind, drift over time."""
        language = default_lang(lang)
        now = ctx.clock()
        with session() as s:
            html = dashboard_html(
                reports.shops_report(s, settings, now=now),
                reports.drift_report(s, settings, now=now),
                reports.run_history(s, now=now, limit=20),
                reports.drift_timeline(s, settings, now=now),
                lang=language,
                page=links(request, language),
                tz=tz,
            )
        return HTMLResponse(html)

    @app.get("/drift", response_class=HTMLResponse, tags=["pages"])
    def page_drift(
        request: Request,
        _: Annotated[Principal, Depends(page_operator)],
        lang: LangQuery = None,
        shop: ShopQuery = None,
    ) -> HTMLResponse:
        """The drift report as a page."""
        language = default_lang(lang)
        with session() as s:
            report = reports.drift_report(s, settings, now=ctx.clock(), shop_id=shop)
        return HTMLResponse(drift_html(report, language, tz=tz, page=links(request, language)))

    @app.get("/producers/{producer_id}", response_class=HTMLResponse, tags=["pages"])
    def page_producer(
        request: Request,
        producer_id: str,
        principal: Annotated[Principal, Depends(page_principal)],
        lang: LangQuery = None,
    ) -> HTMLResponse:
        """The producer's listing-status report as a page."""
        if not principal.may_see_producer(producer_id):
            raise _PageError(404)
        language = default_lang(lang)
        with session() as s:
            try:
                report = reports.producer_report(s, settings, producer_id, now=ctx.clock(), lang=language)
            except reports.UnknownProducerError:
                raise _PageError(404) from None
        return HTMLResponse(producer_html(report, tz=tz, page=links(request, language)))

    @app.get("/login", response_class=HTMLResponse, tags=["pages"])
    def page_login(next: Annotated[str, Query(max_length=512)] = "/") -> HTMLResponse:
        """The sign-in form: paste a token, get an HttpOnly cookie."""
        t = Translator(default_lang(None))
        login = {"action": "/login", "next": _safe_next(next)}
        return HTMLResponse(
            render_page("message.html", lang=t.lang, tz=tz, title=t("title.login"), message="", login=login)
        )

    @app.post("/login", response_class=HTMLResponse, tags=["pages"], response_model=None)
    def page_login_submit(
        request: Request,
        token: Annotated[str, Form(max_length=512)],
        next: Annotated[str, Form(max_length=512)] = "/",
    ) -> Response:
        """Check the pasted token; on success set the cookie and go to `next`."""
        principal = resolve(token.strip())
        t = Translator(default_lang(None))
        if principal is None:
            login = {"action": "/login", "next": _safe_next(next)}
            html = render_page(
                "message.html", lang=t.lang, tz=tz, title=t("title.login"), message=t("login.invalid"), login=login
            )
            return HTMLResponse(html, status_code=401)
        target = _safe_next(next)
        if target == "/" and not principal.is_operator and principal.producer_id:
            target = PageLinks().producer_url(principal.producer_id)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            token.strip(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @app.post("/logout", tags=["pages"], status_code=303, response_class=RedirectResponse)
    def page_logout() -> RedirectResponse:
        """Forget the cookie."""
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    for router in extra_routers:
        app.include_router(router)
    return app


def _safe_next(target: str) -> str:
    """A same-site path to go to after sign-in (never another site)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target
