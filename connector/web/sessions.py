"""Browser sessions: a random id in the cookie, its SHA-256 in the database, an expiry, ended by sign-out.

The cookie never carries the API token: signing in with a token starts a session tied to that
token, so revoking the token also ends its sessions, and signing out ends the session on the
server (a copied cookie stops working).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from connector.clock import aware
from connector.store.models import ApiTokenRow, WebSessionRow
from connector.web.auth import Principal, Role

SESSION_COOKIE = "ocop_sync_session"
SESSION_BYTES = 32
MAX_SESSION_ID_LENGTH = 128


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(s: Session, token_id: int, *, now: datetime, ttl_s: float) -> str:
    """Store a new session for `token_id` (its hash only) and return the id to put in the cookie."""
    session_id = secrets.token_urlsafe(SESSION_BYTES)
    s.add(
        WebSessionRow(
            id_hash=_digest(session_id), token_id=token_id, created_at=now, expires_at=now + timedelta(seconds=ttl_s)
        )
    )
    s.flush()
    return session_id


def session_principal(s: Session, session_id: str, *, now: datetime) -> Principal | None:
    """The principal of a live session: not ended, not expired, and its token not revoked; else None."""
    if not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
        return None
    found = s.exec(
        select(WebSessionRow, ApiTokenRow)
        .join(ApiTokenRow, col(ApiTokenRow.id) == col(WebSessionRow.token_id))
        .where(WebSessionRow.id_hash == _digest(session_id))
    ).first()
    if found is None:
        return None
    row, token = found
    if row.ended_at is not None or aware(row.expires_at) <= now or token.revoked_at is not None or token.id is None:
        return None
    try:
        role = Role(token.role)
    except ValueError:
        return None
    return Principal(token_id=token.id, role=role, producer_id=token.producer_id)


def end_session(s: Session, session_id: str, *, now: datetime) -> bool:
    """End a session (sign-out); True when a live session was ended."""
    row = s.get(WebSessionRow, _digest(session_id)) if session_id else None
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = now
    s.add(row)
    s.flush()
    return True


def csrf_for_session(session_id: str) -> str:
    """The form token that proves a sign-out form came from one of this session's pages."""
    return hashlib.sha256(b"csrf:" + session_id.encode("utf-8")).hexdigest()[:32]
