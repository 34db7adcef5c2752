"""What every report shares: secret redaction of stored text, UTC for queries, the local calendar day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from connector.settings import Settings

TOKEN_WARNING_DAYS = 7
_SECRET_PATTERN = re.compile(
    r"(?i)\b(access_token|refresh_token|app_secret|client_secret|secret|password|sign|token|authorization)"
    r"(\s*[=:]\s*|\"\s*:\s*\")(bearer\s+)?([^\s&\",;)]+)"
)


class UnknownProducerError(LookupError):
    """The catalog has no producer with this id."""


def redact(text: str) -> str:
    """`text` with anything that looks like a credential value replaced by `***`."""
    return _SECRET_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def db_time(moment: datetime) -> datetime:
    """`moment` in UTC, as the store's DateTime columns hold it, for comparisons in queries."""
    return moment.astimezone(UTC)


def local_today(now: datetime, settings: Settings) -> date:
    """The calendar date of `now` in the programme's time zone (certificates expire on local dates)."""
    return now.astimezone(ZoneInfo(settings.scheduler.timezone)).date()
