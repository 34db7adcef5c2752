"""The web app factory: the JSON API and HTML pages behind one authentication layer and protective headers.

Authentication: `Authorization: Bearer <token>` on every request. Pages (and GET API calls) also
accept the `ocop_sync_token` cookie, which `POST /login` sets (HttpOnly, SameSite=Strict) from a
token pasted into the login form, so a browser never carries the token in a URL. `POST` API
calls need the header (the cookie alone is refused, which rules out cross-site request forgery).
Authorization is per route: see `connector.web.api` and `connector.web.pages`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from connector.context import AppContext
from connector.reports.i18n import Translator
from connector.reports.render_html import render_page
from connector.web.access import Access, PageError
from connector.web.api import ResyncHook, api_router
from connector.web.pages import pages_router

API_VERSION = "1"
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
        redirect_slashes=False,  # its redirect would be built from the Host header
    )
    access = Access(ctx)
    tz = ctx.settings.scheduler.timezone

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], object]) -> Response:
        response = await call_next(request)  # type: ignore[misc]
        assert isinstance(response, Response)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", _HTML_CSP)
        return response

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> HTMLResponse:
        lang = access.default_lang(None)
        t = Translator(lang)
        key = {401: "error.unauthorized", 403: "error.forbidden"}.get(exc.status, "error.not_found")
        login = {"action": "/login", "next": exc.next_url} if exc.status == 401 else None
        html = render_page("message.html", lang=lang, tz=tz, title=t(key), message="", login=login)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return HTMLResponse(html, status_code=exc.status, headers=headers)

    app.include_router(api_router(ctx, access, resync))
    app.include_router(pages_router(ctx, access))
    for router in extra_routers:
        app.include_router(router)
    return app
