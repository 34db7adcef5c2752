"""HTTP API bearer tokens: created once, stored only as a SHA-256 hash, revocable.

A token is 32 random bytes (URL-safe base64) behind a recognisable prefix; its SHA-256 is the
only thing stored, so the token table leaks nothing usable. Operator tokens see everything;
a producer token sees only that producer's report.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from connector.store.models import ApiTokenRow, ProducerRow

TOKEN_PREFIX = "ocs_"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 256


class Role(StrEnum):
    """What a token may see."""

    OPERATOR = "operator"
    PRODUCER = "producer"


class TokenError(ValueError):
    """A token could not be created or revoked; the message says why."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, role and, for a producer token, the producer."""

    token_id: int
    role: Role
    producer_id: str | None = None

    @property
    def is_operator(self) -> bool:
        """True for an operator token."""
        return self.role is Role.OPERATOR

    def may_see_producer(self, producer_id: str) -> bool:
        """True when this principal may read `producer_id`'s report (operators: any producer)."""
        return self.is_operator or self.producer_id == producer_id


@dataclass(frozen=True)
class TokenInfo:
    """A token as `token list` shows it: never the token or its hash."""

    id: int
    role: str
    producer_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh high-entropy token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def create_token(
    session: Session, *, role: Role, now: datetime, producer_id: str | None = None, label: str = ""
) -> tuple[int, str]:
    """Store a new token's hash and return (id, token); the token is not retrievable afterwards.

    Raises `TokenError` for a producer token without a known producer, or an operator token with one.
    """
    if role is Role.PRODUCER:
        if not producer_id:
            raise TokenError("a producer token needs a producer id")
        if session.get(ProducerRow, producer_id) is None:
            raise TokenError(f"unknown producer {producer_id!r}")
    elif producer_id:
        raise TokenError("an operator token cannot be tied to a producer")
    token = new_token()
    row = ApiTokenRow(
        token_hash=hash_token(token), role=role.value, producer_id=producer_id, label=label, created_at=now
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id, token


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal for a presented token, or None when it is unknown, malformed or revoked."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(token)
    row = session.exec(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
        return None
    try:
        role = Role(row.role)
    except ValueError:
        return None
    assert row.id is not None
    return Principal(token_id=row.id, role=role, producer_id=row.producer_id)


def revoke_token(session: Session, id_or_token: str, *, now: datetime) -> int:
    """Revoke a token given its id or the token itself; return its id. Raises `TokenError` if unknown."""
    row: ApiTokenRow | None = None
    if id_or_token.isdigit():
        row = session.get(ApiTokenRow, int(id_or_token))
    if row is None:
        row = session.exec(select(ApiTokenRow).where(ApiTokenRow.token_hash == hash_token(id_or_token))).first()
    if row is None:
        raise TokenError("no such token")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.flush()
    assert row.id is not None
    return row.id


def list_tokens(session: Session) -> list[TokenInfo]:
    """Every token's id, role, producer, label and dates, oldest first (no secret material)."""
    return [
        TokenInfo(
            id=row.id or 0,
            role=row.role,
            producer_id=row.producer_id,
            label=row.label,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )
        for row in session.exec(select(ApiTokenRow).order_by(col(ApiTokenRow.id)))
    ]
