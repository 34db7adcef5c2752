"""Who may see what: every endpoint and page × operator, producer A, producer B, no token, revoked token."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from api_kit import Tokens, sign_in
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_world import B_SECRET_REASON, NOW, A, B
from sqlmodel import select

from connector.context import AppContext
from connector.store import session_scope
from connector.store.models import ResyncRequestRow
from connector.web.app import build_api

OPERATOR_ONLY = {"operator": 200, "a": 403, "b": 403, "none": 401, "revoked": 401}
A_ONLY = {"operator": 200, "a": 200, "b": 404, "none": 401, "revoked": 401}
B_ONLY = {"operator": 200, "a": 404, "b": 200, "none": 401, "revoked": 401}
NOBODY = {"operator": 404, "a": 404, "b": 404, "none": 401, "revoked": 401}
PUBLIC = {"operator": 200, "a": 200, "b": 200, "none": 200, "revoked": 200}

MATRIX: list[tuple[str, str, dict[str, int]]] = [
    ("GET", "/api/drift", OPERATOR_ONLY),
    ("GET", "/api/drift?shop=lazada-b", OPERATOR_ONLY),
    ("GET", "/api/runs", OPERATOR_ONLY),
    ("GET", "/api/shops", OPERATOR_ONLY),
    ("POST", "/api/resync", {**OPERATOR_ONLY, "operator": 202}),
    ("GET", f"/api/producers/{A}/listings", A_ONLY),
    ("GET", f"/api/producers/{A}/listings?lang=en", A_ONLY),
    ("GET", f"/api/producers/{B}/listings", B_ONLY),
    ("GET", "/api/producers/NOPE-404/listings", NOBODY),
    ("GET", "/", OPERATOR_ONLY),
    ("GET", "/?lang=en", OPERATOR_ONLY),
    ("GET", "/drift", OPERATOR_ONLY),
    ("GET", f"/producers/{A}", A_ONLY),
    ("GET", f"/producers/{B}", B_ONLY),
    ("GET", f"/producers/{B}?lang=en", B_ONLY),
    ("GET", "/producers/NOPE-404", NOBODY),
    ("GET", "/login", PUBLIC),
    ("GET", "/openapi.json", PUBLIC),
]
CALLERS = ("operator", "a", "b", "none", "revoked")


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize(("method", "path", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_authorization_matrix(
    client: TestClient, tokens: Tokens, method: str, path: str, expected: dict[str, int], who: str
) -> None:
    kwargs: dict[str, Any] = {"headers": tokens.header(who)}
    if method == "POST":
        kwargs["json"] = {"shop_id": "voso-ag", "kind": "full"}
    response = client.request(method, path, **kwargs)
    assert response.status_code == expected[who], response.text[:300]
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    if response.status_code == 404:
        assert B_SECRET_REASON not in response.text and "AG-0052" not in response.text


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    covered = {(m, p.split("?")[0]) for m, p, _ in MATRIX} | {("POST", "/login"), ("POST", "/logout")}
    routes = {
        (method, str(getattr(route, "path", "")).replace("{producer_id}", A))
        for route in app.routes
        for method in getattr(route, "methods", ()) or ()
        if method != "HEAD"
    }
    assert routes <= covered | {(m, p.replace(A, B)) for m, p in covered}


def test_a_token_cannot_see_b_through_list_filters(client: TestClient, tokens: Tokens) -> None:
    for path in ("/api/drift?shop=lazada-b", "/api/runs?shop=lazada-b", "/api/shops"):
        response = client.get(path, headers=tokens.header("a"))
        assert response.status_code == 403 and B_SECRET_REASON not in response.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(guess=st.one_of(st.sampled_from([B, "AG-HKD-02", A.lower(), A + " ", "%41G-DN-10"]), st.text(max_size=24)))
def test_producer_token_never_sees_another_id(app: FastAPI, tokens: Tokens, guess: str) -> None:
    """Random id guesses with A's token: 404 every time (over real ASGI, which decodes the path once)."""
    if guess == A:
        return
    quoted = quote(guess, safe="")

    async def probe() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            return [
                await http.get(path, headers=tokens.header("a"))
                for path in (f"/api/producers/{quoted}/listings", f"/producers/{quoted}")
            ]

    for response in asyncio.run(probe()):
        assert response.status_code == 404, (guess, response.status_code)
        assert "AG-0052" not in response.text and B_SECRET_REASON not in response.text


def test_login_sets_an_httponly_session_cookie_that_pages_accept(client: TestClient, tokens: Tokens) -> None:
    response = sign_in(client, tokens.producer_a)
    assert response.status_code == 303 and response.headers["location"] == f"/producers/{A}"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and tokens.producer_a not in response.text
    assert client.get(f"/producers/{A}").status_code == 200
    assert client.get(f"/producers/{B}").status_code == 404
    assert client.get("/").status_code == 403
    assert client.get(f"/api/producers/{A}/listings").status_code == 200  # GET API accepts the session


def test_session_alone_cannot_trigger_a_resync(client: TestClient, tokens: Tokens) -> None:
    sign_in(client, tokens.operator)
    assert client.get("/").status_code == 200
    assert client.post("/api/resync", json={}).status_code == 401


def test_login_rejects_bad_tokens_and_foreign_redirects(client: TestClient, tokens: Tokens) -> None:
    assert sign_in(client, tokens.revoked).status_code == 401
    assert sign_in(client, "nope").status_code == 401
    response = sign_in(client, tokens.operator, next_url="//evil.example/")
    assert response.headers["location"] == "/"


def test_unauthenticated_page_offers_the_login_form(client: TestClient) -> None:
    response = client.get(f"/producers/{A}")
    assert response.status_code == 401 and 'action="/login"' in response.text
    assert f'value="/producers/{A}"' in response.text


def test_resync_records_a_request_and_calls_the_hook(ctx: AppContext, tokens: Tokens) -> None:
    seen: list[int] = []
    client = TestClient(build_api(ctx, resync=seen.append))
    response = client.post(
        "/api/resync", json={"shop_id": "tiki-ag", "kind": "incremental"}, headers=tokens.header("operator")
    )
    assert response.status_code == 202
    body = response.json()
    assert body["shop_id"] == "tiki-ag" and body["kind"] == "incremental" and seen == [body["request_id"]]
    assert client.post("/api/resync", headers=tokens.header("operator")).json()["shop_id"] is None
    assert client.post("/api/resync", json={"shop_id": "nope"}, headers=tokens.header("operator")).status_code == 404
    with session_scope(ctx.engine) as s:
        rows = s.exec(select(ResyncRequestRow).order_by(ResyncRequestRow.id)).all()  # type: ignore[arg-type]
    assert [(r.shop_id, r.kind, r.requested_at.replace(tzinfo=None)) for r in rows] == [
        ("tiki-ag", "incremental", NOW.replace(tzinfo=None)),
        (None, "full", NOW.replace(tzinfo=None)),
    ]
    assert all(r.requested_by.startswith("api-token:") for r in rows)


async def test_async_resync_hook_is_awaited(ctx: AppContext, tokens: Tokens) -> None:
    seen: list[int] = []

    async def hook(request_id: int) -> None:
        seen.append(request_id)

    app = build_api(ctx, resync=hook)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.post("/api/resync", json={}, headers=tokens.header("operator"))
    assert response.status_code == 202 and seen == [response.json()["request_id"]]


def test_extra_routers_are_served(ctx: AppContext) -> None:
    router = APIRouter()

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    client = TestClient(build_api(ctx, extra_routers=[router]))
    assert client.get("/healthz").json() == {"status": "ok"}


def test_pages_and_api_send_protective_headers(client: TestClient, tokens: Tokens) -> None:
    page = client.get(f"/producers/{A}", headers=tokens.header("a"))
    assert (
        page.headers["Cache-Control"] == "no-store" and "default-src 'none'" in page.headers["Content-Security-Policy"]
    )
    api = client.get(f"/api/producers/{A}/listings", headers=tokens.header("a"))
    assert api.headers["X-Content-Type-Options"] == "nosniff" and api.json()["producer"]["id"] == A
