"""Connecting a shop from the browser: `/oauth/{marketplace}/start` and the marketplace's redirect back.

An operator opens `/oauth/lazada/start?shop=SHOP` (signed in): the daemon issues a single-use
`state`, remembers it for that shop, and sends the browser to the marketplace's authorisation
page. The seller agrees; the marketplace redirects to the shop's `redirect_uri`, which is this
daemon's `/oauth/lazada/callback?code=…&state=…`. The callback is operator-only (an anonymous
browser gets the sign-in form and comes back here), checks the state — unknown, foreign,
replayed or stale states are refused before any call, and nothing is stored or scheduled —
exchanges the code (Lazada `/auth/token/create`), stores the tokens encrypted and asks for a
sync of the shop. The code, the tokens and the app secret are never logged or shown.
"""

import inspect
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.errors import AdapterError
from connector.context import AppContext
from connector.engine.connect import ConnectError, ConnectStart, StateBook, begin_connect, finish_connect
from connector.engine.tokens import SecretKeyError, TokenVault
from connector.reports.i18n import Translator
from connector.reports.render_html import render_page
from connector.store import session_scope
from connector.store.models import ResyncRequestRow
from connector.web.access import Access, PageError, identity_of
from connector.web.api import ResyncHook
from connector.web.auth import Principal
from connector.web.pages import page_links

log = logging.getLogger("ocop_sync.web")


@dataclass
class Handshakes:
    """The authorisations this process started and not yet finished (state -> how it started)."""

    book: StateBook = field(default_factory=StateBook)
    starts: dict[str, ConnectStart] = field(default_factory=dict)

    def forget(self, state: str) -> None:
        """Drop a state that was redeemed or refused."""
        self.starts.pop(state, None)
        self.book.issued.pop(state, None)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def oauth_router(ctx: AppContext, access: Access, resync: ResyncHook | None = None) -> APIRouter:
    """The `/oauth/{marketplace}/start` and `/oauth/{marketplace}/callback` routes over `ctx`."""
    router = APIRouter()
    pending = Handshakes()
    settings = ctx.settings

    def operator_here(request: Request) -> Principal:
        """An operator; an anonymous browser is offered the sign-in form that brings it back here (query kept)."""
        principal = identity_of(request).principal
        if principal is None:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise PageError(401, back)
        if not principal.is_operator:
            raise PageError(403, principal=principal)
        return principal

    Operator = Annotated[Principal, Depends(operator_here)]

    def page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
        t = Translator(access.default_lang(None))
        html = render_page(
            "message.html",
            lang=t.lang,
            tz=settings.scheduler.timezone,
            title=title,
            message=message,
            # the language link must not repeat the callback's query: it carries the authorisation code
            page=replace(page_links(request, t.lang), lang_url=f"/?lang={'en' if t.lang == 'vi' else 'vi'}"),
        )
        return HTMLResponse(html, status_code=status)

    def refused(request: Request, status: int, reason: str) -> HTMLResponse:
        t = Translator(access.default_lang(None))
        return page(request, status, t("connect.title.refused"), t("connect.refused", reason=reason))

    @router.get("/oauth/{marketplace}/start", tags=["pages"], response_model=None)
    async def oauth_start(
        request: Request,
        marketplace: str,
        _: Operator,
        shop: Annotated[str, Query(max_length=64, description="the shop id to connect")],
    ) -> Response:
        """Send the operator's browser to the marketplace's seller-authorisation page for `shop`."""
        found = next((s for s in settings.shops if s.id == shop and s.marketplace == marketplace), None)
        if found is None:
            raise PageError(404)
        start = await begin_connect(ctx, found, pending.book)
        if not start.url:
            return refused(request, 400, f"shop {shop} connects with its credentials: run `ocop-sync shop connect`")
        pending.starts[start.state] = start
        return RedirectResponse(start.url, status_code=303)

    @router.get("/oauth/{marketplace}/callback", tags=["pages"], response_model=None)
    async def oauth_callback(
        request: Request,
        marketplace: str,
        principal: Operator,
        state: Annotated[str, Query(max_length=128)] = "",
        code: Annotated[str, Query(max_length=512)] = "",
        error: Annotated[str, Query(max_length=256)] = "",
    ) -> Response:
        """Finish connecting: check the state, exchange the code, store the tokens encrypted, request a sync."""
        t = Translator(access.default_lang(None))
        start = pending.starts.get(state) if state else None
        if start is None or start.shop_id not in {s.id for s in settings.shops if s.marketplace == marketplace}:
            log.warning("oauth callback refused: unknown, used or foreign state / state không hợp lệ (%s)", marketplace)
            return refused(request, 400, "unknown or already used state")
        shop = settings.shop(start.shop_id)
        if error:
            pending.forget(state)
            return refused(request, 400, f"the seller did not authorise the app ({error})")
        try:
            vault = TokenVault.from_env()
        except SecretKeyError:
            vault = None
        if vault is None:
            return page(request, 503, t("connect.title.refused"), t("connect.no_key"))
        pending.starts.pop(state, None)
        query = urlencode({"code": code, "state": state})
        try:
            done = await finish_connect(ctx, shop, vault, start, f"?{query}", pending.book)
        except (ConnectError, AdapterError) as exc:
            pending.forget(state)
            log.warning("shop %s: oauth callback refused / không kết nối được: %s", shop.id, exc)
            return refused(request, 400, str(exc))
        with session_scope(ctx.engine) as s:
            row = ResyncRequestRow(
                shop_id=shop.id, kind="full", requested_by=f"oauth:{principal.token_id}", requested_at=ctx.clock()
            )
            s.add(row)
            s.flush()
            request_id = row.id
        if resync is not None and request_id is not None:
            result = resync(request_id)
            if inspect.isawaitable(result):
                await result
        message = t(
            "connect.done",
            account=done.account or "-",
            expires=_when(done.access_expires_at),
            reauth=_when(done.refresh_expires_at),
        )
        return page(request, 200, t("connect.title.done", shop=shop.id), message)

    return router
