"""The web app factory: the JSON API and HTML pages behind one authentication layer and protective headers.

Authentication happens in `connector.web.guard` before any body is read: `Authorization: Bearer
<token>`, or for pages (and GET API calls) the session cookie that signing in at `/login` starts
(a random id stored hashed, never the token; see `connector.web.sessions`). `POST` API calls need
the header. Authorization is per route: see `connector.web.api` and `connector.web.pages`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from connector.context import AppContext
from connector.web.access import Access, PageError, identity_of
from connector.web.api import ResyncHook, api_router
from connector.web.guard import Guard
from connector.web.oauth import oauth_router
from connector.web.pages import message_page, pages_router, sign_in_page

API_VERSION = "1"
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make Chromium send `Origin: null` on our own forms
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
        if exc.status == 401:
            return sign_in_page(access, request, status=401, next_url=exc.next_url)
        return message_page(access, request, exc.status, identity_of(request).principal)

    app.add_middleware(
        Guard, identify=access.identify, limiter=access.limiter, max_body_bytes=ctx.settings.web.max_body_bytes
    )
    app.include_router(api_router(ctx, access, resync))
    app.include_router(pages_router(ctx, access))
    app.include_router(oauth_router(ctx, access, resync))
    for router in extra_routers:
        app.include_router(router)
    return app
