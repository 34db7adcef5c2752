"""The one time helper: every timestamp in the service is timezone-aware UTC.

SQLite hands back naive datetimes; the store only ever writes UTC, so a naive value read
back is UTC. Everything that compares or formats a stored time goes through `aware`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import overload

WARN_AHEAD = timedelta(days=7)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
def aware(moment: datetime | None) -> datetime | None:
    """`moment` as timezone-aware UTC (a naive value from the store is taken as UTC); None stays None."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def expiring_soon(expires_at: datetime | None, now: datetime, ahead: timedelta = WARN_AHEAD) -> bool:
    """True when `expires_at` is within `ahead` of `now` (the 7-day warning before an authorisation lapses)."""
    return expires_at is not None and aware(expires_at) - now <= ahead
