"""Marketplace event queues we pull (Tiki): pull, record each event once, acknowledge, then schedule.

The leader polls every enabled shop whose adapter is an `EventFeed`. Delivery is at least
once: each event is recorded by its message id (`record_event`, unique per shop), and only
then is the pull acknowledged, so a crash between the two re-delivers events that are then
recognised as duplicates; reordered events only schedule work, so their order does not
matter. Recorded events become targeted ticks through `drain_events` (the `schedule`
callback), exactly as Lazada pushes do: an event never writes stock or listings itself.
A feed that fails is logged and tried again at the next poll; the scheduled incremental
poll stays the safety net.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from adapters.base import EventFeed
from adapters.errors import AdapterError
from connector.engine.shop import OpenShop, open_shop
from connector.service.events import record_event
from connector.service.ratelog import RateLimitedLog
from connector.service.runtime import Runtime

__all__ = ["EventFeeds"]

log = logging.getLogger("ocop_sync.daemon")

Schedule = Callable[[], Awaitable[None]]


class EventFeeds:
    """The leader's consumer of every shop's event feed (one open connection per feed shop)."""

    def __init__(self, rt: Runtime, schedule: Schedule) -> None:
        self.rt = rt
        self.schedule = schedule
        self.noise = RateLimitedLog(log)
        self._open: dict[str, OpenShop | None] = {}  # None: the shop's adapter has no feed

    async def _shop(self, shop_id: str) -> OpenShop | None:
        if shop_id not in self._open:
            opened = await self.rt.db(open_shop, self.rt.ctx, shop_id, None)
            if not isinstance(opened.adapter, EventFeed):
                await opened.http.aclose()
                opened = None
            self._open[shop_id] = opened
        return self._open[shop_id]

    async def poll(self) -> int:
        """Pull each feed once; record, acknowledge, schedule. How many new events were recorded."""
        recorded = 0
        for shop_id in self.rt.shop_ids:
            shop = await self._shop(shop_id)
            if shop is None:
                continue
            try:
                recorded += await self._consume(shop)
            except AdapterError as exc:
                self.noise.failure(f"feed:{shop_id}", "shop %s: event feed failing (%s)", shop_id, exc)
            else:
                self.noise.recovered(f"feed:{shop_id}", "shop %s: event feed works again", shop_id)
        if recorded:
            await self.schedule()
        return recorded

    async def _consume(self, shop: OpenShop) -> int:
        feed = shop.adapter
        assert isinstance(feed, EventFeed)
        batch = await shop.calls.call(feed.pull_events)
        recorded = 0
        for event in batch.events:
            fresh = await self.rt.db(
                record_event,
                self.rt.engine,
                shop_id=shop.settings.id,
                message_id=event.message_id,
                source=f"{shop.settings.marketplace}-queue",
                skus=event.skus,
                now=self.rt.now(),
            )
            recorded += int(fresh)
        if batch.ack_id:  # acknowledged only once every event is recorded: a crash before this re-delivers
            await shop.calls.call(lambda: feed.ack_events(batch), write=True)
        return recorded

    async def close(self) -> None:
        """Close every feed connection (on stepping down or stopping)."""
        opened, self._open = self._open, {}
        for shop in opened.values():
            if shop is not None:
                await shop.http.aclose()
