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
from connector.reports.render_html import dashboard_html, drift_html, producer_html, render_page
from connector.web.access import COOKIE_NAME, Access, PageError
from connector.web.api import LangQuery, ShopQuery
from connector.web.auth import Principal


def safe_next(target: str) -> str:
    """A same-site path to go to after sign-in (never another site)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _links(request: Request, lang: Lang) -> PageLinks:
    other = "en" if lang == "vi" else "vi"
    query = dict(request.query_params) | {"lang": other}
    return PageLinks(lang_url=f"{request.url.path}?{urlencode(query)}", logout="/logout")


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
                page=_links(request, language),
                tz=tz,
            )
        return HTMLResponse(html)

    @router.get("/drift", response_class=HTMLResponse, tags=["pages"])
    def page_drift(request: Request, _: Operator, lang: LangQuery = None, shop: ShopQuery = None) -> HTMLResponse:
        """The drift report as a page."""
        language = access.default_lang(lang)
        with access.session() as s:
            report = reports.drift_report(s, settings, now=ctx.clock(), shop_id=shop)
        return HTMLResponse(drift_html(report, language, tz=tz, page=_links(request, language)))

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
        return HTMLResponse(producer_html(report, tz=tz, page=_links(request, language)))

    @router.get("/login", response_class=HTMLResponse, tags=["pages"])
    def page_login(next: Annotated[str, Query(max_length=512)] = "/") -> HTMLResponse:
        """The sign-in form: paste a token, get an HttpOnly cookie."""
        t = Translator(access.default_lang(None))
        login = {"action": "/login", "next": safe_next(next)}
        return HTMLResponse(
            render_page("message.html", lang=t.lang, tz=tz, title=t("title.login"), message="", login=login)
        )

    @router.post("/login", response_class=HTMLResponse, tags=["pages"], response_model=None)
    def page_login_submit(
        request: Request,
        token: Annotated[str, Form(max_length=512)],
        next: Annotated[str, Form(max_length=512)] = "/",
    ) -> Response:
        """Check the pasted token; on success set the cookie and go to `next`."""
        principal = access.resolve(token.strip())
        t = Translator(access.default_lang(None))
        if principal is None:
            login = {"action": "/login", "next": safe_next(next)}
            html = render_page(
                "message.html", lang=t.lang, tz=tz, title=t("title.login"), message=t("login.invalid"), login=login
            )
            return HTMLResponse(html, status_code=401)
        target = safe_next(next)
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

    @router.post("/logout", tags=["pages"], status_code=303, response_class=RedirectResponse)
    def page_logout() -> RedirectResponse:
        """Forget the cookie."""
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    return router
