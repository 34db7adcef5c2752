"""The engine's own event loop, in its own thread, so a run never blocks the daemon's loop.

The engine's runs do blocking work between their awaits: database transactions, catalog
parsing, planning thousands of SKUs. On the loop that also serves HTTP (/healthz) and fires the
scheduler, that stalls both. `EngineLoop` runs every shop run on a second event loop in a
dedicated thread (one loop for all runs, so runs interleave exactly as they did on one loop);
the daemon's loop only awaits the outcome. Cancelling the awaiting task (drain, deadline)
cancels the run on the engine loop and waits for it to wind down.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EngineLoop:
    """A second asyncio loop in a daemon thread; `await run(coro)` runs `coro` there."""

    def __init__(self, name: str = "engine-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the engine loop and return its result; cancelling this cancels it there too."""
        home = asyncio.get_running_loop()
        outcome: asyncio.Future[T] = home.create_future()

        def settle(result: T | None, exc: BaseException | None) -> None:
            if outcome.done():
                return
            if isinstance(exc, asyncio.CancelledError):
                outcome.cancel()
            elif exc is not None:
                outcome.set_exception(exc)
            else:
                outcome.set_result(result)  # type: ignore[arg-type]

        async def there() -> None:
            try:
                result = await coro
            except BaseException as exc:  # handed back to the awaiting loop, re-raised there
                home.call_soon_threadsafe(settle, None, exc)
                if not isinstance(exc, Exception | asyncio.CancelledError):
                    raise
                return
            home.call_soon_threadsafe(settle, result, None)

        handle = asyncio.run_coroutine_threadsafe(there(), self.loop)
        try:
            return await asyncio.shield(outcome)
        except asyncio.CancelledError:
            if not outcome.done():
                handle.cancel()  # cancels the run's task on the engine loop
                await asyncio.wait([outcome])  # let it wind down (it records itself as interrupted)
            raise

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the engine loop and its thread (after the daemon drained its runs)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=timeout_s)
        if not self._thread.is_alive():
            self.loop.close()
