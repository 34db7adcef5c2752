"""Shared by the API tests: the tokens of each kind of caller."""

from __future__ import annotations

from dataclasses import dataclass


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
