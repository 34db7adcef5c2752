"""What every report shares: UTC for queries and the local calendar day (redaction is `connector.redact`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from connector.settings import Settings

TOKEN_WARNING_DAYS = 7


class UnknownProducerError(LookupError):
    """The catalog has no producer with this id."""


def db_time(moment: datetime) -> datetime:
    """`moment` in UTC, as the store's DateTime columns hold it, for comparisons in queries."""
    return moment.astimezone(UTC)


def local_today(now: datetime, settings: Settings) -> date:
    """The calendar date of `now` in the programme's time zone (certificates expire on local dates)."""
    return now.astimezone(ZoneInfo(settings.scheduler.timezone)).date()


def local_time(moment: datetime | None, tz_name: str, *, seconds: bool = True) -> str:
    """`moment` as wall-clock time in the programme's time zone ("—" for None); naive values are UTC."""
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(tz_name)).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def local_iso(moment: datetime | None, tz_name: str) -> str | None:
    """`moment` as ISO 8601 with the programme's UTC offset (for JSON output); None stays None."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(tz_name)).isoformat()


def zone_label(now: datetime, tz_name: str) -> str:
    """The time zone every time is shown in, with its current offset: "Asia/Ho_Chi_Minh (UTC+07:00)"."""
    offset = now.astimezone(ZoneInfo(tz_name)).strftime("%z")
    return f"{tz_name} (UTC{offset[:3]}:{offset[3:]})"
