"""Lazada Open Platform request signing (marketplace-apis.md §1.2), shared by adapter and sandbox.

Pure functions: the signature is HMAC-SHA256, keyed with the app secret, over the API path
followed by every parameter's name and raw value in ASCII order of the names (``sign``
itself excluded), hex-encoded in upper case. Timestamps are epoch milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

SIGN_METHOD = "sha256"
SYSTEM_PARAMS = ("app_key", "timestamp", "sign_method", "sign")
MAX_CLOCK_SKEW = timedelta(seconds=7200)


def signing_string(api_path: str, params: Mapping[str, str]) -> str:
    """The text that is signed: the API path, then name+value of each parameter sorted by name."""
    return api_path + "".join(f"{name}{params[name]}" for name in sorted(params) if name != "sign")


def sign(app_secret: str, api_path: str, params: Mapping[str, str]) -> str:
    """The `sign` parameter for a call to `api_path` with `params` (upper-case hex HMAC-SHA256)."""
    message = signing_string(api_path, params).encode("utf-8")
    return hmac.new(app_secret.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()


def signature_matches(app_secret: str, api_path: str, params: Mapping[str, str]) -> bool:
    """True when `params["sign"]` is the correct signature of the other parameters."""
    expected = sign(app_secret, api_path, params)
    return hmac.compare_digest(expected, params.get("sign", "").upper())


def timestamp_ms(now: datetime) -> str:
    """The `timestamp` parameter for `now`: epoch milliseconds as a string."""
    return str(int(now.timestamp() * 1000))


def parse_timestamp(value: str) -> datetime | None:
    """Read a `timestamp` parameter in either accepted form (epoch ms or ISO-8601); None if neither."""
    value = value.strip()
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def signed_params(
    api_path: str,
    business: Mapping[str, str],
    *,
    app_key: str,
    app_secret: str,
    now: datetime,
    access_token: str | None = None,
) -> dict[str, str]:
    """Business parameters plus the system parameters and the signature, ready to send.

    Empty business values are dropped so that both published signing conventions (the
    Python SDK's and the Java sample's, which skips empty values) give the same signature.
    """
    params = {k: v for k, v in business.items() if v != ""}
    params.update(app_key=app_key, timestamp=timestamp_ms(now), sign_method=SIGN_METHOD)
    if access_token:
        params["access_token"] = access_token
    params["sign"] = sign(app_secret, api_path, params)
    return params
