"""An in-process HTTP transport to a sandbox that behaves like a network.

`httpx.ASGITransport` enforces no timeouts and re-raises app exceptions; this wrapper
applies the request's read timeout and turns a dropped connection into the httpx errors a
real socket would raise, so adapters see exactly what they would see over uvicorn.
"""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp

from adapters.sandbox.faults import SimulatedReset


class SandboxTransport(httpx.AsyncBaseTransport):
    """Sends requests straight into an ASGI app, with timeouts and connection faults."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Deliver one request, honouring the client's read timeout."""
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            async with asyncio.timeout(timeout):
                response = await self._inner.handle_async_request(request)
                await response.aread()
                return response
        except TimeoutError:
            raise httpx.ReadTimeout("sandbox did not answer in time", request=request) from None
        except SimulatedReset:
            raise httpx.RemoteProtocolError("connection reset by sandbox", request=request) from None

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
