"""Shared by the API tests: the tokens of each kind of caller."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient


@dataclass(frozen=True)
class Tokens:
    """One token per kind of caller; `none` is no token at all."""

    operator: str
    producer_a: str
    producer_b: str
    revoked: str

    def header(self, who: str) -> dict[str, str]:
        """The Authorization header for `who` (empty for "none")."""
        token = {"operator": self.operator, "a": self.producer_a, "b": self.producer_b, "revoked": self.revoked}.get(
            who
        )
        return {"Authorization": f"Bearer {token}"} if token else {}


def login_form_token(client: TestClient, next_url: str = "/") -> str:
    """Open the sign-in form (which sets the form-token cookie) and return the form's token."""
    page = client.get("/login", params={"next": next_url})
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    return match.group(1)


def sign_in(client: TestClient, token: str, next_url: str = "/") -> httpx.Response:
    """Sign in through the form as a browser would (same origin, with the form token)."""
    csrf = login_form_token(client, next_url)
    response: httpx.Response = client.post(
        "/login",
        data={"token": token, "next": next_url, "csrf": csrf},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    return response
