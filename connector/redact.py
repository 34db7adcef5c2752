"""Keep secrets out of logs written by the HTTP libraries (CWE-532).

httpx logs every request URL at INFO, and Lazada puts `access_token`, `sign` and `app_key`
in the query string; a DEBUG run would write them to the log. `install_log_redaction`
puts a filter on the HTTP libraries' loggers that masks those values in the message and
its arguments before any handler sees them.
"""

from __future__ import annotations

import logging
import re

__all__ = ["SecretFilter", "install_log_redaction", "redact_secrets"]

SECRET_PARAMS = (
    "access_token",
    "refresh_token",
    "sign",
    "app_key",
    "app_secret",
    "client_secret",
    "client_id",
    "password",
    "token",
)
_PARAM = re.compile(r"(?i)\b(" + "|".join(SECRET_PARAMS) + r")=([^&\s\"'<>]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
HTTP_LOGGERS = ("httpx", "httpcore", "httpcore.http11", "httpcore.http2", "httpcore.connection", "httpcore.proxy")


def redact_secrets(text: str) -> str:
    """`text` with secret query parameters and bearer/basic credentials masked."""
    return _BEARER.sub(r"\1 ***", _PARAM.sub(r"\1=***", text))


class SecretFilter(logging.Filter):
    """Masks secrets in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place."""
        if record.args:
            record.msg = redact_secrets(record.getMessage())
            record.args = None
        else:
            record.msg = redact_secrets(str(record.msg))
        return True


def install_log_redaction() -> None:
    """Attach one `SecretFilter` to each HTTP library logger (idempotent)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SecretFilter) for f in logger.filters):
            logger.addFilter(SecretFilter())
