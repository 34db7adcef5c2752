"""Sending one HTTP request and turning transport failures into typed adapter errors."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import httpx

from adapters.errors import AmbiguousWrite, TransientError


async def send(
    http: httpx.AsyncClient,
    request: httpx.Request,
    *,
    marketplace: str,
    operation: str,
    is_write: bool,
) -> httpx.Response:
    """Send `request` once; timeouts and resets become TransientError (AmbiguousWrite for writes)."""
    error_type = AmbiguousWrite if is_write else TransientError
    try:
        return await http.send(request)
    except httpx.TimeoutException as exc:
        raise error_type(f"timed out ({type(exc).__name__})", marketplace=marketplace, operation=operation) from exc
    except httpx.TransportError as exc:
        raise error_type(
            f"connection failed ({type(exc).__name__})", marketplace=marketplace, operation=operation
        ) from exc


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header in either delta-seconds or HTTP-date form."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
