"""Seller authorisation helpers shared by adapters: PKCE pairs and the redirect an operator pastes.

An adapter that onboards sellers through a browser (Lazada's seller authorisation, Tiki's
authorization-code grant) offers `authorize_url(...)` and `exchange_code(...)`; adapters whose
credentials alone log in (Tiki in-house apps, Voso) offer neither and are connected by
`refresh_auth()`. Nothing here stores or logs a code, verifier or token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit

from adapters.base import TokenInfo
from adapters.errors import AuthFailed


@runtime_checkable
class SellerAuthorization(Protocol):
    """An adapter that can onboard a seller through the marketplace's authorisation page."""

    def uses_browser_authorization(self) -> bool:
        """True when this shop connects through the seller's browser (else its credentials log in)."""
        ...

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str = "") -> str:
        """The page the seller opens to authorise our app."""
        ...

    async def exchange_code(self, code: str, *, redirect_uri: str = "", code_verifier: str = "") -> TokenInfo:
        """Exchange the returned code for tokens held by the adapter."""
        ...


@dataclass(frozen=True)
class Pkce:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""

    verifier: str
    challenge: str

    def __repr__(self) -> str:
        return "Pkce(<hidden>)"

    @classmethod
    def new(cls) -> Pkce:
        """A fresh random verifier (43 url-safe characters) and its challenge."""
        verifier = secrets.token_urlsafe(32)
        return cls(verifier, challenge_of(verifier))


def challenge_of(verifier: str) -> str:
    """The S256 code challenge of a verifier: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class Redirect:
    """What the marketplace's redirect carried back: the code and the state (None when only a code was pasted)."""

    code: str
    state: str | None

    def __repr__(self) -> str:
        return f"Redirect(code=<hidden>, state={'<given>' if self.state else None})"


def read_redirect(pasted: str, *, marketplace: str) -> Redirect:
    """The code (and state) from a pasted redirect address, or from a bare pasted code."""
    text = pasted.strip()
    if "?" not in text and "=" not in text:
        if not text:
            raise AuthFailed("no authorisation code given", marketplace=marketplace, operation="connect")
        return Redirect(text, None)
    query = parse_qs(urlsplit(text).query if "?" in text else text)
    if "error" in query:
        reason = query.get("error_description", query["error"])[0]
        raise AuthFailed(
            f"the seller did not authorise the app: {reason}", marketplace=marketplace, operation="connect"
        )
    codes = query.get("code")
    if not codes or not codes[0]:
        raise AuthFailed("the pasted address carries no code", marketplace=marketplace, operation="connect")
    states = query.get("state")
    return Redirect(codes[0], states[0] if states else None)


__all__ = ["Pkce", "Redirect", "SellerAuthorization", "challenge_of", "read_redirect"]
