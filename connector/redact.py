"""The one redaction helper: secrets never reach logs, reports, CLI output or pages (CWE-532).

`redact_secrets` masks credential values wherever text may quote them: query parameters
(`access_token=…`, Lazada's `sign` and `app_key`, an OAuth redirect's `?code=…&state=…`),
`name: value` and JSON `"name": "value"` pairs (marketplace error echoes stored in runs and
drift), bearer/basic credentials and passwords inside URLs. httpx logs every request URL at
INFO, so `install_log_redaction` puts a filter on the HTTP libraries' loggers that applies it
before any handler sees a record.
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED_URL_PASSWORD", "SecretFilter", "install_log_redaction", "mask_url_password", "redact_secrets"]

SECRET_PARAMS = (
    "access_token",
    "refresh_token",
    "sign",
    "app_key",
    "app_secret",
    "client_secret",
    "client_id",
    "password",
    "secret",
    "token",
    "authorization",
)
_PAIR = re.compile(
    r"(?i)\b(" + "|".join(SECRET_PARAMS) + r")"  # the name, as a whole word
    r"(\s*[=:]\s*|\"\s*:\s*\")"  # name=value, name: value, "name": "value"
    r"((?:bearer|basic)\s+)?"  # a scheme in front of the credential is masked with it
    r"([^\s&\"',;)<>]+)"
)
# OAuth redirect parameters in an address (`?code=…&state=…`): only in query form, so a marketplace
# error's `code: 4110` or `"code": "4110"` is left readable
_REDIRECT_PARAM = re.compile(r"(?i)([?&](?:code|state|code_verifier)=)[^&\s\"'#<>]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)[^@\s]*@")
REDACTED_URL_PASSWORD = "**********"
HTTP_LOGGERS = ("httpx", "httpcore", "httpcore.http11", "httpcore.http2", "httpcore.connection", "httpcore.proxy")


def mask_url_password(text: str, mask: str = REDACTED_URL_PASSWORD) -> str:
    """`text` with the password of every `scheme://user:password@host` replaced by `mask`."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + mask + "@", text)


def redact_secrets(text: str) -> str:
    """`text` with credential values (parameters, pairs, bearer/basic, URL passwords) masked as `***`."""
    masked = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}***", _REDIRECT_PARAM.sub(r"\1***", text))
    return mask_url_password(_BEARER.sub(r"\1 ***", masked), "***")


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
