"""An injectable clock for the simulators: real time plus an offset tests can advance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Wall-clock time shifted by an offset; `advance` moves it forward without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        if start is not None:
            self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        """The simulated current time (timezone-aware UTC)."""
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by `seconds` (token expiry, review delays)."""
        self._offset += timedelta(seconds=seconds)
