"""The hardened HTTP surface: body limits before auth, CSRF, sessions, Host header, binding, file modes, rate limits."""

from __future__ import annotations

import logging
import stat
from collections.abc import MutableMapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_kit import Tokens, login_form_token, sign_in
from fastapi import FastAPI
from fastapi.testclient import TestClient
from report_world import NOW, A
from sqlmodel import select

from connector.context import AppContext
from connector.reports.render_text import md_cell
from connector.service.daemon import EXIT_STARTUP_FAILED, run_daemon
from connector.settings import DaemonSettings, WebSettings
from connector.store import make_engine, session_scope
from connector.store.models import WebSessionRow
from connector.web.app import build_api
from connector.web.auth import revoke_token
from connector.web.binding import PublicBindError, check_bind, is_loopback
from connector.web.guard import FailureLimiter
from connector.web.sessions import SESSION_COOKIE

MB = 1024 * 1024


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


# --------------------------------------------------------------------------- body limits


class CountingBody:
    """An ASGI receive() that hands out `total` bytes in 64 KiB chunks and counts what was taken."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.taken = total, chunk, 0

    async def __call__(self) -> dict[str, Any]:
        size = min(self.chunk, self.total - self.taken)
        self.taken += size
        return {"type": "http.request", "body": b"x" * size, "more_body": self.taken < self.total}


async def call_raw(app: FastAPI, path: str, headers: dict[str, str], body: CountingBody) -> int:
    """Call the app as a server would; return the response status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.9", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    statuses: list[int] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, body, send)
    return statuses[0]


async def test_anonymous_10mb_post_is_refused_without_reading_the_body(app: FastAPI) -> None:
    for headers in ({"content-length": str(10 * MB)}, {"transfer-encoding": "chunked"}):
        body = CountingBody(10 * MB)
        assert await call_raw(app, "/api/resync", {"content-type": "application/json", **headers}, body) == 401
        assert body.taken == 0


async def test_authenticated_oversized_bodies_get_413_without_buffering(app: FastAPI, tokens: Tokens) -> None:
    auth = {"authorization": f"Bearer {tokens.operator}", "content-type": "application/json"}
    declared = CountingBody(10 * MB)
    assert await call_raw(app, "/api/resync", {**auth, "content-length": str(10 * MB)}, declared) == 413
    assert declared.taken == 0
    streamed = CountingBody(10 * MB)  # no Content-Length: counted as it streams, stopped at the limit
    assert await call_raw(app, "/api/resync", {**auth, "transfer-encoding": "chunked"}, streamed) == 413
    assert streamed.taken <= WebSettings().max_body_bytes + 64 * 1024
    login = CountingBody(10 * MB)  # the anonymous sign-in form is capped too
    form = {"content-type": "application/x-www-form-urlencoded", "transfer-encoding": "chunked"}
    assert await call_raw(app, "/login", form, login) == 413
    assert login.taken <= WebSettings().max_body_bytes + 64 * 1024


# --------------------------------------------------------------------------- CSRF


def test_cross_origin_login_is_refused(client: TestClient, tokens: Tokens) -> None:
    csrf = login_form_token(client)
    for origin in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}, {"Origin": "null"}):
        response = client.post(
            "/login", data={"token": tokens.operator, "csrf": csrf}, headers=origin, follow_redirects=False
        )
        assert response.status_code == 403 and SESSION_COOKIE not in response.headers.get("set-cookie", "")
    forged = client.post(  # same origin but no form token (a form another site built cannot read ours)
        "/login", data={"token": tokens.operator}, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert sign_in(client, tokens.operator).status_code == 303


def test_cross_origin_logout_is_refused(client: TestClient, tokens: Tokens) -> None:
    sign_in(client, tokens.operator)
    assert client.post("/logout", headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/logout", data={"csrf": "guess"}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in


# --------------------------------------------------------------------------- sessions


def test_session_cookie_is_a_random_id_stored_hashed_and_ended_by_sign_out(
    client: TestClient, tokens: Tokens, ctx: AppContext
) -> None:
    response = sign_in(client, tokens.operator)
    session_id = response.cookies[SESSION_COOKIE]
    assert session_id != tokens.operator and tokens.operator not in response.headers["set-cookie"]
    with session_scope(ctx.engine) as s:
        rows = s.exec(select(WebSessionRow)).all()
    assert len(rows) == 1 and rows[0].id_hash != session_id and len(rows[0].id_hash) == 64
    assert rows[0].expires_at.replace(tzinfo=None) == (NOW + timedelta(hours=12)).replace(tzinfo=None)
    page = client.get("/")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    replay = TestClient(client.app)  # a copy of the old cookie no longer works
    replay.cookies.set(SESSION_COOKIE, session_id)
    assert replay.get("/").status_code == 401
    assert replay.get("/api/shops").status_code == 401


def test_the_api_token_as_cookie_is_not_a_session(client: TestClient, tokens: Tokens) -> None:
    client.cookies.set(SESSION_COOKIE, tokens.operator)
    assert client.get("/").status_code == 401
    client.cookies.set("ocop_sync_token", tokens.operator)  # the old cookie
    assert client.get("/").status_code == 401


def test_revoking_the_token_ends_its_sessions(client: TestClient, tokens: Tokens, ctx: AppContext) -> None:
    sign_in(client, tokens.producer_a)
    assert client.get(f"/producers/{A}").status_code == 200
    with session_scope(ctx.engine) as s:
        revoke_token(s, tokens.producer_a, now=NOW)
    assert client.get(f"/producers/{A}").status_code == 401


def test_expired_session_is_refused(ctx: AppContext, tokens: Tokens) -> None:
    clock = {"now": NOW}
    late_ctx = AppContext(ctx.settings, ctx.engine, ctx.registry, ctx.sandbox_hub, clock=lambda: clock["now"])
    client = TestClient(build_api(late_ctx))
    sign_in(client, tokens.operator)
    assert client.get("/").status_code == 200
    clock["now"] = NOW + timedelta(hours=12, seconds=1)
    assert client.get("/").status_code == 401


# --------------------------------------------------------------------------- markdown


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert\\(1\\)&gt;"),
        ("[x](http://evil)", "\\[x\\]\\(http://evil\\)"),
        ("![i](x)", "\\!\\[i\\]\\(x\\)"),
        ("`code` **b** _i_ ~s~", "\\`code\\` \\*\\*b\\*\\* \\_i\\_ \\~s\\~"),
        ("&lt;b&gt;", "&amp;lt;b&amp;gt;"),
        ("# heading", "\\# heading"),
        ("- item\nline", "\\- item line"),
        ("a\\|b", "a\\\\\\|b"),
        ("Khô cá lóc 85.000 ₫", "Khô cá lóc 85.000 ₫"),
    ],
)
def test_markdown_cells_escape_links_images_and_html(text: str, escaped: str) -> None:
    assert md_cell(text) == escaped


# --------------------------------------------------------------------------- Host header


def test_no_redirect_is_built_from_the_host_header(client: TestClient, tokens: Tokens) -> None:
    for path in ("/drift/", "/api/shops/", f"/producers/{A}/"):
        response = client.get(
            path, headers={"Host": "evil.example", **tokens.header("operator")}, follow_redirects=False
        )
        assert response.status_code == 404 and "location" not in response.headers
    signed = sign_in(client, tokens.operator, next_url="/drift")
    assert signed.headers["location"] == "/drift"  # relative, never absolute


# --------------------------------------------------------------------------- binding


def test_public_bind_needs_the_setting_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert is_loopback(host)
        check_bind(host, WebSettings())
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.com"):
        with pytest.raises(PublicBindError, match="allow_public_bind"):
            check_bind(host, WebSettings())
    with caplog.at_level(logging.WARNING, logger="ocop_sync.web"):
        check_bind("0.0.0.0", WebSettings(allow_public_bind=True))
    assert "plain HTTP on 0.0.0.0" in caplog.text and "TLS" in caplog.text


# --------------------------------------------------------------------------- file modes


def test_database_and_its_directory_are_private(tmp_path: Path) -> None:
    db = tmp_path / "var" / "ocop-sync.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.commit()
    engine.dispose()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    unit = (Path(__file__).parents[2] / "deploy" / "ocop-sync.service").read_text(encoding="utf-8")
    assert "\nUMask=0077\n" in unit


# --------------------------------------------------------------------------- failed authentication


def test_failed_authentications_are_logged_without_the_token_and_rate_limited(
    client: TestClient, tokens: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    guesses = [f"ocs_guess-{i:04d}-secretish" for i in range(WebSettings().auth_failure_limit)]
    with caplog.at_level(logging.WARNING, logger="ocop_sync.web"):
        for guess in guesses:
            assert client.get("/api/shops", headers={"Authorization": f"Bearer {guess}"}).status_code == 401
        blocked = client.get("/api/shops", headers={"Authorization": "Bearer another-guess"})
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
        assert client.get("/api/shops", headers=tokens.header("operator")).status_code == 429  # same client
        assert client.post("/login", data={"token": tokens.operator}).status_code == 429
    failures = [r for r in caplog.records if "authentication failed" in r.getMessage()]
    assert len(failures) == len(guesses)
    assert "from client testclient on GET /api/shops (10 in the last 300 s)" in failures[-1].getMessage()
    assert not any(guess in caplog.text for guess in guesses) and "secretish" not in caplog.text


def test_failure_window_slides() -> None:
    now = {"t": 1000.0}
    limiter = FailureLimiter(limit=3, window_s=60, clock=lambda: now["t"])
    for _ in range(3):
        limiter.fail("10.0.0.1")
    assert limiter.blocked("10.0.0.1") and not limiter.blocked("10.0.0.2")
    assert limiter.retry_after_s("10.0.0.1") == 61
    now["t"] += 60.5
    assert not limiter.blocked("10.0.0.1")


def test_the_daemon_refuses_a_public_address_without_the_setting(
    ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    public = ctx.settings.model_copy(update={"daemon": DaemonSettings(host="0.0.0.0", port=0)})
    public_ctx = AppContext(public, ctx.engine, ctx.registry, ctx.sandbox_hub, clock=ctx.clock)
    with caplog.at_level(logging.ERROR):
        assert run_daemon(public_ctx) == EXIT_STARTUP_FAILED
    assert "refusing to serve plain HTTP on '0.0.0.0'" in caplog.text and "allow_public_bind" in caplog.text
