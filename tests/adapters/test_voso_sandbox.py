"""The Voso simulator speaks the assumed contract on the wire (raw HTTP, no adapter)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from contract_kit import SANDBOX_BASE_URL, SELLER

from adapters.sandbox import SandboxListing, SandboxOptions, SandboxTransport, SellerAccount
from adapters.voso import VosoAdapter
from adapters.voso.sandbox import VosoSandbox

pytestmark = pytest.mark.timeout(30)
CREDS = VosoAdapter.sandbox_credentials(SELLER)


@pytest.fixture
async def wire() -> AsyncIterator[tuple[VosoSandbox, httpx.AsyncClient]]:
    """A Voso sandbox with seller S1 and a raw client into it."""
    sandbox = VosoAdapter.create_sandbox(
        SandboxOptions(sellers=(SellerAccount(seller_id=SELLER, credentials=CREDS),), rate_limit_per_s=10_000)
    )
    async with httpx.AsyncClient(transport=SandboxTransport(sandbox.app), base_url=SANDBOX_BASE_URL) as http:
        yield sandbox, http


async def login(http: httpx.AsyncClient) -> dict[str, str]:
    """Log in as S1 and return the Token header."""
    reply = await http.post("/v1/partner/login", json=CREDS)
    return {"Token": reply.json()["data"]["token"]}


def seed(sandbox: VosoSandbox, count: int) -> None:
    """`count` active listings for S1."""
    now = sandbox.clock.now()
    for i in range(count):
        sku = f"W-{i:03d}"
        sandbox.store.shop(SELLER)[sku] = SandboxListing(
            SELLER, sku, sandbox.store.next_id(), sandbox.store.next_id(), f"Trà {i}", 20_000, 5, now, now
        )


async def test_errors_are_http_200_envelopes_with_a_code(wire: tuple[VosoSandbox, httpx.AsyncClient]) -> None:
    """Bad login, missing token and bad parameters answer HTTP 200 with error true, a code and a request id."""
    _, http = wire
    cases: list[tuple[httpx.Response, str]] = [
        (await http.post("/v1/partner/login", json={**CREDS, "password": "nope"}), "LOGIN_FAILED"),
        (await http.get("/v1/partner/products"), "TOKEN_REQUIRED"),
        (await http.get("/v1/partner/products", headers={"Token": "forged"}), "TOKEN_INVALID"),
    ]
    token = await login(http)
    cases += [
        (await http.get("/v1/partner/products", params={"limit": 101}, headers=token), "INVALID_PARAM"),
        (await http.get("/v1/partner/products/detail", params={"seller_sku": "X"}, headers=token), "PRODUCT_NOT_FOUND"),
        (
            await http.post(
                "/v1/partner/products/price-stock",
                json={"items": [{"seller_sku": f"W-{i}", "price": 1000, "quantity": 1} for i in range(101)]},
                headers=token,
            ),
            "BATCH_TOO_LARGE",
        ),
    ]
    for response, code in cases:
        body: dict[str, Any] = response.json()
        assert response.status_code == 200, code
        assert (body["error"], body["code"]) == (True, code)
        assert body["message"] and body["request_id"] == response.headers["X-Request-Id"]


async def test_throttle_is_200_rate_limit_with_retry_after(wire: tuple[VosoSandbox, httpx.AsyncClient]) -> None:
    """Over the per-seller rate limit the reply is HTTP 200, code RATE_LIMIT, and a Retry-After header."""
    sandbox, http = wire
    sandbox.limiter.limit = 2
    token = await login(http)
    replies = [await http.get("/v1/partner/products", headers=token) for _ in range(3)]
    assert [r.json()["error"] for r in replies] == [False, False, True]
    assert replies[2].status_code == 200 and replies[2].json()["code"] == "RATE_LIMIT"
    assert int(replies[2].headers["Retry-After"]) >= 1
    assert [e.outcome for e in sandbox.log if e.operation == "list_listings"] == ["ok", "ok", "throttled"]


async def test_updated_since_scroll_repeats_rows_when_edits_enter_the_filter(
    wire: tuple[VosoSandbox, httpx.AsyncClient],
) -> None:
    """Ordered by product id, a mid-scroll edit can repeat a row on the next page but never hides one."""
    sandbox, http = wire
    seed(sandbox, 30)
    token = await login(http)
    since_ms = int(sandbox.clock.now().timestamp() * 1000) + 1
    sandbox.clock.advance(1)
    for listing in list(sandbox.store.shop(SELLER).values())[10:]:
        listing.updated_at = sandbox.clock.now()
    params = {"limit": 10, "updated_since": since_ms}
    first = (await http.get("/v1/partner/products", params={**params, "page": 1}, headers=token)).json()["data"]
    sandbox.store.shop(SELLER)["W-000"].updated_at = sandbox.clock.now()
    second = (await http.get("/v1/partner/products", params={**params, "page": 2}, headers=token)).json()["data"]
    assert first["total"] == 20 and second["total"] == 21
    assert first["items"][-1]["seller_sku"] == second["items"][0]["seller_sku"]


async def test_control_endpoints_set_faults_and_count_creates(wire: tuple[VosoSandbox, httpx.AsyncClient]) -> None:
    """The shared `/_sandbox` routes work on the Voso simulator: text fault spec, create counts."""
    _, http = wire
    reply = await http.put("/_sandbox/faults", json="throttle=1,retry_after_s=3")
    assert reply.json()["throttle_rate"] == 1.0
    token = await login(http)
    throttled = await http.get("/v1/partner/orders", headers=token)
    assert throttled.json()["code"] == "RATE_LIMIT" and throttled.headers["Retry-After"] == "3"
    await http.put("/_sandbox/faults", json={})
    product = {"seller_sku": "C-1", "name": "Bánh pía", "images": ["https://x.vn/a.jpg"], "category_id": 4}
    for _ in range(2):
        body = {"product": {**product, "price": 45_000, "quantity": 3}}
        assert (await http.post("/v1/partner/products/upsert", json=body, headers=token)).json()["error"] is False
    creates = (await http.get("/_sandbox/creates")).json()
    assert creates == {"creates": [{"seller_id": SELLER, "seller_sku": "C-1", "count": 1}], "duplicates": 0}


async def test_malformed_reply_drops_a_required_field(wire: tuple[VosoSandbox, httpx.AsyncClient]) -> None:
    """With malformed=1 the listing reply lacks `seller_sku` on its first row only."""
    sandbox, http = wire
    seed(sandbox, 2)
    token = await login(http)
    await http.put("/_sandbox/faults", json="malformed=1")
    body = (await http.get("/v1/partner/products", headers=token)).json()
    assert "seller_sku" not in body["data"]["items"][0] and "seller_sku" in body["data"]["items"][1]
