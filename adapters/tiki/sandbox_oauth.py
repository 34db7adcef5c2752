"""The Tiki sandbox's authorization-code grant: the authorise page, single-use codes with PKCE, refresh tokens.

Tiki's partner apps onboard a seller through `GET /sc/oauth2/auth` (the seller logs in and
agrees, then the browser is sent to `redirect_uri?code=...&state=...`) and exchange the code at
`POST /sc/oauth2/token` with `grant_type=authorization_code` (PKCE S256 verified when a
challenge was given); `grant_type=refresh_token` rotates the refresh token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from adapters.oauth import challenge_of

CODE_TTL = timedelta(minutes=10)


@dataclass
class _Code:
    seller_id: str
    client_id: str
    redirect_uri: str
    challenge: str
    issued_at: datetime
    used: bool = False


class GrantError(Exception):
    """An OAuth error reply: the RFC 6749 error code and its description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.body = {"error": error, "error_description": description}


class TikiGrants:
    """Authorisation codes and refresh tokens the simulated Tiki has issued."""

    def __init__(self) -> None:
        self.codes: dict[str, _Code] = {}
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # token -> (seller id, client id)

    def authorize(self, query: dict[str, str], seller_id: str | None, now: datetime) -> str:
        """The redirect address for an authorise request by `seller_id` (the app's seller agrees)."""
        redirect_uri = query.get("redirect_uri", "")
        if seller_id is None or query.get("response_type") != "code" or not redirect_uri:
            raise GrantError("invalid_request", "unknown client, or response_type/redirect_uri missing")
        challenge = query.get("code_challenge", "")
        if challenge and query.get("code_challenge_method", "plain") != "S256":
            raise GrantError("invalid_request", "only code_challenge_method=S256 is supported")
        code = f"sbx-tiki-code-{secrets.token_hex(8)}"
        self.codes[code] = _Code(seller_id, query.get("client_id", ""), redirect_uri, challenge, now)
        target = {"code": code, **({"state": query["state"]} if query.get("state") else {})}
        return redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(target)

    def redeem(self, form: dict[str, str], seller_id: str, client_id: str, now: datetime) -> None:
        """Check an authorization_code or refresh_token grant for this client; GrantError when refused."""
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = self.codes.get(form.get("code", ""))
            if code is None or code.used or now - code.issued_at > CODE_TTL or code.client_id != client_id:
                raise GrantError("invalid_grant", "the authorization code is invalid, expired or already used")
            if code.redirect_uri != form.get("redirect_uri", ""):
                raise GrantError("invalid_grant", "redirect_uri does not match the authorise request")
            if code.challenge and challenge_of(form.get("code_verifier", "")) != code.challenge:
                raise GrantError("invalid_grant", "the PKCE code_verifier does not match the challenge")
            code.used = True
            return
        if grant == "refresh_token":
            owner = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if owner != (seller_id, client_id):
                raise GrantError("invalid_grant", "the refresh token is invalid or already used")
            return
        raise GrantError("unsupported_grant_type", f"unsupported grant_type {grant!r}")

    def new_refresh_token(self, seller_id: str, client_id: str) -> str:
        """A new single-use refresh token for the seller."""
        token = f"sbx-tiki-rt-{secrets.token_hex(12)}"
        self.refresh_tokens[token] = (seller_id, client_id)
        return token
