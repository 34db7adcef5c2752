"""Outgoing pushes of a sandbox: signed HTTP callbacks sent to a configured URL, retried, maybe duplicated or reordered.

A marketplace sandbox builds each message (body and headers) and `enqueue`s it; `deliver`
POSTs every pending message once (in a shuffled order when `reorder`, twice when the dice
say `duplicate_rate`) and keeps the ones that did not get a 200 for the next attempt, as
Lazada retries. Tests call `await pusher.deliver()`; a running loop delivers by itself.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import httpx

__all__ = ["PushMessage", "Pusher"]


@dataclass(frozen=True)
class PushMessage:
    """One callback: its body and headers."""

    body: bytes
    headers: dict[str, str]


@dataclass
class Pusher:
    """Pending callbacks for one sandbox and how they are delivered."""

    url: str | None = None
    client: httpx.AsyncClient | None = None
    duplicate_rate: float = 0.0
    reorder: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    pending: list[PushMessage] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    _task: asyncio.Task[int] | None = None

    @property
    def enabled(self) -> bool:
        """Whether pushes are configured."""
        return self.url is not None

    def enqueue(self, message: PushMessage) -> None:
        """Queue one callback; start delivering in the background when a loop runs."""
        if not self.enabled:
            return
        self.pending.append(message)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._task is None or self._task.done():
            self._task = loop.create_task(self.deliver())

    async def deliver(self) -> int:
        """POST every pending callback once; keep those not answered 200; return how many were accepted."""
        if self.url is None or not self.pending:
            return 0
        batch, self.pending = self.pending, []
        if self.reorder:
            self.rng.shuffle(batch)
        extra = [m for m in batch if self.rng.random() < self.duplicate_rate]
        client = self.client or httpx.AsyncClient(timeout=5.0)
        accepted = 0
        try:
            for message in [*batch, *extra]:
                try:
                    reply = await client.post(self.url, content=message.body, headers=message.headers)
                    ok = reply.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    accepted += 1
                    self.sent += 1
                elif message not in extra:
                    self.failed += 1
                    self.pending.append(message)  # retried at the next delivery
        finally:
            if self.client is None:
                await client.aclose()
        return accepted
