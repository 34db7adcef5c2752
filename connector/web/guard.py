"""The gate in front of every route: identify the caller, refuse early, and cap request bodies.

A pure ASGI middleware, so nothing is read before it decides: it resolves the bearer token or
session cookie (never reading the body), answers 429 to a client over its authentication-failure
budget, 401 to an anonymous write outside the sign-in forms and the marketplace webhooks (which check
the marketplace's signature themselves), 413 to a declared body over the
limit, and counts the body as the app streams it, failing with 413 the moment it passes the limit
(nothing past the limit is buffered). Failed authentications are logged without the token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.web.auth import Principal
from connector.web.sessions import SESSION_COOKIE

log = logging.getLogger("ocop_sync.web")
PUBLIC_WRITES = frozenset({("POST", "/login"), ("POST", "/logout")})
# marketplace callbacks carry no operator token: each route checks the marketplace's own signature
PUBLIC_WRITE_PREFIXES = ("/webhooks/",)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TRACKED_CLIENTS = 10_000


@dataclass(frozen=True)
class Identity:
    """Who the gate found: the principal (None if anonymous or refused) and how it was presented."""

    principal: Principal | None = None
    via: str = ""  # "bearer", "session" or "" (nothing presented)


class BodyTooLargeError(Exception):
    """A request body passed the limit while the app was reading it."""


class FailureLimiter:
    """Authentication failures per client in a sliding window; over the limit the client gets 429."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.get(client, deque())
        horizon = self.clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        """True while `client` has `limit` or more failures inside the window."""
        return len(self._recent(client)) >= self.limit

    def fail(self, client: str) -> int:
        """Record one failure for `client`; returns its failures in the window."""
        times = self._recent(client)
        times.append(self.clock())
        self._failures[client] = times
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_TRACKED_CLIENTS:
            self._failures.popitem(last=False)
        return len(times)

    def retry_after_s(self, client: str) -> int:
        """Seconds until the oldest failure in the window ages out."""
        times = self._recent(client)
        return max(1, int(times[0] + self.window_s - self.clock()) + 1) if times else 1


Identify = Callable[[str, str], Identity]  # (bearer token, session id) -> identity


def client_of(scope: Scope) -> str:
    """The client address of a request (the peer; a proxy's address when behind one)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def log_auth_failure(limiter: FailureLimiter, client: str, method: str, path: str, what: str) -> None:
    """Count and log one failed authentication (never the token itself)."""
    count = limiter.fail(client)
    log.warning(
        "authentication failed: %s from client %s on %s %s (%d in the last %.0f s)",
        what, client, method, path, count, limiter.window_s,
    )  # fmt: skip


class Guard:
    """ASGI middleware: identify, rate-limit failures, refuse anonymous writes, cap bodies."""

    def __init__(self, app: ASGIApp, *, identify: Identify, limiter: FailureLimiter, max_body_bytes: int) -> None:
        self.app, self.identify, self.limiter, self.max_body = app, identify, limiter, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path, client = scope["method"], scope["path"], client_of(scope)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        bearer, session_id = _credentials(headers)
        presents = bool(bearer or session_id) or (method, path) == ("POST", "/login")
        if presents and self.limiter.blocked(client):
            await _json(send, 429, "too many failed sign-ins", {"Retry-After": str(self.limiter.retry_after_s(client))})
            return
        identity = Identity()
        if bearer or session_id:
            identity = await run_in_threadpool(self.identify, bearer, session_id)
            if identity.principal is None:
                log_auth_failure(self.limiter, client, method, path, "unknown, revoked or expired credentials")
        scope.setdefault("state", {})["identity"] = identity
        if method not in READ_METHODS and identity.principal is None and not _public_write(method, path):
            await _json(send, 401, "missing, unknown or revoked token", {"WWW-Authenticate": "Bearer"})
            return
        declared = headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > self.max_body):
            await _json(send, 413, "request body too large")
            return
        await self._capped_call(scope, receive, send)

    async def _capped_call(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with a receive() that stops at the limit; past it, answer 413 instead of the app."""
        seen = 0
        exceeded = started = False

        async def capped_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    exceeded = True
                    raise BodyTooLargeError(seen)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's own answer to a body it could not finish (FastAPI makes it a 400)
            started = True
            await send(message)

        with contextlib.suppress(BodyTooLargeError):  # answered below
            await self.app(scope, capped_receive, guarded_send)
        if exceeded and not started:
            await _json(send, 413, "request body too large")


def _public_write(method: str, path: str) -> bool:
    return (method, path) in PUBLIC_WRITES or (method == "POST" and path.startswith(PUBLIC_WRITE_PREFIXES))


def _credentials(headers: dict[str, str]) -> tuple[str, str]:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else ""
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except CookieError:
        return bearer, ""
    morsel = cookie.get(SESSION_COOKIE)
    return bearer, morsel.value if morsel else ""


async def _json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw += [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
