"""The webhook receiver: Lazada pushes verified, de-duplicated and turned into scheduled work.

`POST /webhooks/lazada/{shop_id}` (register `https://<our host>/webhooks/lazada/<shop id>` as
the app's push URL). Checks, in order: the shop exists and is a Lazada shop (else 404); the
body is at most `MAX_BODY_BYTES` (else 413); the `Authorization` header is Lazada's signature,
HMAC-SHA256 of app key + raw body keyed with the app secret, compared in constant time (else
401, nothing recorded); the JSON's `timestamp` is within `STALE_AFTER_S` of now (else 400,
nothing recorded); the message was not seen before (the digest of the raw body, unique per
shop; a replay answers 200 and schedules nothing). A fresh message is recorded and the host
is asked to schedule it: a targeted incremental tick through the tick queue, never a write here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from adapters.lazada.push import ORDER_MESSAGE, message_id, message_skus, message_time_s, signature_matches
from connector.context import AppContext
from connector.service.events import record_event
from connector.settings import SANDBOX_URL, ShopSettings

__all__ = ["MAX_BODY_BYTES", "STALE_AFTER_S", "webhook_router"]

log = logging.getLogger("ocop_sync.webhooks")

MAX_BODY_BYTES = 64 * 1024
STALE_AFTER_S = 900.0  # a retried push older than this is left to the next poll

Schedule = Callable[[], Awaitable[None]]


def _shop(ctx: AppContext, shop_id: str, marketplace: str) -> ShopSettings | None:
    return next((s for s in ctx.settings.shops if s.id == shop_id and s.marketplace == marketplace and s.enabled), None)


def _push_keys(ctx: AppContext, shop: ShopSettings) -> tuple[str, str] | None:
    factory = ctx.registry.get(shop.marketplace)
    if shop.base_url == SANDBOX_URL:
        creds = {k: SecretStr(v) for k, v in factory.sandbox_credentials(shop.seller_id).items()}
    else:
        creds = shop.credentials(factory.credential_names)
    if "app_key" not in creds or "app_secret" not in creds:
        return None
    return creds["app_key"].get_secret_value(), creds["app_secret"].get_secret_value()


async def _bounded_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _reply(status: int, outcome: str) -> JSONResponse:
    return JSONResponse({"status": outcome}, status_code=status)


def webhook_router(ctx: AppContext, schedule: Schedule) -> APIRouter:
    """The marketplace push routes; `schedule` turns recorded events into ticks (the daemon's leader does)."""
    router = APIRouter()

    @router.post("/webhooks/lazada/{shop_id}", include_in_schema=False)
    async def lazada_push(shop_id: str, request: Request) -> JSONResponse:
        """Receive one Lazada push for a shop."""
        shop = _shop(ctx, shop_id, "lazada")
        keys = _push_keys(ctx, shop) if shop is not None else None
        if shop is None or keys is None:
            return _reply(404, "unknown shop")
        body = await _bounded_body(request)
        if body is None:
            return _reply(413, "body too large")
        if not signature_matches(keys[0], keys[1], body, request.headers.get("authorization", "")):
            log.warning("lazada push for %s: bad signature, ignored", shop_id)
            return _reply(401, "bad signature")
        try:
            message: Any = json.loads(body)
        except ValueError:
            return _reply(400, "not JSON")
        sent_at = message_time_s(message) if isinstance(message, dict) else None
        now = ctx.clock()
        if sent_at is None or abs(now.timestamp() - sent_at) > STALE_AFTER_S:
            return _reply(400, "stale")
        skus = message_skus(message)
        if skus is None and message.get("message_type") == ORDER_MESSAGE:
            skus = []  # an order: pull the shop's orders only; the catalog watcher carries the sale everywhere
        recorded = await asyncio.to_thread(
            record_event,
            ctx.engine,
            shop_id=shop_id,
            message_id=message_id(body),
            source="lazada-push",
            skus=skus,
            now=now,
        )
        if not recorded:
            return _reply(200, "duplicate")
        await schedule()
        return _reply(200, "scheduled")

    return router
