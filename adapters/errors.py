"""The typed errors every adapter raises; their class decides whether the engine retries.

Adapters translate; they never retry or sleep. The engine's single retry layer
(tenacity, in `connector.retry`) retries exactly the errors whose `retryable` is True and
waits at least `retry_after` when the marketplace said how long to back off.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Any failure talking to a marketplace. Carries what a log line needs, never a secret."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        marketplace: str = "",
        operation: str = "",
        code: str = "",
        request_id: str = "",
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.marketplace = marketplace
        self.operation = operation
        self.code = code
        self.request_id = request_id
        self.http_status = http_status

    def __str__(self) -> str:
        where = "/".join(p for p in (self.marketplace, self.operation) if p)
        extra = ", ".join(
            f"{k}={v}"
            for k, v in (("code", self.code), ("http", self.http_status), ("request_id", self.request_id))
            if v not in ("", None)
        )
        return f"{where}: {self.message}" + (f" ({extra})" if extra else "")


class TransientError(AdapterError):
    """A failure worth retrying: 5xx, timeouts, connection resets, ambiguous outcomes."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class RateLimited(TransientError):
    """The marketplace throttled us; wait at least `retry_after` seconds before the next call."""


class AmbiguousWrite(TransientError):
    """A write whose outcome is unknown (the response was lost); look it up before repeating it."""


class AuthExpired(AdapterError):
    """The access token expired or was revoked; refresh once, then retry once."""


class PermanentError(AdapterError):
    """A failure that repeating will not fix: the engine records it and moves on."""


class AuthFailed(PermanentError):
    """Credentials are wrong or the refresh token is dead; a person must re-authorise."""


class Rejected(PermanentError):
    """The marketplace refused the values we sent (validation, review rules)."""

    def __init__(self, message: str, *, field: str = "", reason: str = "", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.field = field
        self.reason = reason or message


class NotFound(PermanentError):
    """The listing or request the call addressed does not exist on the marketplace."""


class ResponseShapeError(PermanentError):
    """The marketplace answered with a payload we cannot parse (API drift); names the field."""

    def __init__(self, message: str, *, field: str = "", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.field = field


class ConfigError(Exception):
    """Settings or registry problems found at start (unknown adapter, missing secret)."""
