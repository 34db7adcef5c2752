"""Server-rendered HTML pages: the operator dashboard and drift page, a producer's page, sign-in and out.

Pages accept the sign-in cookie; a producer asking for another producer's page gets 404, as for
one that does not exist.
"""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connector.context import AppContext
from connector.reports import queries as reports
from connector.reports.formatting import PageLinks
from connector.reports.i18n import Lang, Translator
from connector.reports.render_html import DriftPaging, dashboard_html, drift_html, producer_html, render_page
from connector.store import session_scope
from connector.web.access import CSRF_COOKIE, Access, PageError, identity_of, same_origin, tokens_match
from connector.web.api import LangQuery, ShopQuery
from connector.web.auth import Principal
from connector.web.guard import client_of, log_auth_failure
from connector.web.sessions import SESSION_COOKIE, end_session, start_session

DRIFT_PAGE_SIZE = 50


def safe_next(target: str) -> str:
    """A same-site path to go to after sign-in (never another site)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def page_links(request: Request, lang: Lang) -> PageLinks:
    """The navigation of a served page: the other language, and sign-out with its form token."""
    other = "en" if lang == "vi" else "vi"
    query = dict(request.query_params) | {"lang": other}
    csrf = Access.logout_csrf(request)
    principal = identity_of(request).principal
    home = "/"
    if principal is not None and not principal.is_operator and principal.producer_id:
        home = PageLinks().producer_url(principal.producer_id)
    return PageLinks(
        lang_url=f"{request.url.path}?{urlencode(query)}",
        logout="/logout" if csrf else "",
        logout_csrf=csrf,
        home=home,
    )


def set_private_cookie(response: Response, name: str, value: str, *, max_age: int | None, https: bool) -> None:
    """A cookie scripts cannot read, never sent by another site's request, Secure behind https."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=https, path="/")


def sign_in_page(
    access: Access, request: Request, *, status: int = 200, message: str = "", next_url: str = "/"
) -> HTMLResponse:
    """The sign-in form with its form token (and, when new, the cookie it is checked against)."""
    t = Translator(access.default_lang(request.query_params.get("lang")))
    csrf, fresh = access.login_csrf(request)
    login = {"action": "/login", "next": safe_next(next_url), "csrf": csrf}
    html = render_page(
        "message.html",
        lang=t.lang,
        tz=access.ctx.settings.scheduler.timezone,
        title=t("title.login"),
        message=message,
        login=login,
        page=page_links(request, t.lang),
    )
    response = HTMLResponse(html, status_code=status, headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)
    if fresh:
        set_private_cookie(response, CSRF_COOKIE, csrf, max_age=None, https=access.ctx.settings.web.https)
    return response


def message_page(access: Access, request: Request, status: int, principal: Principal | None) -> HTMLResponse:
    """A 403 or 404 page; a producer refused an operator page is pointed to their own page."""
    t = Translator(access.default_lang(request.query_params.get("lang")))
    key = "error.forbidden" if status == 403 else "error.not_found"
    own = None
    if principal is not None and principal.producer_id:
        own = PageLinks().producer_url(principal.producer_id)
    elif principal is not None and principal.is_operator:
        own = "/"
    html = render_page(
        "message.html",
        lang=t.lang,
        tz=access.ctx.settings.scheduler.timezone,
        title=t(key),
        message=t("error.forbidden_producer") if status == 403 and own else "",
        own_url=own,
        page=page_links(request, t.lang),
    )
    return HTMLResponse(html, status_code=status)


def pages_router(ctx: AppContext, access: Access) -> APIRouter:
    """The HTML pages over `ctx`'s store."""
    router = APIRouter()
    settings = ctx.settings
    tz = settings.scheduler.timezone
    Operator = Annotated[Principal, Depends(access.page_operator)]
    Reader = Annotated[Principal, Depends(access.page_principal)]

    @router.get("/", response_class=HTMLResponse, tags=["pages"])
    def page_dashboard(request: Request, _: Operator, lang: LangQuery = None) -> HTMLResponse:
        """Operator dashboard: shops, recent runs, open drift by kind, drift over time."""
        language = access.default_lang(lang)
        now = ctx.clock()
        with access.session() as s:
            html = dashboard_html(
                reports.shops_report(s, settings, now=now),
                reports.drift_report(s, settings, now=now),
                reports.run_history(s, now=now, limit=20),
                reports.drift_timeline(s, settings, now=now),
                lang=language,
                page=page_links(request, language),
                tz=tz,
            )
        return HTMLResponse(html)

    @router.get("/drift", response_class=HTMLResponse, tags=["pages"])
    def page_drift(
        request: Request,
        _: Operator,
        lang: LangQuery = None,
        shop: ShopQuery = None,
        kind: Annotated[str | None, Query(max_length=32, description="only this drift kind")] = None,
        page: Annotated[int, Query(ge=1, le=100_000, description="page of open drift")] = 1,
    ) -> HTMLResponse:
        """The drift report as a page: open drift first, paged and filtered; resolved drift by day and kind."""
        language = access.default_lang(lang)
        with access.session() as s:
            report = reports.drift_report(s, settings, now=ctx.clock(), shop_id=shop or None)
        paging = DriftPaging(
            page=page,
            per_page=DRIFT_PAGE_SIZE,
            kind=kind or "",
            shop=shop or "",
            lang=lang or "",
            shops=tuple(sorted(x.id for x in settings.shops)),
        )
        html = drift_html(report, language, tz=tz, page=page_links(request, language), paging=paging)
        return HTMLResponse(html)

    @router.get("/producers/{producer_id}", response_class=HTMLResponse, tags=["pages"])
    def page_producer(request: Request, producer_id: str, principal: Reader, lang: LangQuery = None) -> HTMLResponse:
        """The producer's listing-status report as a page."""
        if not principal.may_see_producer(producer_id):
            raise PageError(404)
        language = access.default_lang(lang)
        with access.session() as s:
            try:
                report = reports.producer_report(s, settings, producer_id, now=ctx.clock(), lang=language)
            except reports.UnknownProducerError:
                raise PageError(404) from None
        return HTMLResponse(producer_html(report, tz=tz, page=page_links(request, language)))

    @router.get("/login", response_class=HTMLResponse, tags=["pages"])
    def page_login(request: Request, next: Annotated[str, Query(max_length=512)] = "/") -> HTMLResponse:
        """The sign-in form: paste a token, get a session cookie."""
        return sign_in_page(access, request, next_url=next)

    @router.post("/login", response_class=HTMLResponse, tags=["pages"], response_model=None)
    def page_login_submit(
        request: Request,
        token: Annotated[str, Form(max_length=512)],
        next: Annotated[str, Form(max_length=512)] = "/",
        csrf: Annotated[str, Form(max_length=128)] = "",
    ) -> Response:
        """Check the pasted token (from this site's form only); on success start a session and go to `next`."""
        t = Translator(access.default_lang(None))
        if not same_origin(request) or not tokens_match(csrf, request.cookies.get(CSRF_COOKIE, "")):
            return sign_in_page(access, request, status=403, message=t("login.csrf"), next_url=next)
        principal = access.resolve(token.strip())
        if principal is None:
            log_auth_failure(access.limiter, client_of(request.scope), "POST", "/login", "invalid token at sign-in")
            return sign_in_page(access, request, status=401, message=t("login.invalid"), next_url=next)
        target = safe_next(next)
        if target == "/" and not principal.is_operator and principal.producer_id:
            target = PageLinks().producer_url(principal.producer_id)
        with session_scope(ctx.engine) as s:
            session_id = start_session(s, principal.token_id, now=ctx.clock(), ttl_s=settings.web.session_ttl_s)
        response = RedirectResponse(target, status_code=303)
        set_private_cookie(
            response, SESSION_COOKIE, session_id, max_age=int(settings.web.session_ttl_s), https=settings.web.https
        )
        return response

    @router.post("/logout", tags=["pages"], status_code=303, response_class=RedirectResponse, response_model=None)
    def page_logout(request: Request, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
        """End the session on the server and forget the cookie (from this site's pages only)."""
        if not same_origin(request) or not tokens_match(csrf, access.logout_csrf(request)):
            return Response("cross-site sign-out refused", status_code=403, media_type="text/plain")
        with session_scope(ctx.engine) as s:
            end_session(s, request.cookies.get(SESSION_COOKIE, ""), now=ctx.clock())
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router
