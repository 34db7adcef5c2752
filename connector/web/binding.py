"""Where the pages and API may listen: loopback unless a person explicitly allows a public address.

The service speaks plain HTTP; on any other address the sign-in token and session cookie would
cross the network in clear unless a TLS proxy sits in front, so binding one needs
`web.allow_public_bind = true` and is logged as a warning.
"""

from __future__ import annotations

import ipaddress
import logging

from connector.settings import WebSettings

log = logging.getLogger("ocop_sync.web")


class PublicBindError(ValueError):
    """A non-loopback bind address was asked for without `web.allow_public_bind`."""


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, web: WebSettings) -> None:
    """Allow `host`, or raise `PublicBindError`; warn when a public address is allowed."""
    if is_loopback(host):
        return
    if not web.allow_public_bind:
        raise PublicBindError(
            f"refusing to serve plain HTTP on {host!r}: set web.allow_public_bind = true "
            "(OCOP_SYNC__WEB__ALLOW_PUBLIC_BIND=true) and put a TLS proxy in front, or bind 127.0.0.1"
        )
    log.warning(
        "serving plain HTTP on %s: tokens and session cookies cross the network unencrypted unless a TLS "
        "proxy (https) fronts this address; set web.https = true behind it so cookies are Secure",
        host,
    )
