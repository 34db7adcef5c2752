"""The JSON API: drift, runs, shops, a producer's listings, and the resync trigger.

Authorization (OWASP API1, object-level): no or unknown/revoked token → 401; a producer token on
an operator endpoint (`/api/drift`, `/api/runs`, `/api/shops`, `/api/resync`) → 403; a producer
token asking for another producer → 404, exactly as for a producer that does not exist, so ids do
not leak. Report queries are scoped by the id the principal may see.
"""

import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlmodel import select

from connector.context import AppContext
from connector.reports import queries as reports
from connector.store import session_scope
from connector.store.models import ResyncRequestRow, ShopRow
from connector.web.access import Access, utc_or_422
from connector.web.auth import Principal
from schemas.report import DriftReport, ProducerReport, ResyncAccepted, ResyncRequest, RunsReport, ShopsReport

ResyncHook = Callable[[int], object]
LangQuery = Annotated[Literal["vi", "en"] | None, Query(description="report language (default: settings)")]
ShopQuery = Annotated[str | None, Query(max_length=64, description="only this shop")]


def api_router(ctx: AppContext, access: Access, resync: ResyncHook | None = None) -> APIRouter:
    """The `/api/...` routes over `ctx`'s store; `resync` is told the id of each recorded resync request."""
    router = APIRouter()
    settings = ctx.settings
    Operator = Annotated[Principal, Depends(access.api_operator)]
    Anyone = Annotated[Principal, Depends(access.api_principal)]

    @router.get("/api/drift", response_model=DriftReport, tags=["operator"])
    def api_drift(
        _: Operator,
        shop: ShopQuery = None,
        since: Annotated[datetime | None, Query(description="resolved drift since (default: 7 days ago)")] = None,
    ) -> DriftReport:
        """Open drift by kind, shop and producer; drift resolved since `since`; dead actions; silent failures."""
        since_utc = utc_or_422(since)
        with access.session() as s:
            return reports.drift_report(s, settings, now=ctx.clock(), shop_id=shop, since=since_utc)

    @router.get("/api/runs", response_model=RunsReport, tags=["operator"])
    def api_runs(_: Operator, shop: ShopQuery = None, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> RunsReport:
        """The latest sync runs, newest first."""
        with access.session() as s:
            return reports.run_history(s, now=ctx.clock(), shop_id=shop, limit=limit)

    @router.get("/api/shops", response_model=ShopsReport, tags=["operator"])
    def api_shops(_: Operator) -> ShopsReport:
        """Every shop with its last success, last error, token expiry, open drift and outbox counts."""
        with access.session() as s:
            return reports.shops_report(s, settings, now=ctx.clock())

    @router.post("/api/resync", response_model=ResyncAccepted, status_code=202, tags=["operator"])
    async def api_resync(principal: Operator, body: ResyncRequest | None = None) -> ResyncAccepted:
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

    @router.get("/api/producers/{producer_id}/listings", response_model=ProducerReport, tags=["producer"])
    def api_producer_listings(producer_id: str, principal: Anyone, lang: LangQuery = None) -> ProducerReport:
        """The producer's listing status on every shop; a producer token sees only its own producer."""
        if not principal.may_see_producer(producer_id):
            raise HTTPException(404, "not found")
        with access.session() as s:
            try:
                return reports.producer_report(
                    s, settings, producer_id, now=ctx.clock(), lang=access.default_lang(lang)
                )
            except reports.UnknownProducerError:
                raise HTTPException(404, "not found") from None

    return router
